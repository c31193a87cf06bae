"""The raw drivers doing the library's work by hand: the baselines of every measurement.

Each driver writes exactly the rows the library writes, into a database the library has
migrated, so indexes, foreign keys and full-text maintenance (SQLite's FTS5 triggers,
PostgreSQL's generated ``search_vector``) cost the same. A write is, in one transaction:
reserve positions by bumping ``conversations.last_seq``, then insert the ``messages`` rows.
Reads are the statements the library emits, without its object mapping.

The encoding of messages into row values (UUID, timestamps, JSON metadata) is part of the
timed work, as it is for the library: both start from the same bruno-core ``Message``
objects.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from bruno_core.models.message import Message

#: Columns the library writes (``pk`` is assigned by the database).
INSERT_COLUMNS = (
    "id", "conversation_id", "user_id", "seq", "role", "message_type",
    "content", "metadata", "parent_id", "timestamp", "created_at", "state",
)  # fmt: skip
#: Columns the library reads.
SELECT_COLUMNS = ", ".join(("m.pk", *(f"m.{column}" for column in INSERT_COLUMNS)))


class RawDriver(abc.ABC):
    """One raw connection to a migrated database, and the benchmarked operations on it."""

    #: Driver name shown in the results.
    name: str
    #: Ways this driver can insert a batch (the first is the like-for-like baseline).
    insert_methods: tuple[str, ...] = ("executemany",)

    async def create_conversation(self, conversation_id: str, user_id: str) -> None:
        """Create the user and an empty conversation (untimed set-up for writes)."""
        async with self._transaction():
            await self._execute_script(
                [
                    ("INSERT INTO users (id, preferences, profile, metadata, created_at, "
                     "last_active) VALUES ({}, '{{}}', '{{}}', '{{}}', {}, {}) "
                     "ON CONFLICT DO NOTHING", (user_id, _now(), _now())),
                    ("INSERT INTO conversations (id, user_id, last_seq, metadata, created_at, "
                     "updated_at) VALUES ({}, {}, 0, '{{}}', {}, {})",
                     (conversation_id, user_id, _now(), _now())),
                ]
            )  # fmt: skip

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
            first = await self._allocate(conversation_id, len(messages))
            rows = [
                self._row(message, conversation_id, user_id, first + offset, now)
                for offset, message in enumerate(messages)
            ]
            await self._insert(rows, method)

    def _row(
        self, message: Message, conversation_id: str, user_id: str, seq: int, now: dt.datetime
    ) -> tuple[Any, ...]:
        timestamp = message.timestamp.replace(tzinfo=dt.timezone.utc)
        return (
            self._uuid(message.id), conversation_id, user_id, seq, message.role.value,
            message.message_type.value, message.content, json.dumps(message.metadata),
            None, self._time(timestamp), self._time(now), "active",
        )  # fmt: skip

    @abc.abstractmethod
    def _transaction(self) -> contextlib.AbstractAsyncContextManager[None]: ...

    @abc.abstractmethod
    async def _execute_script(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run statements whose ``{}`` stand for this driver's placeholders."""

    @abc.abstractmethod
    async def _allocate(self, conversation_id: str, count: int) -> int:
        """Reserve ``count`` positions; return the first."""

    @abc.abstractmethod
    async def _insert(self, rows: list[tuple[Any, ...]], method: str) -> None: ...

    @abc.abstractmethod
    def _uuid(self, value: Any) -> Any: ...

    @abc.abstractmethod
    def _time(self, value: dt.datetime) -> Any: ...

    @abc.abstractmethod
    async def latest(self, conversation_id: str, limit: int) -> list[Any]:
        """The conversation's newest messages."""

    @abc.abstractmethod
    async def search(self, words: list[str], user_id: str, limit: int) -> list[Any]:
        """The user's messages containing every word, best match first."""

    @abc.abstractmethod
    async def count_matches(self, words: list[str]) -> int:
        """How many messages (of any user) contain every word (untimed, for context)."""

    @abc.abstractmethod
    async def close(self) -> None: ...


