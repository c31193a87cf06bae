"""Configuration, read from keyword arguments or ``BRUNO_MEMORY_*`` environment variables."""

from __future__ import annotations

from typing import Literal

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
    embedding_batch_size: int = Field(
        default=256, ge=1, description="Items embedded per batch by the background indexer."
    )
    vector_store: Literal["sql", "qdrant"] = Field(
        default="sql",
        description="Where vectors are searched: the SQL database itself (pgvector on "
        "PostgreSQL when available, exact numpy otherwise) or Qdrant.",
    )
    vector_cache_max_vectors: int = Field(
        default=200_000,
        ge=0,
        description="Vectors kept in memory for exact search on SQLite (and PostgreSQL "
        "without pgvector): ~1.5 KB each at 384 dimensions. Larger partitions are scanned.",
    )
    qdrant_url: str | None = Field(default=None, description="Qdrant server URL.")
    qdrant_api_key: str | None = Field(default=None, description="Qdrant API key.")
    qdrant_path: str | None = Field(
        default=None, description="Folder of an embedded (local-mode) Qdrant; ':memory:' works."
    )
    search_rrf_k: int = Field(default=60, ge=1, description="k of reciprocal-rank fusion.")
    search_fulltext_weight: float = Field(default=1.0, ge=0, description="Hybrid weight.")
    search_semantic_weight: float = Field(default=1.0, ge=0, description="Hybrid weight.")
    search_recency_weight: float = Field(
        default=0.0, ge=0, description="Boost of recent items (0: none)."
    )
    search_recency_half_life_days: float = Field(default=30.0, gt=0)
    search_importance_weight: float = Field(
        default=0.0, ge=0, description="Boost of important memories (0: none)."
    )
    search_cache_size: int = Field(
        default=256, ge=0, description="Cached search results (0 disables the cache)."
    )
    search_cache_ttl_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest a cached result lives (writes by other "
        "processes are seen after this).",
    )
