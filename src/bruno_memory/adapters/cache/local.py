"""An in-process LRU+TTL level in front of the Redis cache.

A view found here costs no round trip. It stays coherent with other processes through the
Redis invalidation channel: entries of an entity another process invalidates are dropped as
the message arrives, and while the subscription is down (or not yet up) this level is
bypassed and emptied, so it never serves what it could have missed. Its own TTL is a last
bound on staleness.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from cachetools import TTLCache

from bruno_memory.adapters.cache.base import CacheStats, Entity, Lookup
from bruno_memory.adapters.cache.redis import RedisEntityCache


class LocalEntityCache:
    """An :class:`~bruno_memory.adapters.cache.base.EntityCache` with a local level."""

    def __init__(self, remote: RedisEntityCache, *, maxsize: int, ttl_seconds: float) -> None:
        self.stats: CacheStats = remote.stats
        self._remote = remote
        self._entries: TTLCache[tuple[Entity, str], Lookup] = TTLCache(maxsize, ttl_seconds)
        self._coherent = False
        # Bumped by every eviction: a value fetched while it moved may be stale, so it is not
        # kept (the invalidation may have been handled before the fetch returned).
        self._generation = 0
        self._views: set[str] = set()
        self._stop: Callable[[], Awaitable[None]] | None = None

    async def start(self) -> None:
        """Start listening to other processes' invalidations."""
        if self._stop is None:
            self._stop = await self._remote.listen(self._evict, self._set_coherent)

    async def get(self, entity: Entity, view: str) -> Lookup:
        """From this process if coherent, else from Redis (kept here for next time)."""
        if self._coherent:
            local = self._entries.get((entity, view))
            if local is not None:
                self.stats.local_hits += 1
                self.stats.hits += 1
                return local
        generation = self._generation
        found = await self._remote.get(entity, view)
        if found.payload is not None:
            self._keep(entity, view, found, generation)
        return found

    async def put(self, entity: Entity, view: str, lookup: Lookup, payload: str) -> bool:
        """Store in Redis (only if still current there), then here."""
        generation = self._generation
        stored = await self._remote.put(entity, view, lookup, payload)
        if stored:
            self._keep(entity, view, Lookup(payload, lookup.version), generation)
        return stored

    def _keep(self, entity: Entity, view: str, found: Lookup, generation: int) -> None:
        if self._coherent and generation == self._generation:
            self._views.add(view)
            self._entries[(entity, view)] = found

    async def invalidate(self, entities: Iterable[Entity]) -> None:
        """Drop the entities here, then in Redis and in every other process."""
        chosen = list(entities)
        self._evict(chosen)
        await self._remote.invalidate(chosen)

    async def close(self) -> None:
        """Stop listening and close the Redis level."""
        if self._stop is not None:
            await self._stop()
            self._stop = None
        await self._remote.close()

    def _evict(self, entities: list[Entity]) -> None:
        self._generation += 1
        for entity in entities:
            for view in self._views:
                self._entries.pop((entity, view), None)

    def _set_coherent(self, coherent: bool) -> None:
        self._generation += 1
        self._entries.clear()
        self._coherent = coherent
