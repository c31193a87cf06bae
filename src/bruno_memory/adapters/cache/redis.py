"""Entity views cached in Redis, versioned so that no reader can store stale data.

Keys (one hash tag per entity, so an entity's keys share a cluster slot)::

    <prefix>:{<kind>:<id>}:ver          the entity's version (a random integer, INCR per write)
    <prefix>:{<kind>:<id>}:v:<view>     "<version>|<payload>", with the view's TTL

A read is one round trip (a Lua script returns the version, creating it if missing, and the
view, unless the caller already holds the view of that version: then only the version). The
view counts only if it was stored under the current version. A filler stores its view only if
the version is still the one it read before loading from the store (a Lua compare-and-set),
so a write committed meanwhile (which INCRs the version) wins. Invalidation INCRs versions:
every process, whatever it holds in memory (:mod:`bruno_memory.adapters.cache.local`), sees
the new version on its next read.

When Redis is down or slow, reads miss (the store answers), puts are skipped and
invalidations are kept and replayed, before anything else, once Redis answers again. Nothing
raises: the caller gets its data, a warning is logged once per outage, and ``stats`` counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from bruno_memory.adapters.cache.base import CacheStats, Entity, Lookup
from bruno_memory.adapters.redis.keys import escape

logger = logging.getLogger(__name__)

_READ = """
local version = redis.call('GET', KEYS[1])
if not version then
  version = ARGV[1]
  redis.call('SET', KEYS[1], version)
end
if version == ARGV[2] then
  return {version}
end
return {version, redis.call('GET', KEYS[2])}
"""
_FILL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[1] .. '|' .. ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""


def _first_version() -> str:
    """A random start for a version, so that a version key lost (evicted, flushed) and made
    again never matches views stored under the old one; an integer, so INCR works on it."""
    return str(secrets.randbelow(2**62))


#: Seconds without trying Redis after a failure (then the next call tries again).
RETRY_AFTER = 1.0
#: Seconds between attempts to replay invalidations kept during an outage.
REPAIR_INTERVAL = 0.5


class RedisEntityCache:
    """Versioned entity views in Redis, tolerant of Redis being down."""

    def __init__(
        self, client: Any, *, prefix: str, ttl_seconds: Mapping[str, int], default_ttl: int = 300
    ) -> None:
        self.stats = CacheStats()
        self._client = client
        self._prefix = prefix
        self._ttl = dict(ttl_seconds)
        self._default_ttl = default_ttl
        self._read = client.register_script(_READ)
        self._fill = client.register_script(_FILL)
        self._down_until = 0.0
        self._pending: set[Entity] = set()
        self._repair: asyncio.Task[None] | None = None

    def _keys(self, entity: Entity, view: str | None = None) -> list[str]:
        kind, identifier = entity
        base = f"{self._prefix}:{{{kind}:{escape(identifier)}}}"
        return [f"{base}:ver"] if view is None else [f"{base}:ver", f"{base}:v:{view}"]

    async def get(self, entity: Entity, view: str, held: Lookup | None = None) -> Lookup:
        """The cached view and the entity's version (a miss when Redis is unavailable).

        ``held``: a view of this entity the caller keeps; if it is still current it is
        returned (and Redis sends no payload).
        """
        if not await self._available():
            self.stats.fallbacks += 1
            return Lookup(None, None)
        known = held.version if held is not None and held.version is not None else ""
        self.stats.round_trips += 1
        try:
            reply = await self._read(keys=self._keys(entity, view), args=[_first_version(), known])
        except Exception as exc:
            self._failed("read", exc)
            self.stats.fallbacks += 1
            return Lookup(None, None)
        version, stored = reply[0], (reply[1] if len(reply) > 1 else None)
        if held is not None and version == known:
            self.stats.hits += 1
            self.stats.local_hits += 1
            return held
        prefix = f"{version}|"
        if stored is not None and stored.startswith(prefix):
            self.stats.hits += 1
            return Lookup(stored[len(prefix) :], version)
        self.stats.misses += 1
        return Lookup(None, version)

    async def put(self, entity: Entity, view: str, lookup: Lookup, payload: str) -> bool:
        """Store the view if the entity is still at ``lookup.version``; True if stored."""
        if lookup.version is None or not await self._available():
            return False
        ttl = self._ttl.get(entity[0], self._default_ttl)
        self.stats.round_trips += 1
        try:
            stored = await self._fill(
                keys=self._keys(entity, view), args=[lookup.version, payload, ttl]
            )
        except Exception as exc:
            self._failed("fill", exc)
            return False
        return bool(stored)

    async def invalidate(self, entities: Iterable[Entity]) -> None:
        """Bump the entities' versions; kept and replayed later if Redis is out."""
        self._pending.update(entities)
        self.stats.pending_invalidations = len(self._pending)
        if self._pending and await self._available():
            await self._flush()

    async def _flush(self) -> bool:
        chosen = list(self._pending)
        self.stats.round_trips += 1
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for entity in chosen:
                    pipe.incr(self._keys(entity)[0])
                await pipe.execute()
        except Exception as exc:
            self._failed("invalidate", exc)
            return False
        self._pending.difference_update(chosen)
        self.stats.pending_invalidations = len(self._pending)
        return True

    async def _available(self) -> bool:
        """False while backing off after a failure; replays kept invalidations first."""
        if time.monotonic() < self._down_until:
            return False
        if self._pending:
            return await self._flush()
        return True

    def _failed(self, operation: str, exc: Exception) -> None:
        self.stats.errors += 1
        if time.monotonic() >= self._down_until:
            logger.warning("Redis cache %s failed (%s); serving from the store", operation, exc)
        self._down_until = time.monotonic() + RETRY_AFTER
        if self._repair is None or self._repair.done():
            self._repair = asyncio.create_task(self._repair_later())

    async def _repair_later(self) -> None:
        """Replay kept invalidations as soon as Redis answers, even with no traffic."""
        while self._pending:
            await asyncio.sleep(REPAIR_INTERVAL)
            if time.monotonic() >= self._down_until and await self._flush():
                logger.warning("Redis cache reachable again; invalidations replayed")

    async def close(self) -> None:
        """Try a last replay of kept invalidations, then stop repairing."""
        if self._pending and time.monotonic() >= self._down_until:
            await self._flush()
        if self._repair is not None:
            self._repair.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._repair
