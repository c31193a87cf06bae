"""Where the benchmarks run: SQLite files in a temporary folder, or a PostgreSQL server.

PostgreSQL is the server named by ``BRUNO_MEMORY_BENCH_POSTGRES_URL`` when that variable is
set (e.g. ``postgresql://postgres@127.0.0.1:5432/test``: the database named there is only
used to create and drop the run's own databases), otherwise a throwaway server started with
the ``pgserver`` package and stopped at the end. Every database the run creates is dropped.
"""

from __future__ import annotations

import abc
import contextlib
import os
import sqlite3
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy.engine import URL, make_url

from benchmarks._raw import PostgresRaw, RawDriver, SqliteRaw

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

POSTGRES_URL_VARIABLE = "BRUNO_MEMORY_BENCH_POSTGRES_URL"


class Backend(abc.ABC):
    """A database system on which the run creates databases, by label."""

    #: ``sqlite`` or ``postgres``.
    name: str
    #: What the results say about it (version, where it runs).
    description: str

    @abc.abstractmethod
    def database(self, label: str) -> contextlib.AbstractAsyncContextManager[str]:
        """Create an empty database for the run; yield its library URL; remove it after."""

    @abc.abstractmethod
    async def connect_raw(self, library_url: str) -> RawDriver:
        """A raw driver connection to the database behind ``library_url``."""


class SqliteBackend(Backend):
    """SQLite database files in a folder (WAL journal: the library's default)."""

    name = "sqlite"

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self.description = f"SQLite {sqlite3.sqlite_version}, files in {folder}"

    @contextlib.asynccontextmanager
    async def database(self, label: str) -> AsyncIterator[str]:
        path = self._folder / f"{label}.db"
        try:
            yield f"sqlite+aiosqlite:///{path}"
        finally:
            _remove_database_files(path)

    async def connect_raw(self, library_url: str) -> RawDriver:
        database = make_url(library_url).database
        assert database is not None
        return SqliteRaw(database)


class PostgresBackend(Backend):
    """A PostgreSQL server, reached through an administrative URL."""

    name = "postgres"

    def __init__(self, admin_url: URL, origin: str, version: str) -> None:
        self._admin_url = admin_url
        self.description = f"PostgreSQL {version} ({origin})"

    @classmethod
    async def at(cls, admin_url: URL, origin: str) -> PostgresBackend:
        """The backend for a running server (asks it for its version)."""
        connection = await asyncpg.connect(**connect_args(admin_url))
        try:
            version = await connection.fetchval("SHOW server_version")
        finally:
            await connection.close()
        return cls(admin_url, origin, str(version))

    @contextlib.asynccontextmanager
    async def database(self, label: str) -> AsyncIterator[str]:
        name = f"bruno_bench_{label}_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(**connect_args(self._admin_url))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            url = self._admin_url.set(drivername="postgresql+asyncpg", database=name)
            yield url.render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()

    async def connect_raw(self, library_url: str) -> RawDriver:
        return await PostgresRaw.connect(**connect_args(make_url(library_url)))


def _remove_database_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def connect_args(url: URL) -> dict[str, Any]:
    """``asyncpg.connect`` arguments for a SQLAlchemy URL (a socket folder may be in
    the query string, as pgserver gives it: ``postgresql://postgres:@/db?host=/tmp/...``)."""
    host = url.host or url.query.get("host")
    return {
        "user": url.username or "postgres",
        "password": url.password or None,
        "host": host if isinstance(host, str) else None,
        "port": url.port,
        "database": url.database or "postgres",
    }


@contextlib.asynccontextmanager
async def open_backend(name: str) -> AsyncIterator[Backend]:
    """The backend called ``name``, with its temporary files and server, if any."""
    with tempfile.TemporaryDirectory(prefix=f"bruno-bench-{name}-") as folder:
        if name == "sqlite":
            yield SqliteBackend(Path(folder))
        elif os.environ.get(POSTGRES_URL_VARIABLE):
            url = make_url(os.environ[POSTGRES_URL_VARIABLE])
            yield await PostgresBackend.at(url, f"server from {POSTGRES_URL_VARIABLE}")
        else:
            with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
                warnings.simplefilter("ignore")
                from pgserver.postgres_server import get_server  # only needed here

                server = get_server(Path(folder) / "pgdata", cleanup_mode="stop")
            try:
                yield await PostgresBackend.at(make_url(server.get_uri()), "pgserver")
            finally:
                server.cleanup()