class SqliteRaw(RawDriver):
    """The standard library's ``sqlite3``, with the connection settings the library uses."""

    name = "sqlite3"

    def __init__(self, path: str) -> None:
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

    async def _execute_script(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        for template, parameters in statements:
            placeholders = ["?"] * template.count("{}")
            self._connection.execute(template.format(*placeholders), parameters)

    async def _allocate(self, conversation_id: str, count: int) -> int:
        (last,) = self._connection.execute(
            "UPDATE conversations SET last_seq = last_seq + ?, updated_at = ? "
            "WHERE id = ? RETURNING last_seq",
            (count, self._time(_now()), conversation_id),
        ).fetchone()
        return int(last) - count + 1

    async def _insert(self, rows: list[tuple[Any, ...]], method: str) -> None:
        placeholders = ", ".join("?" * len(INSERT_COLUMNS))
        self._connection.executemany(
            f"INSERT INTO messages ({', '.join(INSERT_COLUMNS)}) VALUES ({placeholders})", rows
        )

    def _uuid(self, value: Any) -> Any:
        return value.hex  # SQLAlchemy's Uuid type on SQLite: 32 hex digits

    def _time(self, value: dt.datetime) -> Any:
        # The library stores naive UTC text in SQLAlchemy's format.
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")

    async def latest(self, conversation_id: str, limit: int) -> list[Any]:
        return self._connection.execute(
            f"SELECT {SELECT_COLUMNS} FROM messages m WHERE m.conversation_id = ? "
            "ORDER BY m.seq DESC LIMIT ?",
            (conversation_id, limit),
        ).fetchall()

    async def search(self, words: list[str], user_id: str, limit: int) -> list[Any]:
        return self._connection.execute(
            f"SELECT {SELECT_COLUMNS} FROM messages m "
            "JOIN messages_fts ON messages_fts.rowid = m.pk "
            "WHERE m.user_id = ? AND messages_fts MATCH ? "
            "ORDER BY bm25(messages_fts), m.pk DESC LIMIT ?",
            (user_id, _fts5_expression(words), limit),
        ).fetchall()

    async def count_matches(self, words: list[str]) -> int:
        (count,) = self._connection.execute(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?",
            (_fts5_expression(words),),
        ).fetchone()
        return int(count)

    async def close(self) -> None:
        self._connection.close()


class PostgresRaw(RawDriver):
    """``asyncpg`` on one connection; batches by ``executemany`` or ``COPY``."""

    name = "asyncpg"
    insert_methods = ("executemany", "copy")

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

    async def _execute_script(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        for template, parameters in statements:
            placeholders = [f"${number}" for number in range(1, template.count("{}") + 1)]
            await self._connection.execute(template.format(*placeholders), *parameters)

    async def _allocate(self, conversation_id: str, count: int) -> int:
        last = await self._connection.fetchval(
            "UPDATE conversations SET last_seq = last_seq + $1, updated_at = $2 "
            "WHERE id = $3 RETURNING last_seq",
            count, _now(), conversation_id,
        )  # fmt: skip
        return int(last) - count + 1

    async def _insert(self, rows: list[tuple[Any, ...]], method: str) -> None:
        if method == "copy":
            await self._connection.copy_records_to_table(
                "messages", records=rows, columns=list(INSERT_COLUMNS)
            )
            return
        placeholders = ", ".join(f"${number}" for number in range(1, len(INSERT_COLUMNS) + 1))
        await self._connection.executemany(
            f"INSERT INTO messages ({', '.join(INSERT_COLUMNS)}) VALUES ({placeholders})", rows
        )

    def _uuid(self, value: Any) -> Any:
        return value

    def _time(self, value: dt.datetime) -> Any:
        return value

    async def latest(self, conversation_id: str, limit: int) -> list[Any]:
        return await self._connection.fetch(
            f"SELECT {SELECT_COLUMNS} FROM messages m WHERE m.conversation_id = $1 "
            "ORDER BY m.seq DESC LIMIT $2",
            conversation_id, limit,
        )  # fmt: skip

    async def search(self, words: list[str], user_id: str, limit: int) -> list[Any]:
        return await self._connection.fetch(
            f"SELECT {SELECT_COLUMNS} FROM messages m, "
            "websearch_to_tsquery('english'::regconfig, $2) AS q "
            "WHERE m.user_id = $1 AND m.search_vector @@ q "
            "ORDER BY ts_rank(m.search_vector, q) DESC, m.pk DESC LIMIT $3",
            user_id, " ".join(words), limit,
        )  # fmt: skip

    async def count_matches(self, words: list[str]) -> int:
        count = await self._connection.fetchval(
            "SELECT count(*) FROM messages "
            "WHERE search_vector @@ websearch_to_tsquery('english'::regconfig, $1)",
            " ".join(words),
        )
        return int(count)

    async def close(self) -> None:
        await self._connection.close()


def _fts5_expression(words: list[str]) -> str:
    """Every word as a quoted FTS5 string: all must match (what the library sends)."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
