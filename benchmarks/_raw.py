"""The raw drivers doing the library's work by hand: the baselines of every measurement.

Each driver writes exactly the rows the library writes, into a database the library has
migrated, so indexes, foreign keys and full-text maintenance (SQLite's FTS5 triggers,
PostgreSQL's generated ``search_vector``) cost the same. A write is, in one transaction:
reserve positions by bumping ``conversations.last_seq``, then insert the ``messages`` rows.
Reads are the statements the library emits, without its object mapping.

Encoding messages into row values (UUID, timestamps, JSON metadata) is part of the timed
work, as it is for the library: both start from the same bruno-core ``Message`` objects.

SQL is written once with ``?`` placeholders; the PostgreSQL driver numbers them.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import functools
import itertools
import json
import re
import sqlite3
from typing import TYPE_CHECKING, Any

import asyncpg

from bruno_memory.text import index_text

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from bruno_core.models.message import Message

#: Columns the library writes (``pk`` is assigned by the database).
INSERT_COLUMNS = (
    "id", "conversation_id", "user_id", "seq", "role", "message_type",
    "content", "metadata", "parent_id", "timestamp", "created_at", "state",
)  # fmt: skip
#: Columns a write sets: the above and ``search_text``, the normalized words the full-text
#: index reads, computed as the library computes it (timed, as for the library).
WRITE_COLUMNS = (*INSERT_COLUMNS, "search_text")
_COLUMNS = ", ".join(WRITE_COLUMNS)
#: Columns the library reads.
_SELECT = ", ".join(("m.pk", *(f"m.{column}" for column in INSERT_COLUMNS)))

_CREATE_USER = (
    "INSERT INTO users (id, preferences, profile, metadata, created_at, last_active) "
    "VALUES (?, '{}', '{}', '{}', ?, ?) ON CONFLICT DO NOTHING"
)
_CREATE_CONVERSATION = (
    "INSERT INTO conversations (id, user_id, last_seq, metadata, created_at, updated_at) "
    "VALUES (?, ?, 0, '{}', ?, ?)"
)
_ALLOCATE = (
    "UPDATE conversations SET last_seq = last_seq + ?, updated_at = ? "
    "WHERE id = ? RETURNING last_seq"
)
_INSERT = f"INSERT INTO messages ({_COLUMNS}) VALUES ({', '.join('?' * len(WRITE_COLUMNS))})"
_LATEST = (
    f"SELECT {_SELECT} FROM messages m WHERE m.conversation_id = ? ORDER BY m.seq DESC LIMIT ?"
)


class RawDriver(abc.ABC):
    """One raw connection to a migrated database, and the benchmarked operations on it."""

    #: Driver name shown in the results.
    name: str
    #: Ways this driver can insert a batch; the first is the like-for-like baseline.
    insert_methods: tuple[str, ...] = ("executemany",)
    #: Full-text statements: (user_id, words, limit) -> best rows; (words) -> match count.
    search_sql: str
    count_sql: str

    async def create_conversation(self, conversation_id: str, user_id: str) -> None:
        """Create the user and an empty conversation (untimed set-up for writes)."""
        now = self._time(_now())
        async with self._transaction():
            await self._execute(_CREATE_USER, user_id, now, now)
            await self._execute(_CREATE_CONVERSATION, conversation_id, user_id, now, now)

    async def store(
        self,
        messages: Sequence[Message],
        conversation_id: str,
        user_id: str,
        method: str = "executemany",
    ) -> None:
        """Append ``messages`` to an existing conversation in one transaction."""
        now = _now()
        async with self._transaction():
            rows = await self._fetch(_ALLOCATE, len(messages), self._time(now), conversation_id)
            first = int(rows[0][0]) - len(messages) + 1
            values = [
                self._row(message, conversation_id, user_id, first + offset, now)
                for offset, message in enumerate(messages)
            ]
            if method == "copy":
                await self._copy(values)
            else:
                await self._executemany(_INSERT, values)

    async def latest(self, conversation_id: str, limit: int) -> list[Any]:
        """The conversation's newest messages."""
        return await self._fetch(_LATEST, conversation_id, limit)

    async def search(self, words: list[str], user_id: str, limit: int) -> list[Any]:
        """The user's messages containing every word, best match first."""
        return await self._fetch(self.search_sql, user_id, self._match(words), limit)

    async def rank_any(self, table: str, words: list[str], user_id: str, limit: int) -> list[Any]:
        """The keys of the user's best ``limit`` rows of ``table`` (``messages`` or
        ``memories``) holding any of the words: the full-text statement the library's
        context retrieval runs, without reading or mapping the rows."""
        return await self._fetch(self._rank_any_sql(table), user_id, self._match_any(words), limit)

    async def count_matches(self, words: list[str]) -> int:
        """How many messages, of any user, contain every word (untimed, for context)."""
        rows = await self._fetch(self.count_sql, self._match(words))
        return int(rows[0][0])

    @abc.abstractmethod
    async def settle(self) -> None:
        """Bring the database to the state it reaches in service after a bulk load (untimed)."""

    def _row(
        self, message: Message, conversation_id: str, user_id: str, seq: int, now: dt.datetime
    ) -> tuple[Any, ...]:
        timestamp = message.timestamp.replace(tzinfo=dt.timezone.utc)  # naive UTC in _data
        return (
            self._uuid(message.id), conversation_id, user_id, seq, message.role.value,
            message.message_type.value, message.content, json.dumps(message.metadata),
            None, self._time(timestamp), self._time(now), "active", index_text(message.content),
        )  # fmt: skip

    # -- what each driver provides -------------------------------------------------------

    @abc.abstractmethod
    def _transaction(self) -> contextlib.AbstractAsyncContextManager[None]: ...

    @abc.abstractmethod
    async def _execute(self, sql: str, *parameters: Any) -> None: ...

    @abc.abstractmethod
    async def _executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None: ...

    @abc.abstractmethod
    async def _fetch(self, sql: str, *parameters: Any) -> list[Any]: ...

    async def _copy(self, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError(f"{self.name} has no COPY")

    @abc.abstractmethod
    def _match(self, words: list[str]) -> str:
        """The full-text query parameter for ``words`` (every word must occur)."""

    @abc.abstractmethod
    def _match_any(self, words: list[str]) -> str:
        """The full-text query parameter for ``words`` (any word may occur)."""

    @abc.abstractmethod
    def _rank_any_sql(self, table: str) -> str:
        """(user_id, words, limit) -> the keys of the best rows of ``table``."""

    @abc.abstractmethod
    def _uuid(self, value: Any) -> Any: ...

    @abc.abstractmethod
    def _time(self, value: dt.datetime) -> Any: ...

    @abc.abstractmethod
    async def close(self) -> None: ...


class SqliteRaw(RawDriver):
    """The standard library's ``sqlite3`` with the library's connection settings."""

    name = "sqlite3"
    search_sql = (
        f"SELECT {_SELECT} FROM messages m JOIN messages_fts ON messages_fts.rowid = m.pk "
        "WHERE m.user_id = ? AND messages_fts MATCH ? "
        "ORDER BY bm25(messages_fts), m.pk DESC LIMIT ?"
    )
    count_sql = "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?"

    def __init__(self, path: str) -> None:
        # isolation_level=None: no implicit transactions; _transaction() begins them.
        self._connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("busy_timeout = 30000", "foreign_keys = ON", "synchronous = NORMAL"):
            self._connection.execute(f"PRAGMA {pragma}")

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    async def _execute(self, sql: str, *parameters: Any) -> None:
        self._connection.execute(sql, parameters)

    async def _executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self._connection.executemany(sql, rows)

    async def _fetch(self, sql: str, *parameters: Any) -> list[Any]:
        return self._connection.execute(sql, parameters).fetchall()

    def _match(self, words: list[str]) -> str:
        # Each word a quoted FTS5 string, juxtaposed (implicit AND): what the library sends.
        return " ".join('"' + word.replace('"', '""') + '"' for word in words)

    def _match_any(self, words: list[str]) -> str:
        return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)

    def _rank_any_sql(self, table: str) -> str:
        return (
            f"SELECT t.pk FROM {table} t JOIN {table}_fts ON {table}_fts.rowid = t.pk "
            f"WHERE t.user_id = ? AND {table}_fts MATCH ? "
            f"ORDER BY bm25({table}_fts), t.pk DESC LIMIT ?"
        )

    def _uuid(self, value: Any) -> Any:
        return value.hex  # SQLAlchemy's Uuid on SQLite: 32 hex digits

    def _time(self, value: dt.datetime) -> Any:
        # SQLAlchemy's SQLite DateTime text, naive UTC as the library stores it.
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")

    async def settle(self) -> None:
        """Nothing: SQLite has no planner statistics unless ANALYZE runs; the library runs none."""

    async def close(self) -> None:
        self._connection.close()


