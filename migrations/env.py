"""Alembic environment for bruno-memory (async, one chain for SQLite and PostgreSQL).

Runs on a connection handed over in ``config.attributes["connection"]`` (the library's
``migrate()``, tests) or on an engine it creates from the URL (the ``alembic`` command).
The whole run is one transaction: a failing revision leaves the schema as it was.
"""

from __future__ import annotations

import asyncio
import logging.config

from alembic import context
from sqlalchemy.engine import Connection

from bruno_memory.db.engine import create_engine, normalize_url
from bruno_memory.db.migrate import (
    include_object,
    migration_transaction,
    render_item,
    take_migration_lock,
)
from bruno_memory.db.models import Base
from bruno_memory.settings import MemorySettings

config = context.config
if config.config_file_name is not None:
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def do_run_migrations(connection: Connection) -> None:
    """Run the revisions on ``connection`` inside its transaction."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
        compare_type=True,
        compare_server_default=True,
        render_item=render_item,
        # The library's SQLite engine begins its own transactions, which makes DDL transactional.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        take_migration_lock(connection)
        context.run_migrations()


def _database_url() -> str:
    from_cli = context.get_x_argument(as_dictionary=True).get("url")
    return from_cli or config.get_main_option("sqlalchemy.url") or MemorySettings().database.url


async def run_async_migrations() -> None:
    """Create an engine for the configured URL and run the revisions on it."""
    engine = create_engine(MemorySettings(database_url=_database_url()))
    try:
        async with migration_transaction(engine) as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Run on the shared connection when one is given, else on a new engine."""
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_async_migrations())
    else:
        do_run_migrations(connection)


def run_migrations_offline() -> None:
    """Print the SQL of the revisions for the URL's dialect (``alembic upgrade --sql``)."""
    url = normalize_url(_database_url())
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=url.get_backend_name() == "sqlite",
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
