"""bruno-memory: the memory layer of the Bruno AI assistant.

::

    from bruno_memory import create_memory

    async with create_memory("sqlite+aiosqlite:///memory.db") as memory:
        await memory.store_message(message, "conversation-1")
        hits = await memory.search_messages("jazz", user_id="alice")
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from bruno_core.interfaces.embedding import EmbeddingInterface

from bruno_memory.adapters.vector.base import VectorIndex
from bruno_memory.backends import backend_for_url
from bruno_memory.errors import (
    AccessDeniedError,
    BrunoMemoryError,
    ConfigurationError,
    ConflictError,
    EmbeddingError,
    InvalidInputError,
    InvalidQueryError,
    MemoryNotFoundError,
    MessageNotFoundError,
    MissingDependencyError,
    NotFoundError,
    SchemaError,
    SessionNotFoundError,
    StorageError,
)
from bruno_memory.results import SearchHit, SignalMatch
from bruno_memory.settings import DATABASE_URL_VARIABLE, MemorySettings
from bruno_memory.store import MemoryStore
from bruno_memory.wiring import DefaultEmbedder

if TYPE_CHECKING:
    from bruno_memory.backends.redis import RedisMemoryBackend

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "BrunoMemoryError",
    "ConfigurationError",
    "ConflictError",
    "EmbeddingError",
    "InvalidInputError",
    "InvalidQueryError",
    "MemoryNotFoundError",
    "MemorySettings",
    "MemoryStore",
    "MessageNotFoundError",
    "MissingDependencyError",
    "NotFoundError",
    "SchemaError",
    "SearchHit",
    "SessionNotFoundError",
    "SignalMatch",
    "StorageError",
    "__version__",
    "create_memory",
]


def create_memory(
    url: str | None = None,
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None = DefaultEmbedder.LOCAL,
    vector_index: VectorIndex | None = None,
    **options: Any,
) -> MemoryStore | RedisMemoryBackend:
    """The memory store for a SQLAlchemy URL, ready for ``async with``.

    ``url`` is ``sqlite+aiosqlite:///path.db``, ``sqlite+aiosqlite://`` (in memory) or
    ``postgresql+asyncpg://user:password@host/db``; by default ``BRUNO_MEMORY_DATABASE_URL``
    or a SQLite file ``bruno_memory.db`` in the working directory. ``options`` are
    :class:`MemorySettings` fields. The schema is brought to the head revision when the
    store opens (``auto_migrate=False`` only checks it).

    Semantic search is on when the ``embeddings`` extra is installed (all-MiniLM-L6-v2,
    offline); ``embedder=None`` turns it off and any bruno-core ``EmbeddingInterface``
    (e.g. a bruno-llm provider) can be passed. ``vector_index`` replaces the SQL database as
    the place vectors are searched (e.g. a ``QdrantVectorIndex``).

    A Redis URL (``redis://``, ``redis+cluster://``, ``redis+sentinel://``) gives the
    Redis-only backend (:class:`~bruno_memory.backends.redis.RedisMemoryBackend`), which has
    no semantic search: pass ``embedder=None`` or leave the default.
    """
    redis_backend = backend_for_url(url or os.environ.get(DATABASE_URL_VARIABLE), **options)
    if redis_backend is None:
        return MemoryStore(url, embedder=embedder, vector_index=vector_index, **options)
    if vector_index is not None or embedder not in (DefaultEmbedder.LOCAL, None):
        raise ConfigurationError("the Redis-only backend has no semantic search: embedder=None")
    return redis_backend