class PostgresRaw(RawDriver):
    """``asyncpg`` on one connection; batches by ``executemany`` or ``COPY``."""

    name = "asyncpg"
    insert_methods = ("executemany", "copy")
    # Explicit $n: the query text is used twice (the library binds it twice).
    search_sql = (
        f"SELECT {_SELECT} FROM messages m "
        "WHERE m.user_id = $1 AND m.search_vector @@ websearch_to_tsquery('english', $2) "
        "ORDER BY ts_rank(m.search_vector, websearch_to_tsquery('english', $2)) DESC, "
        "m.pk DESC LIMIT $3"
    )
    count_sql = (
        "SELECT count(*) FROM messages "
        "WHERE search_vector @@ websearch_to_tsquery('english'::regconfig, ?)"
    )

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    @classmethod
    async def connect(cls, **connect_args: Any) -> PostgresRaw:
        """Open a connection (``asyncpg.connect`` arguments)."""
        return cls(await asyncpg.connect(**connect_args))

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        async with self._connection.transaction():
            yield

    async def settle(self) -> None:
        """What autovacuum does after a bulk insert: visibility maps and planner
        statistics, of every table (without them a prepared statement's generic plan can
        be far off: a full-text search of memories took 110 ms instead of 22)."""
        await self._connection.execute("VACUUM ANALYZE")

    async def _execute(self, sql: str, *parameters: Any) -> None:
        await self._connection.execute(_numbered(sql), *parameters)

    async def _executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        await self._connection.executemany(_numbered(sql), rows)

    async def _fetch(self, sql: str, *parameters: Any) -> list[Any]:
        return list(await self._connection.fetch(_numbered(sql), *parameters))

    async def _copy(self, rows: list[tuple[Any, ...]]) -> None:
        await self._connection.copy_records_to_table(
            "messages", records=rows, columns=list(WRITE_COLUMNS)
        )

    def _match(self, words: list[str]) -> str:
        return " ".join(words)  # websearch_to_tsquery: juxtaposed words are ANDed

    def _match_any(self, words: list[str]) -> str:
        return " or ".join(word for word in words if word != "or")

    async def rank_any(self, table: str, words: list[str], user_id: str, limit: int) -> list[Any]:
        """As the library runs it: in a transaction with custom plans (a generic plan of a
        full-text statement evaluates ``websearch_to_tsquery`` once per row)."""
        async with self._connection.transaction():
            await self._connection.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            return await super().rank_any(table, words, user_id, limit)

    def _rank_any_sql(self, table: str) -> str:
        # Explicit $n: the query text is used twice (the library binds it twice).
        query = "websearch_to_tsquery('english', $2)"
        return (
            f"SELECT t.pk FROM {table} t WHERE t.user_id = $1 AND t.search_vector @@ {query} "
            f"ORDER BY ts_rank(t.search_vector, {query}) DESC, t.pk DESC LIMIT $3"
        )

    def _uuid(self, value: Any) -> Any:
        return value

    def _time(self, value: dt.datetime) -> Any:
        return value

    async def close(self) -> None:
        await self._connection.close()


@functools.lru_cache(maxsize=64)
def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...`` (SQL without ``?`` is unchanged)."""
    counter = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
