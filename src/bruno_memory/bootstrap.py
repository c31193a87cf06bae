"""The composition root: a URL and options in, a wired storage out.

The only place that chooses implementations. Storages are found by URL scheme in
:data:`STORAGE_SCHEMES`; everything else (SQLite, PostgreSQL) is a SQLAlchemy URL for the
SQL storage.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bruno_core.interfaces.embedding import EmbeddingInterface
from pydantic import ValidationError

from bruno_memory.adapters.embeddings import default_embedder
from bruno_memory.errors import ConfigurationError
from bruno_memory.ports.storage import Storage
from bruno_memory.ports.vector import VectorIndex
from bruno_memory.settings import DATABASE_URL_VARIABLE, MemorySettings
from bruno_memory.wiring import DefaultEmbedder, external_index

StorageFactory = Callable[..., Storage]


def _redis_storage(
    url: str,
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None,
    vector_index: VectorIndex | None,
    **options: Any,
) -> Storage:
    from bruno_memory.backends.redis import RedisStorage

    if vector_index is not None or embedder not in (DefaultEmbedder.LOCAL, None):
        raise ConfigurationError("the Redis storage has no semantic search: embedder=None")
    return RedisStorage(url, **options)


def _sql_storage(
    url: str | None,
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None,
    vector_index: VectorIndex | None,
    **options: Any,
) -> Storage:
    from bruno_memory.backends.sql import SqlStorage

    settings_given = options.pop("settings", None)
    overrides = {**options, **({"database_url": url} if url is not None else {})}
    base = settings_given.model_dump() if settings_given is not None else {}
    try:
        settings = MemorySettings(**{**base, **overrides})
    except ValidationError as exc:
        raise ConfigurationError(f"invalid memory settings: {exc}", cause=exc) from exc
    if embedder is DefaultEmbedder.LOCAL:
        embedder = default_embedder()
    return SqlStorage(
        settings, embedder=embedder, vector_index=vector_index or external_index(settings)
    )


#: Storages by URL scheme (other URLs go to the SQL storage).
REDIS_SCHEMES = ("redis", "rediss", "redis+cluster", "rediss+cluster")
STORAGE_SCHEMES: dict[str, StorageFactory] = dict.fromkeys(
    (*REDIS_SCHEMES, "redis+sentinel", "rediss+sentinel"), _redis_storage
)


def build_storage(
    url: str | None = None,
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None = DefaultEmbedder.LOCAL,
    vector_index: VectorIndex | None = None,
    **options: Any,
) -> Storage:
    """The storage for ``url`` (default: ``BRUNO_MEMORY_DATABASE_URL``, else a SQLite file
    ``bruno_memory.db``), configured by ``options``."""
    chosen = url or os.environ.get(DATABASE_URL_VARIABLE)
    scheme = urlsplit(chosen).scheme if chosen else ""
    factory = STORAGE_SCHEMES.get(scheme)
    if factory is not None and chosen is not None:
        return factory(chosen, embedder=embedder, vector_index=vector_index, **options)
    return _sql_storage(url, embedder=embedder, vector_index=vector_index, **options)
