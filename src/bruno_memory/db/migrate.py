"""Run the Alembic chain from code, on a connection of the library's own engine.

The same revision files serve ``alembic upgrade head`` and :func:`upgrade`; there is no
``create_all`` shortcut that could drift from them. A database whose ``alembic_version``
names a revision the chain does not have (a newer release's, or an edited table) raises
:class:`~bruno_memory.errors.SchemaError` before any revision runs, so it is left as it was.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bruno_memory.db.base import Base
from bruno_memory.db.engine import SQLITE_WRITE_OPTION
from bruno_memory.db.fulltext import SEARCH_VECTOR_COLUMN, SEARCHABLE_TABLES
from bruno_memory.db.types import FloatVector, UTCDateTime
from bruno_memory.db.vectors import HNSW_INDEX_PREFIX, PGVECTOR_COLUMN
from bruno_memory.errors import InvalidInputError, SchemaError, translate_errors

_PACKAGE_DIR = Path(__file__).resolve().parent.parent

#: Serializes concurrent upgrades of one PostgreSQL database (several app instances starting).
POSTGRES_MIGRATION_LOCK_KEY = 0x6272756E6F  # "bruno"


#: Columns and indexes the migrations build outside the models (full text, pgvector).
UNMAPPED_COLUMNS = frozenset(
    {(table, SEARCH_VECTOR_COLUMN) for table in SEARCHABLE_TABLES}
    | {("embeddings", PGVECTOR_COLUMN)}
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Keep the objects the migrations build outside the models out of autogenerate."""
    if name is None:
        return True
    if type_ == "table":
        return not any(name.startswith(f"{table}_fts") for table in SEARCHABLE_TABLES)
    if type_ == "column":
        return (obj.table.name, name) not in UNMAPPED_COLUMNS
    if type_ == "index":
        return not (name.endswith(f"_{SEARCH_VECTOR_COLUMN}") or name.startswith(HNSW_INDEX_PREFIX))
    return True


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render the library's column types as plain SQLAlchemy types in new revisions."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, FloatVector):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.LargeBinary().with_variant(postgresql.ARRAY(sa.REAL()), "postgresql")'
    return False


def script_location() -> Path:
    """The folder holding ``env.py`` and ``versions/``: in the wheel, or in a source checkout."""
    for candidate in (_PACKAGE_DIR / "migrations", _PACKAGE_DIR.parent.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise SchemaError("the migration scripts are missing from this installation")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the packaged scripts, sharing ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    config.attributes["connection"] = connection
    return config


@functools.cache
def script_directory() -> ScriptDirectory:
    """The packaged revision chain, read once per process: reading it imports every revision
    file, which would otherwise happen several times on each open."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str | None:
    """The newest revision of the chain."""
    return script_directory().get_current_head()


@asynccontextmanager
async def migration_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in the transaction a migration runs in, committed at the end.

    On SQLite it begins with ``BEGIN IMMEDIATE``: the write lock is taken first, waiting
    (busy timeout) for another process's migration to commit. A deferred ``BEGIN`` would
    read the schema, then fail with "database is locked" when upgrading to write, because
    SQLite cannot wait for a lock once the snapshot it read is stale.
    """
    async with engine.connect() as connection:
        await connection.execution_options(**{SQLITE_WRITE_OPTION: True})
        async with connection.begin():
            yield connection


def take_migration_lock(connection: Connection) -> None:
    """Wait for any other migrator of a PostgreSQL database, until the transaction ends.

    Re-entrant: a transaction that holds the lock takes it again at once.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({POSTGRES_MIGRATION_LOCK_KEY})")


def database_revision(connection: Connection) -> str | None:
    """The revision ``alembic_version`` names, or None; SchemaError unless the chain has it.

    The chain is linear, so a database at one of its revisions has exactly one row.
    """
    heads = MigrationContext.configure(connection).get_current_heads()
    script = script_directory()
    head = script.get_current_head()
    if len(heads) > 1:
        raise SchemaError(
            f"the database's alembic_version table has {len(heads)} rows "
            f"({', '.join(map(repr, heads))}), this version of bruno-memory needs one: it was "
            "edited by hand or by another tool; keep only the row of the revision the schema "
            "is at",
            details={"revisions": list(heads), "head": head},
        )
    known = {revision.revision for revision in script.walk_revisions()}
    if heads and heads[0] not in known:
        raise SchemaError(
            f"the database is at revision {heads[0]!r}, which this version of bruno-memory "
            f"does not know (its newest is {head!r}): a newer release migrated it, or its "
            "alembic_version table was edited; upgrade bruno-memory, or set alembic_version "
            "to the revision the schema is at",
            details={"current": heads[0], "head": head},
        )
    return heads[0] if heads else None


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` in one transaction."""
    await _run(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Downgrade the database to ``revision`` (``"base"`` empties it) in one transaction."""
    await _run(engine, command.downgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database (see
    :func:`database_revision`)."""
    async with engine.connect() as connection:
        return await connection.run_sync(database_revision)


async def schema_drift(engine: AsyncEngine) -> list[Any]:
    """Differences between the database and the models (empty when they agree)."""

    def compare(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(
            sync, opts={"include_object": include_object, "compare_type": True}
        )
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        return await connection.run_sync(compare)


# Alembic's ``context`` is process-global: one migration at a time per event loop.
_ALEMBIC_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _alembic_lock() -> asyncio.Lock:
    return _ALEMBIC_LOCKS.setdefault(asyncio.get_running_loop(), asyncio.Lock())


async def _run(engine: AsyncEngine, action: Any, revision: str) -> None:
    def run(sync: Connection) -> None:
        # Checked under the lock, so no other migrator can change the revision in between.
        take_migration_lock(sync)
        current = database_revision(sync)
        if action is command.upgrade and revision == "head" and current == head_revision():
            return  # already there: skip Alembic's environment, the bulk of an open's cost
        try:
            action(alembic_config(sync), revision)
        except CommandError as exc:
            # The database's revision is known, so alembic refused the target.
            raise InvalidInputError(
                f"cannot migrate to {revision!r}: {exc}: give a revision of the chain, "
                "'head', 'base' or a relative step such as '-1'",
                details={"revision": revision},
                cause=exc,
            ) from exc

    with translate_errors(f"migration to {revision}"):
        for attempt in range(1, SQLITE_LOCKED_ATTEMPTS + 1):
            try:
                async with _alembic_lock(), migration_transaction(engine) as connection:
                    await connection.run_sync(run)
                return
            except sa_exc.OperationalError as exc:
                if not _sqlite_locked(engine, exc) or attempt == SQLITE_LOCKED_ATTEMPTS:
                    raise
            await asyncio.sleep(0.05 * attempt)  # the transaction rolled back: start again


#: How often a SQLite migration starts again after "database is locked": SQLite returns it
#: without waiting out the busy timeout where waiting could deadlock (e.g. another process
#: switching a new file to WAL while this one opens it).
SQLITE_LOCKED_ATTEMPTS = 5


def _sqlite_locked(engine: AsyncEngine, exc: sa_exc.OperationalError) -> bool:
    return engine.dialect.name == "sqlite" and "database is locked" in str(exc.orig)
