"""Configuration, read from keyword arguments or ``BRUNO_MEMORY_*`` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///bruno_memory.db"
#: The environment variable naming the database (a Redis URL selects the Redis-only backend).
DATABASE_URL_VARIABLE = "BRUNO_MEMORY_DATABASE_URL"


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
    pool_pre_ping: bool = Field(
        default=True,
        description="Test each pooled connection before use (one round trip per checkout): "
        "survives server restarts; turn off where the network is reliable and latency counts.",
    )
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
    redis_url: str | None = Field(
        default=None,
        description="Redis (redis://, redis+cluster://, redis+sentinel://) caching recent "
        "conversation windows in front of the SQL store; None: no cache.",
    )
    redis_key_prefix: str = Field(
        default="bruno", min_length=1, description="Every Redis key starts with '<prefix>:'."
    )
    redis_streams: bool = Field(
        default=True,
        description="With redis_url: append every stored message, session start and end to "
        "Redis Streams (per user and per conversation); see Memory.event_stream().",
    )
    cache_ttl_seconds: int = Field(
        default=300, ge=1, description="Lifetime of a cached conversation window."
    )
    cache_session_ttl_seconds: int = Field(
        default=600, ge=1, description="Unused: sessions are not cached (kept for compatibility)."
    )
    cache_user_ttl_seconds: int = Field(
        default=3600,
        ge=1,
        description="Unused: user contexts are not cached (kept for compatibility).",
    )
    cache_local_size: int = Field(
        default=10_000, ge=0, description="Views kept in this process too (0: Redis only)."
    )
    cache_local_ttl_seconds: float = Field(
        default=300.0, gt=0, description="Lifetime of a view in the in-process level."
    )
    search_rrf_k: int = Field(
        default=5,
        ge=1,
        description="k of reciprocal-rank fusion, sum(weight / (k + rank)): a small k lets "
        "each signal's first hits stand out (60, the classic value, flattens the ranks).",
    )
    search_fulltext_weight: float = Field(default=1.0, ge=0, description="Hybrid weight.")
    search_semantic_weight: float = Field(default=1.0, ge=0, description="Hybrid weight.")
    search_recency_weight: float = Field(
        default=0.0, ge=0, description="Boost of recent items (0: none)."
    )
    search_recency_half_life_days: float = Field(default=30.0, gt=0)
    search_importance_weight: float = Field(
        default=0.0, ge=0, description="Boost of important memories (0: none)."
    )
    search_stop_words: bool = Field(
        default=True,
        description="Leave English stop words out of the any-word full-text queries of "
        "search() (PostgreSQL's english configuration drops them anyway).",
    )
    search_date_weight: float = Field(
        default=1.0,
        ge=0,
        description="When a query names dates ('in July 2023', 'on May 3, 2023'), its signals "
        "run again within each period and are fused with this weight (0: dates are ignored).",
    )
    search_date_before_days: float = Field(
        default=1.0, ge=0, description="Days a named period is widened before its start."
    )
    search_date_after_days: float = Field(
        default=7.0,
        ge=0,
        description="Days a named period is widened after its end (things are often told "
        "a few days after they happen).",
    )
    search_neighbor_weight: float = Field(
        default=0.3,
        ge=0,
        description="Share of a candidate message's score given to the messages around it in "
        "its conversation, divided by their distance; a message rises at most halfway to the "
        "best candidate next to it (0: none).",
    )
    search_neighbor_window: int = Field(
        default=2, ge=0, le=20, description="How many messages before and after get a share."
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
