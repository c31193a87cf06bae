"""Engines per database URL, and the write discipline each dialect needs.

SQLite: WAL journal, enforced foreign keys, a busy timeout, and transactions that
SQLAlchemy begins itself (``BEGIN IMMEDIATE`` for writers), so DDL is transactional and a
writer never fails half way on a lock upgrade. Writers of one process take turns on an
``asyncio.Lock`` instead of spinning on SQLite's lock; an in-memory database has a single
connection, so every unit of work takes that turn.
PostgreSQL (asyncpg): a connection pool with pre-ping.

A connection that cannot be made raises a typed error naming the database and what to do
(see :mod:`bruno_memory.db.connect_errors`); the driver's own exceptions never escape.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Dialect, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bruno_memory.db.connect_errors import (
    postgres_connect_error,
    sqlite_not_a_database,
    sqlite_open_error,
)
from bruno_memory.db.lineage import LineageCache
from bruno_memory.db.scoping import ScopedSession
from bruno_memory.db.types import json_dumps
from bruno_memory.errors import BrunoMemoryError, ConfigurationError, MissingDependencyError
from bruno_memory.settings import MemorySettings

if TYPE_CHECKING:
    from bruno_memory.uow import TransactionHook

#: Execution option a unit of work sets to make SQLite begin a write transaction.
SQLITE_WRITE_OPTION = "bruno_memory_write"

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
#: The URL schemes (without ``+driver``) of the SQL storage.
SQL_BACKENDS = ("postgres", *_ASYNC_DRIVERS)
_DRIVER_EXTRAS = {"asyncpg": ("asyncpg", "postgresql"), "aiosqlite": ("aiosqlite", "sqlite")}


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and give it this library's async driver (``postgres://`` works too)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"not a database URL: {url!r}", cause=exc) from exc
    backend = "postgresql" if parsed.get_backend_name() == "postgres" else parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ConfigurationError(
            f"unsupported database {backend!r}: use sqlite+aiosqlite:// or postgresql+asyncpg://",
            details={"url": parsed.render_as_string(hide_password=True)},
        )
    parsed = parsed.set(drivername=_ASYNC_DRIVERS[backend])
    driver = parsed.get_driver_name()
    package, extra = _DRIVER_EXTRAS[driver]
    try:
        importlib.import_module(package)
    except ImportError as exc:
        raise MissingDependencyError(package, extra) from exc
    return parsed


def is_memory_sqlite(url: URL) -> bool:
    """True for an in-memory SQLite database (``sqlite+aiosqlite://``)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_engine(settings: MemorySettings) -> AsyncEngine:
    """Create the async engine for ``settings.database.url``."""
    database = settings.database
    url = normalize_url(database.url)
    options: dict[str, Any] = {"echo": database.echo, "json_serializer": json_dumps}
    if url.get_backend_name() == "postgresql":
        options.update(
            pool_size=database.pool_size,
            max_overflow=database.max_overflow,
            pool_timeout=database.pool_timeout,
            pool_pre_ping=database.pool_pre_ping,
        )
    try:
        engine = create_async_engine(url, **options)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"invalid database URL {url.render_as_string(hide_password=True)!r}: {exc}",
            cause=exc,
        ) from exc
    if url.get_backend_name() == "sqlite":
        _configure_sqlite(engine, database.sqlite_busy_timeout_ms, is_memory_sqlite(url))
    else:
        _translate_connect_errors(engine, lambda exc: postgres_connect_error(engine.url, exc))
    return engine


def _translate_connect_errors(
    engine: AsyncEngine, translate: Callable[[Exception], BrunoMemoryError]
) -> None:
    # The driver's exceptions at connect time reach the caller unwrapped by SQLAlchemy when
    # they are not its DBAPI's Error classes (asyncpg's), and name no database (SQLite's),
    # so connecting is done here and they are typed.
    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            raise translate(exc) from exc


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int, in_memory: bool) -> None:
    database = engine.url.database or ""
    if not in_memory:
        _translate_connect_errors(engine, lambda exc: sqlite_open_error(database, exc))

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (see _on_begin) instead of the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        pragmas = [f"busy_timeout = {int(busy_timeout_ms)}", "foreign_keys = ON"]
        if not in_memory:
            pragmas += ["journal_mode = WAL", "synchronous = NORMAL"]
        try:
            for pragma in pragmas:
                cursor.execute(f"PRAGMA {pragma}")
        except sqlite3.OperationalError:
            raise  # e.g. locked: the file itself is fine
        except sqlite3.DatabaseError as exc:
            # The first read of the file: SQLite opens any file lazily.
            raise sqlite_not_a_database(database, exc) from exc
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(SQLITE_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """An engine, its session factory and the locking discipline of its dialect."""

    def __init__(self, settings: MemorySettings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.dialect = self.engine.dialect.name
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=ScopedSession
        )
        self._in_memory = is_memory_sqlite(self.engine.url)
        self._write_lock = asyncio.Lock()
        #: Run by each unit of work inside its transaction, before it commits (see uow.py).
        self.transaction_hooks: list[TransactionHook] = []
        #: Where each conversation's history lies (branches), read once per process.
        self.lineages = LineageCache()

    @property
    def url(self) -> URL:
        """The database URL (with the async driver)."""
        return self.engine.url

    @contextlib.asynccontextmanager
    async def turn(self, *, write: bool) -> AsyncIterator[None]:
        """Wait for this process's turn to use the database, when the dialect needs one."""
        if self.dialect == "sqlite" and (write or self._in_memory):
            async with self._write_lock:
                yield
        else:
            yield

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection for one read, without an ORM session (the hot reads)."""
        async with self.turn(write=False), self.engine.connect() as connection:
            yield connection

    def new_session(self) -> AsyncSession:
        """A new ORM session bound to the engine."""
        return self.sessionmaker()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
