"""Database servers for the test suite: real ones, never mocks.

PostgreSQL targets:
- ``postgres``: the server named by ``BRUNO_MEMORY_TEST_POSTGRES_URL`` (CI: the machine's
  PostgreSQL 15). Absent variable: the target is skipped with that reason; unreachable
  server: the tests fail.
- ``pgserver``: a throwaway PostgreSQL 16 with pgvector from the PyPI package ``pgserver``,
  started once per test run in a temporary folder (:func:`run_pgserver`).

Every test run works in databases of its own, created here and dropped at the end.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url

POSTGRES_URL_VARIABLE = "BRUNO_MEMORY_TEST_POSTGRES_URL"


@dataclass
class PostgresServer:
    """A reachable PostgreSQL server where tests may create databases."""

    name: str
    admin_url: URL  # points at a maintenance database

    def database_url(self, database: str) -> str:
        """The library URL of ``database`` on this server."""
        url = self.admin_url.set(drivername="postgresql+asyncpg", database=database)
        return url.render_as_string(hide_password=False)

    def connect_args(self) -> dict[str, Any]:
        url = self.admin_url
        host = url.host or url.query.get("host")
        return {
            "user": url.username or "postgres",
            "password": url.password or None,
            "host": host if isinstance(host, str) else None,
            "port": url.port,
            "database": url.database or "postgres",
        }

    async def create_database(self, name: str, template: str | None = None) -> str:
        """Create the database ``name`` (empty, or a copy of the database ``template``, which
        nothing may be connected to); return its URL."""
        copy = f' TEMPLATE "{template}"' if template is not None else ""
        admin = await asyncpg.connect(**self.connect_args())
        try:
            await admin.execute(f'CREATE DATABASE "{name}"{copy}')
        finally:
            await admin.close()
        return self.database_url(name)

    @contextlib.asynccontextmanager
    async def fresh_database(self) -> AsyncIterator[str]:
        """Create an empty database, yield its URL, drop it afterwards."""
        name = f"bruno_test_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(**self.connect_args())
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            yield self.database_url(name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


def system_postgres() -> PostgresServer | None:
    """The server named by the environment, or None when the variable is not set."""
    raw = os.environ.get(POSTGRES_URL_VARIABLE)
    return PostgresServer("postgres", make_url(raw)) if raw else None


@functools.cache
def run_pgserver() -> PostgresServer:
    """The test process's :func:`pgserver_postgres`, started on first use and stopped when
    the process exits: the PostgreSQL targets and the congruence suite's SQL index share it
    (starting one takes seconds)."""
    server = contextlib.ExitStack()
    atexit.register(server.close)
    return server.enter_context(pgserver_postgres())


#: The throwaway server keeps nothing past the run, so it needs no durability. With the
#: defaults its commits wait for the disk, and so does stopping it: the shutdown checkpoint
#: writes every database the run made (minutes on a busy disk). Clients see no difference.
THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@contextlib.contextmanager
def pgserver_postgres() -> Iterator[PostgresServer]:
    """Start a private PostgreSQL (with pgvector) from the ``pgserver`` package."""
    import pgserver

    with tempfile.TemporaryDirectory(prefix="bruno-pgserver-") as data_dir:
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        try:
            settings = "".join(
                f"ALTER SYSTEM SET {name} = {value};\n"
                for name, value in THROWAWAY_SETTINGS.items()
            )
            server.psql(settings + "SELECT pg_reload_conf();\n")
            yield PostgresServer("pgserver", make_url(server.get_uri()))
        finally:
            server.cleanup()
