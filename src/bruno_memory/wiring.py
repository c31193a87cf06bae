"""The Redis services of a SQL store (its cache and event streams), from its settings."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from bruno_memory.errors import ConfigurationError
from bruno_memory.ports.cache import EntityCache
from bruno_memory.ports.events import EventSink
from bruno_memory.settings import MemorySettings

if TYPE_CHECKING:
    from bruno_memory.adapters.redis.settings import RedisSettings


class DefaultEmbedder(enum.Enum):
    """Marker for "use the local offline embedder when the ``embeddings`` extra is installed"."""

    LOCAL = "local"


class RedisServices:
    """The Redis side of a SQL store: the cache (with its in-process level) and the event
    streams, sharing the ``cache`` section's URL and key prefix."""

    def __init__(self, client: Any, cache: EntityCache, events: EventSink | None) -> None:
        self._client = client
        self.cache = cache
        self.events = events

    @classmethod
    def start(cls, settings: MemorySettings) -> RedisServices:
        """The services at ``settings.cache.url`` (connections open on first use)."""
        from bruno_memory.adapters.cache.local import LocalEntityCache
        from bruno_memory.adapters.cache.redis import RedisEntityCache
        from bruno_memory.adapters.events.redis_streams import RedisStreamSink
        from bruno_memory.adapters.redis.client import create_client
        from bruno_memory.managers.changes import CONVERSATION

        section = settings.cache
        redis = redis_settings(settings)
        client = create_client(redis)
        remote = RedisEntityCache(
            client,
            prefix=f"{section.key_prefix}:cache",
            ttl_seconds={CONVERSATION: section.ttl_seconds},
            default_ttl=section.ttl_seconds,
        )
        cache: EntityCache = remote
        if section.local_size:
            cache = LocalEntityCache(
                remote, maxsize=section.local_size, ttl_seconds=section.local_ttl_seconds
            )
        events = RedisStreamSink(redis) if section.streams else None
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

    if settings.cache.url is None:
        raise ConfigurationError("the store has no cache URL (cache_url)")
    return RedisSettings(url=settings.cache.url, key_prefix=settings.cache.key_prefix)
