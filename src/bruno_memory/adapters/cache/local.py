"""An in-process level in front of the Redis cache: views kept in this process's memory.

A view held here is served only under the version the reader has just read from the
database (see :mod:`bruno_memory.adapters.cache.redis`), so a write by any process, even
one that never reached Redis, makes it stale at once; it is then asked from Redis, and held
here again when Redis has the current one. A view served from here costs no round trip to
Redis, and works while Redis is down. LRU with a TTL bounds its size.
"""

from __future__ import annotations

from collections.abc import Iterable

from cachetools import TTLCache

from bruno_memory.adapters.cache.redis import RedisEntityCache
from bruno_memory.ports.cache import CacheStats, Entity


class LocalEntityCache:
    """An :class:`~bruno_memory.ports.cache.EntityCache` with an in-process level."""

    def __init__(self, remote: RedisEntityCache, *, maxsize: int, ttl_seconds: float) -> None:
        self.stats: CacheStats = remote.stats
        self._remote = remote
        #: (entity, view) -> (version, payload)
        self._held: TTLCache[tuple[Entity, str], tuple[str, str]] = TTLCache(maxsize, ttl_seconds)

    async def get(self, entity: Entity, view: str, version: str) -> str | None:
        """The view held here if it is of ``version``, else Redis's (then held here)."""
        held = self._held.get((entity, view))
        if held is not None and held[0] == version:
            self.stats.hits += 1
            self.stats.local_hits += 1
            return held[1]
        payload = await self._remote.get(entity, view, version)
        if payload is not None:
            self._held[(entity, view)] = (version, payload)
        return payload

    async def put(self, entity: Entity, view: str, version: str, payload: str) -> None:
        """Store in Redis and here."""
        await self._remote.put(entity, view, version, payload)
        self._held[(entity, view)] = (version, payload)

    async def invalidate(self, entities: Iterable[Entity]) -> None:
        """Drop the entities' views in Redis. Those held here are stale already and left
        to the LRU and the TTL (finding them would cost a scan per write)."""
        await self._remote.invalidate(entities)

    async def close(self) -> None:
        """Close the Redis level."""
        await self._remote.close()
