"""Configuration of a SQL store, by concern, from keyword arguments or ``BRUNO_MEMORY_*``.

The settings are sections: ``database``, ``cache``, ``vector``, ``embedding``, ``search``
and ``context``. A field has one name, spelt three ways::

    settings.database.pool_size                    # in Python
    create_memory(url, database_pool_size=3)       # a keyword: <section>_<field>
    create_memory(url, database={"pool_size": 3})  # or the section as a dict (or model)
    BRUNO_MEMORY_DATABASE_POOL_SIZE=3              # the environment: BRUNO_MEMORY_<SECTION>_<FIELD>

Keywords win over the environment, and a ``<section>_<field>`` keyword over the same field
in a section given as a dict. The environment is read by pydantic-settings with
``env_nested_delimiter="_"`` and ``env_nested_max_split=1``: the first ``_`` after the
``BRUNO_MEMORY_`` prefix separates the section from the field, so every variable belongs to
exactly one section (``BRUNO_MEMORY_CONTEXT_WINDOW`` is ``context.window``).

The names of earlier releases (``pool_size``, ``redis_url``, ``vector_store``...) still
work for one release, as keywords and as environment variables, with a
``DeprecationWarning`` naming the new name: :data:`DEPRECATED_OPTIONS` is the one table
that translates them. Invalid settings raise :class:`~bruno_memory.errors.ConfigurationError`.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bruno_memory.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///bruno_memory.db"
#: Every environment variable of the SQL store starts with this.
ENV_PREFIX = "BRUNO_MEMORY_"
#: The environment variable naming the database (a Redis URL selects the Redis-only backend).
DATABASE_URL_VARIABLE = "BRUNO_MEMORY_DATABASE_URL"


class Section(BaseModel):
    """A section of the settings: unknown fields are refused, invalid values raise
    :class:`~bruno_memory.errors.ConfigurationError`. A section built on its own does not
    read the environment (the settings it belongs to do)."""

    model_config = ConfigDict(extra="forbid")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigurationError(f"invalid {_label(type(self))}: {exc}", cause=exc) from exc


class DatabaseSettings(Section):
    """The SQL database (``BRUNO_MEMORY_DATABASE_*``)."""

    url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file.db, "
        "sqlite+aiosqlite:// (in memory) or postgresql+asyncpg://...",
    )
    auto_migrate: bool = Field(
        default=True,
        description="Upgrade the schema to the head revision when the store opens; "
        "when false, opening a database that is not at head raises SchemaError.",
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


class CacheSettings(Section):
    """The Redis cache and event streams in front of the SQL database
    (``BRUNO_MEMORY_CACHE_*``)."""

    url: str | None = Field(
        default=None,
        description="Redis (redis://, redis+cluster://, redis+sentinel://) caching recent "
        "conversation windows in front of the SQL store; None: no cache.",
    )
    key_prefix: str = Field(
        default="bruno", min_length=1, description="Every Redis key starts with '<prefix>:'."
    )
    streams: bool = Field(
        default=True,
        description="With a cache URL: append every stored message, session start and end to "
        "Redis Streams (per user and per conversation); see Memory.event_stream().",
    )
    ttl_seconds: int = Field(
        default=300, ge=1, description="Lifetime of a cached conversation window."
    )
    local_size: int = Field(
        default=10_000, ge=0, description="Views kept in this process too (0: Redis only)."
    )
    local_ttl_seconds: float = Field(
        default=300.0, gt=0, description="Lifetime of a view in the in-process level."
    )


class VectorSettings(Section):
    """Where vectors are searched (``BRUNO_MEMORY_VECTOR_*``)."""

    url: str | None = Field(
        default=None,
        description="A vector store by URL scheme: qdrant://host:6333 (qdrant+https://...), "
        "qdrant+local:///folder (embedded), qdrant+local:// (in memory), or any scheme "
        "registered with register_vector_store(). None: the SQL database itself (pgvector "
        "on PostgreSQL when available, exact search otherwise).",
    )
    api_key: SecretStr | None = Field(
        default=None, description="API key of the vector store's server (Qdrant)."
    )
    cache_max_vectors: int = Field(
        default=200_000,
        ge=0,
        description="Vectors kept in memory for exact search on SQLite (and PostgreSQL "
        "without pgvector): ~1.5 KB each at 384 dimensions. Larger partitions are scanned.",
    )


class EmbeddingSettings(Section):
    """Background embedding (``BRUNO_MEMORY_EMBEDDING_*``)."""

    batch_size: int = Field(
        default=256, ge=1, description="Items embedded per batch by the background indexer."
    )


class SearchOptions(Section):
    """How ``search()`` ranks, the same for every storage: the ``search`` section of the SQL
    store's settings (``BRUNO_MEMORY_SEARCH_*``) and of the Redis storage's
    (``BRUNO_MEMORY_REDIS_SEARCH_*``); keyword ``search_<field>=`` for both."""

    rrf_k: int = Field(
        default=5,
        ge=1,
        description="k of reciprocal-rank fusion, sum(weight / (k + rank)): a small k lets "
        "each signal's first hits stand out (60, the classic value, flattens the ranks).",
    )
    fulltext_weight: float = Field(default=1.0, ge=0, description="Hybrid weight.")
    semantic_weight: float = Field(default=1.0, ge=0, description="Hybrid weight.")
    recency_weight: float = Field(default=0.0, ge=0, description="Boost of recent items (0: none).")
    recency_half_life_days: float = Field(default=30.0, gt=0)
    importance_weight: float = Field(
        default=0.0, ge=0, description="Boost of important memories (0: none)."
    )
    stop_words: bool = Field(
        default=True,
        description="Leave English stop words out of the any-word full-text queries of "
        "search() (PostgreSQL's english configuration drops them anyway).",
    )
    date_weight: float = Field(
        default=1.0,
        ge=0,
        description="When a query names dates ('in July 2023', 'on May 3, 2023'), its signals "
        "run again within each period and are fused with this weight (0: dates are ignored).",
    )
    date_before_days: float = Field(
        default=1.0, ge=0, description="Days a named period is widened before its start."
    )
    date_after_days: float = Field(
        default=7.0,
        ge=0,
        description="Days a named period is widened after its end (things are often told "
        "a few days after they happen).",
    )
    neighbor_weight: float = Field(
        default=0.3,
        ge=0,
        description="Share of a candidate message's score given to the messages around it in "
        "its conversation, divided by their distance; a message rises at most halfway to the "
        "best candidate next to it (0: none).",
    )
    neighbor_window: int = Field(
        default=2, ge=0, le=20, description="How many messages before and after get a share."
    )
    cache_size: int = Field(
        default=256, ge=0, description="Cached search results (0 disables the cache)."
    )
    cache_ttl_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest a cached result lives (writes by other "
        "processes are seen after this).",
    )


class ContextSettings(Section):
    """What ``get_context`` returns (``BRUNO_MEMORY_CONTEXT_*``)."""

    window: int = Field(
        default=20, ge=1, le=1000, description="Messages in the window get_context returns."
    )


#: The sections of :class:`MemorySettings`, by name.
SECTIONS: dict[str, type[BaseModel]] = {
    "database": DatabaseSettings,
    "cache": CacheSettings,
    "vector": VectorSettings,
    "embedding": EmbeddingSettings,
    "search": SearchOptions,
    "context": ContextSettings,
}

#: Names of earlier releases (keywords, and ``BRUNO_MEMORY_<NAME>`` variables) and the
#: ``<section>_<field>`` name each became; None: accepted, warned about and ignored. The
#: three ``vector_store``/``qdrant_url``/``qdrant_path`` become one ``vector_url``.
DEPRECATED_OPTIONS: dict[str, str | None] = {
    "auto_migrate": "database_auto_migrate",
    "echo": "database_echo",
    "pool_size": "database_pool_size",
    "max_overflow": "database_max_overflow",
    "pool_timeout": "database_pool_timeout",
    "pool_pre_ping": "database_pool_pre_ping",
    "sqlite_busy_timeout_ms": "database_sqlite_busy_timeout_ms",
    "batch_size": "database_batch_size",
    "redis_url": "cache_url",
    "redis_key_prefix": "cache_key_prefix",
    "redis_streams": "cache_streams",
    "cache_session_ttl_seconds": None,
    "cache_user_ttl_seconds": None,
    "vector_store": "vector_url",
    "qdrant_url": "vector_url",
    "qdrant_path": "vector_url",
    "qdrant_api_key": "vector_api_key",
}
#: Deprecated names no longer read from the environment: ``BRUNO_MEMORY_REDIS_KEY_PREFIX``
#: is the Redis storage's key prefix (``RedisSettings``), not the cache's.
NOT_FROM_ENVIRONMENT = frozenset({"redis_key_prefix"})
_LEGACY_VECTOR = ("vector_store", "qdrant_url", "qdrant_path")


class MemorySettings(BaseSettings):
    """Settings of a SQL store, by section (see the module's documentation)::

    MemorySettings(database_url="sqlite+aiosqlite://", database={"pool_size": 3})
    MemorySettings().context.window    # BRUNO_MEMORY_CONTEXT_WINDOW, else 20
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    vector: VectorSettings = Field(default_factory=VectorSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    search: SearchOptions = Field(default_factory=SearchOptions)
    context: ContextSettings = Field(default_factory=ContextSettings)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigurationError(f"invalid memory settings: {exc}", cause=exc) from exc

    @model_validator(mode="before")
    @classmethod
    def _translate(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return translate_options(data, _deprecated_environment())


def nest_shortcuts(
    data: Mapping[str, Any], sections: Mapping[str, type[BaseModel]]
) -> dict[str, Any]:
    """``data`` with every ``<section>_<field>`` keyword moved into its section (over what
    the section's dict holds); other keys are left for the model to accept or refuse."""
    nested = _sections_of(data, sections)
    rest: dict[str, Any] = {}
    for key, value in data.items():
        if key in sections:
            continue
        place = shortcut_field(key, sections)
        if place is None:
            rest[key] = value
        else:
            nested.setdefault(place[0], {})[place[1]] = value
    return {**rest, **nested}


def shortcut_field(name: str, sections: Mapping[str, type[BaseModel]]) -> tuple[str, str] | None:
    """``("database", "pool_size")`` for ``"database_pool_size"``; None if no field."""
    section, _, field = name.partition("_")
    model = sections.get(section)
    if model is None or field not in model.model_fields:
        return None
    return section, field


def translate_options(data: Mapping[str, Any], environment: Mapping[str, Any]) -> dict[str, Any]:
    """The settings' input with deprecated names translated (:data:`DEPRECATED_OPTIONS`) and
    shortcuts nested. ``environment`` holds the deprecated names read from the environment
    (already warned about); they count only where nothing newer sets the field."""
    sections = _sections_of(data, SECTIONS)
    keywords = {key: value for key, value in data.items() if key not in SECTIONS}
    for section, values in sections.items():  # deprecated names the environment nested
        for key in [k for k in values if k not in SECTIONS[section].model_fields]:
            old = f"{section}_{key}"
            if old in DEPRECATED_OPTIONS:
                value = values.pop(key)
                if old not in environment:
                    keywords.setdefault(old, value)
    unknown: dict[str, Any] = {}
    for source, wins in ((environment, False), (keywords, True)):
        for name, value in source.items():
            if name in _LEGACY_VECTOR:
                continue
            if name in DEPRECATED_OPTIONS:
                new = DEPRECATED_OPTIONS[name]
                if wins:
                    _warn(f"{name}= is deprecated: use {new}=" if new else _ignored(name))
                if new is None:
                    continue
                name = new
            place = shortcut_field(name, SECTIONS)
            if place is None:
                unknown[name] = value  # refused as an unknown field
            elif wins:
                sections.setdefault(place[0], {})[place[1]] = value
            else:
                sections.setdefault(place[0], {}).setdefault(place[1], value)
    old_vector = {k: environment[k] for k in _LEGACY_VECTOR if k in environment}
    given_vector = {k: keywords[k] for k in _LEGACY_VECTOR if k in keywords}
    if old_vector or given_vector:
        url = legacy_vector_url(**{**old_vector, **given_vector})
        vector = sections.setdefault("vector", {})
        if given_vector:
            names = ", ".join(f"{k}=" for k in given_vector)
            verb = "is" if len(given_vector) == 1 else "are"
            _warn(f"{names} {verb} deprecated: use vector_url={url!r}")
            vector["url"] = url
        else:
            vector.setdefault("url", url)
    return {**unknown, **sections}


def legacy_vector_url(
    vector_store: str | None = None, qdrant_url: str | None = None, qdrant_path: str | None = None
) -> str | None:
    """The ``vector_url`` that the deprecated ``vector_store``, ``qdrant_url`` and
    ``qdrant_path`` meant (the two Qdrant ones counted only with ``vector_store="qdrant"``)."""
    if vector_store in (None, "sql"):
        return None
    if vector_store != "qdrant":
        raise ValueError(f"vector_store must be 'sql' or 'qdrant', got {vector_store!r}")
    if qdrant_url:
        parts = urlsplit(qdrant_url if "://" in qdrant_url else f"http://{qdrant_url}")
        scheme = "qdrant+https" if parts.scheme == "https" else "qdrant"
        return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    if qdrant_path in (None, "", ":memory:"):
        return "qdrant+local://"
    return f"qdrant+local:///{qdrant_path}"


def redacted_url(url: str) -> str:
    """``url`` without its credentials (``***@host``), fit for messages and logs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def deprecated_variables() -> dict[str, str]:
    """Deprecated environment variables still read, each with the one that replaces it."""
    return {
        env_name(old): env_name(new) if new else "(ignored)"
        for old, new in DEPRECATED_OPTIONS.items()
        if old not in NOT_FROM_ENVIRONMENT
    }


def env_name(name: str) -> str:
    """``BRUNO_MEMORY_DATABASE_POOL_SIZE`` for ``database_pool_size``."""
    return f"{ENV_PREFIX}{name.upper()}"


def _deprecated_environment() -> dict[str, str]:
    upper = {key.upper(): value for key, value in os.environ.items()}
    found: dict[str, str] = {}
    for old, new in DEPRECATED_OPTIONS.items():
        variable = env_name(old)
        if old in NOT_FROM_ENVIRONMENT or variable not in upper:
            continue
        found[old] = upper[variable]
        replacement = f"use {env_name(new)}" if new else "it is ignored"
        _warn(f"the environment variable {variable} is deprecated: {replacement}")
    return found


def _sections_of(
    data: Mapping[str, Any], sections: Mapping[str, type[BaseModel]]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name in sections:
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, BaseModel):
            value = {field: getattr(value, field) for field in type(value).model_fields}
        if not isinstance(value, Mapping):
            raise ValueError(f"{name} must be a mapping or a {sections[name].__name__}")
        found[name] = dict(value)
    return found


def _ignored(name: str) -> str:
    return f"{name}= is deprecated and ignored (it never had an effect)"


def _label(model: type[BaseModel]) -> str:
    return model.__name__


def _warn(message: str) -> None:
    """A DeprecationWarning attributed to the first caller outside this library and
    pydantic."""
    level, frame = 1, sys._getframe(0)
    internal = {"bruno_memory", "pydantic", "pydantic_settings", "pydantic_core"}
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] in internal:
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    warnings.warn(message, DeprecationWarning, stacklevel=level)
