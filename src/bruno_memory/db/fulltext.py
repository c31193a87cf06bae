"""Full-text search that treats user text as data, never as query syntax.

What is indexed and what is searched follow one rule, :mod:`bruno_memory.text`: the
application writes :func:`~bruno_memory.text.index_text` of each message's and memory's
content (normalized words, at most ``MAX_INDEXED_BYTES``) to its ``search_text`` column
(see :mod:`bruno_memory.db.models`), and queries are made of the normalized
:func:`~bruno_memory.text.words` of the user's text.

SQLite: an external-content FTS5 table per searchable table (``messages_fts``,
``memories_fts``) over ``search_text`` (porter stemming, unicode61 without its own
diacritics folding), kept in step by triggers, ranked by ``bm25``. PostgreSQL: a stored
generated ``search_vector`` column, ``to_tsvector('english', search_text)``, with a GIN
index, queried with ``websearch_to_tsquery`` and ranked by ``ts_rank``. Both are created by
the migrations; this module builds the queries.

On SQLite each word becomes a quoted FTS5 string, on PostgreSQL the words are fed to
``websearch_to_tsquery``, which never raises a syntax error. Operators, quotes, wildcards
and SQL in the query are therefore searched as plain words or ignored, and ``%``/``_``
are never wildcards.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, literal_column, table, text
from sqlalchemy.dialects.postgresql import REGCONFIG

from bruno_memory.db.models import Memory, Message
from bruno_memory.errors import InvalidQueryError
from bruno_memory.text import words

#: At most this many distinct words of a query are searched.
MAX_QUERY_TERMS = 64
#: Longest query accepted, in characters.
MAX_QUERY_LENGTH = 10_000
#: Text search configuration of the PostgreSQL ``search_vector`` columns.
POSTGRES_TS_CONFIG = "english"
#: Tables with a full-text index (their FTS5 shadow tables start with the same name).
SEARCHABLE_TABLES = ("messages", "memories")
#: Name of PostgreSQL's generated tsvector column on each searchable table.
SEARCH_VECTOR_COLUMN = "search_vector"
#: Name of the column holding what is indexed of each row (its normalized words).
SEARCH_TEXT_COLUMN = "search_text"

# websearch_to_tsquery reads a bare "or" as an operator.
_POSTGRES_OPERATOR_WORDS = frozenset({"or"})


class MatchMode(str, enum.Enum):
    """How the words of a query combine."""

    ALL = "all"  # every word must occur (a search box)
    ANY = "any"  # any word may occur; more matching words rank higher (context retrieval)


@dataclass(frozen=True)
class FullTextQuery:
    """The searchable words of a user's query."""

    terms: tuple[str, ...]
    mode: MatchMode

    @classmethod
    def parse(cls, text_: str, mode: MatchMode = MatchMode.ALL) -> FullTextQuery:
        """Extract the words of ``text_``; raise :class:`InvalidQueryError` if it is blank."""
        if not isinstance(text_, str):
            raise InvalidQueryError("a search query must be a string")
        if not text_.strip():
            raise InvalidQueryError("a search query cannot be empty")
        if len(text_) > MAX_QUERY_LENGTH:
            raise InvalidQueryError(
                f"a search query is limited to {MAX_QUERY_LENGTH} characters",
                details={"length": len(text_)},
            )
        unique: dict[str, None] = {}
        for word in words(text_):
            unique.setdefault(word, None)
        return cls(tuple(unique)[:MAX_QUERY_TERMS], mode)

    @property
    def is_empty(self) -> bool:
        """True when the query has no word to search (only punctuation or symbols)."""
        return not self.terms

    def fts5_expression(self) -> str:
        """The FTS5 MATCH expression: each word a quoted string, joined by AND or OR."""
        quoted = ['"' + term.replace('"', '""') + '"' for term in self.terms]
        return (" OR " if self.mode is MatchMode.ANY else " ").join(quoted)

    def websearch_text(self) -> str:
        """The input for PostgreSQL's ``websearch_to_tsquery``."""
        words = [term for term in self.terms if term not in _POSTGRES_OPERATOR_WORDS]
        return (" or " if self.mode is MatchMode.ANY else " ").join(words)


def apply_fulltext(
    statement: Select[Any], *, dialect: str, model: type[Message | Memory], query: FullTextQuery
) -> Select[Any]:
    """Restrict ``statement`` to rows of ``model``'s table matching ``query``, best first."""
    table_name = model.__tablename__
    key: ColumnElement[int] = model.__table__.c.pk
    if dialect == "sqlite":
        fts_name = f"{table_name}_fts"
        fts = table(fts_name, literal_column("rowid"))
        return (
            statement.join(fts, literal_column(f"{fts_name}.rowid") == key)
            .where(text(f"{fts_name} MATCH :match").bindparams(match=query.fts5_expression()))
            .order_by(func.bm25(literal_column(fts_name)), key.desc())
        )
    vector: ColumnElement[Any] = literal_column(f"{table_name}.{SEARCH_VECTOR_COLUMN}")
    tsquery = func.websearch_to_tsquery(
        literal(POSTGRES_TS_CONFIG, REGCONFIG), query.websearch_text()
    )
    return statement.where(vector.op("@@")(tsquery)).order_by(
        func.ts_rank(vector, tsquery).desc(), key.desc()
    )
