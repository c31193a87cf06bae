"""Message search with the server's RediSearch module (the ``redisearch`` engine).

Each message has a **search document**, the hash ``<p>:doc:{conv:C}:<message id>``: its
words (``content``: :func:`bruno_memory.text.index_text`, the normalized words the SQL
store indexes, so both engines and the SQL store agree on what a word is) and its owner
(``user``, the SHA-1 of the user id). The key carries the conversation's hash tag, so the
Lua scripts that write, claim, clear and drop a conversation write and delete its documents
in the same atomic step; the index ``<p>:messages`` (``FT.CREATE ... ON HASH PREFIX 1
<p>:doc:``) follows them.

Queries are built from :class:`~bruno_memory.db.fulltext.FullTextQuery` words, each one
escaped (user text is data, never query syntax), under ``DIALECT 2``; the user filter is
a TAG of the SHA-1 hex of the user id, which needs no escaping and which no separator,
case folding or trimming of TAG values can alter. Documents are ranked by RediSearch's
``BM25STD`` (Okapi BM25; 2.10 and later) or ``BM25`` on older modules.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.text import index_text

if TYPE_CHECKING:
    from bruno_memory.adapters.redis.client import RedisClient

#: Names of the RediSearch module in ``MODULE LIST`` (Redis Stack, Redis 8, older builds).
MODULE_NAMES = frozenset({"search", "ft"})
#: The first module version (2.10.0) with ``BM25STD``; its ``BM25`` has no IDF and no
#: document length normalization.
BM25STD_SINCE = 21000
#: Query syntax of the queries built here.
DIALECT = 2


@dataclass(frozen=True)
class RediSearch:
    """The server's RediSearch module (``version`` None: unknown, ``MODULE LIST`` refused)."""

    version: int | None

    @property
    def scorer(self) -> str:
        """The BM25 scorer to rank with."""
        modern = self.version is not None and self.version >= BM25STD_SINCE
        return "BM25STD" if modern else "BM25"


async def find_module(client: RedisClient) -> RediSearch | None:
    """The server's RediSearch module, or None. Reads ``MODULE LIST``; where that command is
    refused (ACLs, managed services), whether ``FT._LIST`` answers."""
    from redis.exceptions import ResponseError

    try:
        modules: list[dict[str, Any]] = await client.module_list()
    except ResponseError:
        try:
            await client.execute_command("FT._LIST")
        except ResponseError:
            return None
        return RediSearch(version=None)
    for module in modules:
        if str(module.get("name", "")).lower() in MODULE_NAMES:
            return RediSearch(version=int(module.get("ver", 0)))
    return None


async def create_message_index(client: RedisClient, keys: KeySpace) -> bool:
    """Create the messages' index unless it exists; True when it was created.

    No stop words (every word of a query must match, as in the SQL store), English
    stemming, no term offsets (there are no phrase queries).
    """
    from redis.exceptions import ResponseError

    try:
        await client.execute_command(
            "FT.CREATE", keys.message_index, "ON", "HASH",
            "PREFIX", 1, keys.message_documents,
            "LANGUAGE", "english", "STOPWORDS", 0, "NOOFFSETS",
            "SCHEMA", "content", "TEXT", "user", "TAG",
        )  # fmt: skip
    except ResponseError as exc:
        if "already exists" not in str(exc).lower():
            raise
        return False
    return True


def document_text(content: str) -> str:
    """What a message's search document holds of its content: its indexed words (normalized),
    space separated."""
    return index_text(content)


def user_tag(user_id: str) -> str:
    """The ``user`` TAG of a user's documents (the scripts compute it with redis.sha1hex)."""
    return hashlib.sha1(user_id.encode("utf-8"), usedforsecurity=False).hexdigest()


def escape_term(term: str) -> str:
    """``term`` as one literal word of RediSearch's query syntax: a backslash before every
    ASCII character but letters and digits (punctuation, operators, spaces). ASCII control
    characters, which the query parser refuses even escaped, become escaped spaces: no
    indexed word holds either, so the term still matches nothing but itself."""
    return "".join(_escaped(char) for char in term)


def _escaped(char: str) -> str:
    if not char.isascii() or char.isalnum():
        return char
    return "\\" + (char if char.isprintable() else " ")


def message_query(query: FullTextQuery, user_id: str | None) -> str:
    """The ``FT.SEARCH`` query of ``query`` (every word, or any), for one user or all."""
    joiner = " " if query.mode is MatchMode.ALL else " | "
    text = f"@content:({joiner.join(escape_term(term) for term in query.terms)})"
    return text if user_id is None else f"@user:{{{user_tag(user_id)}}} {text}"


#: The most results one FT.SEARCH returns (the module's default MAXSEARCHRESULTS).
MAX_SEARCH_RESULTS = 1_000_000


async def search_messages(
    client: RedisClient,
    keys: KeySpace,
    module: RediSearch,
    query: FullTextQuery,
    user_id: str | None,
    count: int,
) -> list[tuple[str, str, float]]:
    """The ``count`` best documents for ``query`` (at most :data:`MAX_SEARCH_RESULTS`):
    ``(conversation id, message id, score)``."""
    reply = await client.execute_command(
        "FT.SEARCH", keys.message_index, message_query(query, user_id),
        "NOCONTENT", "WITHSCORES", "SCORER", module.scorer,
        "LIMIT", 0, min(count, MAX_SEARCH_RESULTS), "DIALECT", DIALECT,
    )  # fmt: skip
    return [(*keys.document_ids(key), score) for key, score in _scored_keys(reply)]


def _scored_keys(reply: Any) -> list[tuple[str, float]]:
    """``(key, score)`` of a ``NOCONTENT WITHSCORES`` reply: a map under RESP3 (redis-py 8's
    default), ``[total, key, score, ...]`` under RESP2."""
    if isinstance(reply, dict):
        return [(str(row["id"]), float(row["score"])) for row in reply["results"]]
    return [(str(reply[at]), float(reply[at + 1])) for at in range(1, len(reply), 2)]
