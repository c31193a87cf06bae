"""How the commands reach a store: its settings from ``--url``, the store itself (never
migrated by a command that only reads), and a SQL engine for the schema commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bruno_core.interfaces.embedding import EmbeddingInterface
from sqlalchemy.ext.asyncio import AsyncEngine

from bruno_memory.db.engine import create_engine
from bruno_memory.memory import Memory
from bruno_memory.settings import MemorySettings
from bruno_memory.wiring import DefaultEmbedder


def settings_of(url: str | None) -> MemorySettings:
    """The settings of ``--url`` (the environment's and the defaults when not given)."""
    return MemorySettings() if url is None else MemorySettings(database_url=url)


def is_sql(settings: MemorySettings) -> bool:
    """Whether the settings name a SQLite or PostgreSQL database (the schema's dialects)."""
    return settings.database.url.startswith(("sqlite", "postgresql"))


def open_store(
    url: str | None,
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None = None,
    **options: Any,
) -> Memory:
    """The store at ``url`` with these settings ``options``, opened as it is: a database
    behind this version's schema is a ``SchemaError``, never migrated."""
    return Memory(url, embedder=embedder, database_auto_migrate=False, **options)


@asynccontextmanager
async def sql_engine(settings: MemorySettings) -> AsyncIterator[AsyncEngine]:
    """An engine of the settings' SQL database, disposed of at the end."""
    engine = create_engine(settings)
    try:
        yield engine
    finally:
        await engine.dispose()
