"""How a store's parts are chosen from its settings."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from bruno_memory.errors import ConfigurationError
from bruno_memory.managers.retriever import RetrievalSettings
from bruno_memory.ports.cache import EntityCache
from bruno_memory.ports.events import EventSink
from bruno_memory.ports.vector import VectorIndex
from bruno_memory.settings import MemorySettings

if TYPE_CHECKING:
    from bruno_memory.adapters.redis.settings import RedisSettings


class DefaultEmbedder(enum.Enum):
    """Marker for "use the local offline embedder when the ``embeddings`` extra is installed"."""

    LOCAL = "local"


def retrieval_settings(settings: MemorySettings) -> RetrievalSettings:
    """The retriever's settings out of the store's."""
    return RetrievalSettings(
        rrf_k=settings.search_rrf_k,
        fulltext_weight=settings.search_fulltext_weight,
        semantic_weight=settings.search_semantic_weight,
        recency_weight=settings.search_recency_weight,
        recency_half_life_days=settings.search_recency_half_life_days,
        importance_weight=settings.search_importance_weight,
        cache_size=settings.search_cache_size,
        cache_ttl_seconds=settings.search_cache_ttl_seconds,
        stop_words=settings.search_stop_words,
        date_weight=settings.search_date_weight,
        date_before_days=settings.search_date_before_days,
        date_after_days=settings.search_date_after_days,
        neighbor_weight=settings.search_neighbor_weight,
        neighbor_window=settings.search_neighbor_window,
    )


def external_index(settings: MemorySettings) -> VectorIndex | None:
    """The vector index named by the settings, when it is not the SQL database."""
    if settings.vector_store == "sql":
        return None
    from bruno_memory.adapters.vector.qdrant import QdrantVectorIndex

    if settings.qdrant_url is not None:
        return QdrantVectorIndex.server(settings.qdrant_url, settings.qdrant_api_key)
    if settings.qdrant_path in (None, ":memory:"):
        return QdrantVectorIndex.local()
    return QdrantVectorIndex.local(settings.qdrant_path)


class RedisServices:
    """The Redis side of a SQL store: the cache (with its in-process level) and the event
    streams, sharing the settings' URL and key prefix."""

    def __init__(self, client: Any, cache: EntityCache, events: EventSink | None) -> None:
        self._client = client
        self.cache = cache
        self.events = events

    @classmethod
    def start(cls, settings: MemorySettings) -> RedisServices:
        """The services at ``settings.redis_url`` (connections open on first use)."""
        from bruno_memory.adapters.cache.local import LocalEntityCache
        from bruno_memory.adapters.cache.redis import RedisEntityCache
        from bruno_memory.adapters.events.redis_streams import RedisStreamSink
        from bruno_memory.adapters.redis.client import create_client
        from bruno_memory.managers.changes import CONVERSATION, SESSION, USER

        redis = redis_settings(settings)
        client = create_client(redis)
        remote = RedisEntityCache(
            client,
            prefix=f"{settings.redis_key_prefix}:cache",
            ttl_seconds={
                CONVERSATION: settings.cache_ttl_seconds,
                SESSION: settings.cache_session_ttl_seconds,
                USER: settings.cache_user_ttl_seconds,
            },
            default_ttl=settings.cache_ttl_seconds,
        )
        cache: EntityCache = remote
        if settings.cache_local_size:
            cache = LocalEntityCache(
                remote,
                maxsize=settings.cache_local_size,
                ttl_seconds=settings.cache_local_ttl_seconds,
            )
        events = RedisStreamSink(redis) if settings.redis_streams else None
        return cls(client, cache, events)

    async def close(self) -> None:
        """Flush what can be flushed, stop background work and close the connections."""
        if self.events is not None:
            await self.events.close()
        await self.cache.close()
        await self._client.aclose()


def redis_settings(settings: MemorySettings) -> RedisSettings:
    """The Redis connection settings of a SQL store's cache and streams."""
    from bruno_memory.adapters.redis.settings import RedisSettings

    if settings.redis_url is None:
        raise ConfigurationError("the store has no redis_url")
    return RedisSettings(url=settings.redis_url, key_prefix=settings.redis_key_prefix)
