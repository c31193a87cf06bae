"""Settings of the Redis backends, from keyword arguments or ``BRUNO_MEMORY_REDIS_*``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bruno_memory.errors import ConfigurationError
from bruno_memory.settings import SearchOptions, nest_shortcuts

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


#: Fields read from the environment under the name they have for every storage, and not
#: as ``BRUNO_MEMORY_REDIS_<FIELD>`` (so ``populate_by_name`` is off: it would read both).
_BY_ALIAS = {"url": "bruno_memory_database_url", "context_window": "bruno_memory_context_window"}


class RedisSearchOptions(SearchOptions):
    """How the Redis storage searches: the ranking every storage shares, and its engine."""

    engine: Literal["auto", "redisearch", "index"] = Field(
        default="auto",
        description="Full-text search of the Redis-only backend: 'redisearch' (the server's "
        "RediSearch module; single server or Sentinel), 'index' (inverted index kept by the "
        "backend's scripts) or 'auto' (RediSearch when the server has it and is not a "
        "cluster). A key prefix keeps the engine it was first written with.",
    )


class RedisSettings(BaseSettings):
    """Where Redis is, how keys are named, how long conversations live and how ``search()``
    ranks (the ``search`` section, as for the SQL storage, plus its engine).

    Every field can be set by an environment variable ``BRUNO_MEMORY_REDIS_<FIELD>`` (the
    search section: ``BRUNO_MEMORY_REDIS_SEARCH_<FIELD>``, keyword ``search_<field>=``), but
    two that mean what they mean for every storage: the URL is the database's,
    ``BRUNO_MEMORY_DATABASE_URL``, and the window is ``BRUNO_MEMORY_CONTEXT_WINDOW``. No other
    variable is read by the SQL store's settings too (its cache is ``BRUNO_MEMORY_CACHE_*``).
    """

    model_config = SettingsConfigDict(
        env_prefix="BRUNO_MEMORY_REDIS_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
    )

    url: str = Field(
        default=DEFAULT_REDIS_URL,
        validation_alias="bruno_memory_database_url",
        description="redis://, rediss://, redis+cluster://host:port,... (or ?cluster=true) "
        "or redis+sentinel://host:port,.../service_name[/db].",
    )
    key_prefix: str = Field(
        default="bruno",
        min_length=1,
        max_length=64,
        description="Every key starts with '<key_prefix>:'; several stores can share a Redis.",
    )
    session_ttl_seconds: int | None = Field(
        default=None,
        ge=1,
        description="A conversation (its messages and sessions) expires this long after its "
        "last write; None keeps conversations until they are cleared or their user deleted.",
    )
    index_grace_seconds: int = Field(
        default=86_400,
        ge=1,
        description="How long an expired conversation's index receipts outlive it, so the "
        "sweeper can remove its search postings.",
    )
    sweep_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often an open backend sweeps the search index of expired "
        "conversations (only with session_ttl_seconds).",
    )
    context_window: int = Field(
        default=20,
        ge=1,
        le=1000,
        validation_alias="bruno_memory_context_window",
        description="Messages in the window get_context returns.",
    )
    socket_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for a reply before failing."
    )
    socket_connect_timeout: float = Field(
        default=2.0, gt=0, description="Seconds to wait for a connection before failing."
    )
    max_connections: int = Field(default=50, ge=1, description="Pooled connections (per node).")
    cluster: bool = Field(
        default=False, description="Connect to a Redis Cluster (also set by the URL)."
    )

    search: RedisSearchOptions = Field(default_factory=RedisSearchOptions)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigurationError(f"invalid Redis settings: {exc}", cause=exc) from exc

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        given = dict(data)
        for name, alias in _BY_ALIAS.items():  # a name given wins over the environment's alias
            if name in given:
                given[alias] = given.pop(name)
        return nest_shortcuts(given, {"search": RedisSearchOptions})

    @field_validator("key_prefix")
    @classmethod
    def _plain_prefix(cls, value: str) -> str:
        if any(char in value for char in "{}:* \t\n") or "\x00" in value:
            raise ValueError("key_prefix cannot hold braces, ':', '*', whitespace or NUL")
        return value
