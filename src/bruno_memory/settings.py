"""Configuration, read from keyword arguments or ``BRUNO_MEMORY_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///bruno_memory.db"


class MemorySettings(BaseSettings):
    """Settings of a memory store.

    Every field can be set by an environment variable named after it, e.g.
    ``BRUNO_MEMORY_DATABASE_URL=postgresql+asyncpg://user@host/db``.
    """

    model_config = SettingsConfigDict(env_prefix="BRUNO_MEMORY_", extra="forbid")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file.db, "
        "sqlite+aiosqlite:// (in memory) or postgresql+asyncpg://...",
    )
    auto_migrate: bool = Field(
        default=True,
        description="Upgrade the schema to the head revision when the store opens; "
        "when false, opening a database that is not at head raises SchemaError.",
    )
    context_window: int = Field(
        default=20, ge=1, le=1000, description="Messages in the window get_context returns."
    )
    echo: bool = Field(default=False, description="Log every SQL statement.")
    pool_size: int = Field(default=5, ge=1, description="Connections kept open (PostgreSQL).")
    max_overflow: int = Field(default=10, ge=0, description="Extra connections under load.")
    pool_timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for a connection.")
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, ge=0, description="How long SQLite waits for another writer's lock."
    )
    batch_size: int = Field(
        default=5_000, ge=1, description="Rows per INSERT statement in batch writes."
    )
