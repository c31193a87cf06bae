"""An in-process level in front of the Redis cache: views are kept here, and Redis is only
asked whether they are still current.

Every read is still one round trip, so a view written by another process is never served:
Redis answers with the entity's version and sends the view only when the one held here is
out of date. What the level saves is the payload's transfer. LRU with a TTL bounds its size.
When Redis cannot be asked, nothing held here is served (the store answers instead).
"""

from __future__ import annotations

from collections.abc import Iterable

from cachetools import TTLCache

from bruno_memory.adapters.cache.base import CacheStats, Entity, Lookup
from bruno_memory.adapters.cache.redis import RedisEntityCache


class LocalEntityCache:
    """An :class:`~bruno_memory.adapters.cache.base.EntityCache` with an in-process level."""

    def __init__(self, remote: RedisEntityCache, *, maxsize: int, ttl_seconds: float) -> None:
        self.stats: CacheStats = remote.stats
        self._remote = remote
        self._held: TTLCache[tuple[Entity, str], Lookup] = TTLCache(maxsize, ttl_seconds)

    async def get(self, entity: Entity, view: str) -> Lookup:
        """The view held here if Redis says it is current, else Redis's (kept here)."""
        found = await self._remote.get(entity, view, held=self._held.get((entity, view)))
        if found.payload is not None:
            self._held[(entity, view)] = found
        return found

    async def put(self, entity: Entity, view: str, lookup: Lookup, payload: str) -> bool:
        """Store in Redis (only if still current there), then here."""
        stored = await self._remote.put(entity, view, lookup, payload)
        if stored:
            self._held[(entity, view)] = Lookup(payload, lookup.version)
        return stored

    async def invalidate(self, entities: Iterable[Entity]) -> None:
        """Invalidate in Redis (what is held here becomes out of date with it)."""
        await self._remote.invalidate(entities)

    async def close(self) -> None:
        """Close the Redis level."""
        await self._remote.close()
