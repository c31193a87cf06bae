"""The cache port, its statistics, and the read-through helper every cached read uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

#: What a view belongs to: ``("conversation", id)``, ``("session", id)``, ``("user", id)``.
Entity = tuple[str, str]

T = TypeVar("T")


@dataclass(frozen=True)
class Lookup:
    """The answer of a cache: the view's payload, or None, and the entity's version then.

    Filling the cache with ``version`` succeeds only if no write changed the entity since
    the lookup, so a reader never stores data older than a committed write.
    """

    payload: str | None
    version: str | None


@dataclass
class CacheStats:
    """Counters a deployment can export as metrics."""

    hits: int = 0
    local_hits: int = 0
    misses: int = 0
    errors: int = 0
    fallbacks: int = 0  # reads served by the store because the cache was down
    pending_invalidations: int = 0
    round_trips: int = 0  # calls sent to Redis (a script or a pipeline is one)

    @property
    def hit_ratio(self) -> float:
        """Share of reads answered by the cache."""
        total = self.hits + self.misses + self.fallbacks
        return self.hits / total if total else 0.0


class EntityCache(Protocol):
    """Versioned views of entities."""

    stats: CacheStats

    async def get(self, entity: Entity, view: str) -> Lookup:
        """The cached view, or a miss with the version to fill it under."""
        ...

    async def put(self, entity: Entity, view: str, lookup: Lookup, payload: str) -> bool:
        """Store a view read after ``lookup``; False (nothing stored) if the entity changed."""
        ...

    async def invalidate(self, entities: Iterable[Entity]) -> None:
        """Make every view of these entities stale (after a committed write)."""

    async def close(self) -> None:
        """Stop background work and release connections."""


async def read_through(
    cache: EntityCache | None,
    entity: Entity,
    view: str,
    load: Callable[[], Awaitable[T]],
    encode: Callable[[T], str],
    decode: Callable[[str], T],
) -> T:
    """The view from the cache, else loaded from the store and put in the cache."""
    if cache is None:
        return await load()
    lookup = await cache.get(entity, view)
    if lookup.payload is not None:
        return decode(lookup.payload)
    value = await load()
    await cache.put(entity, view, lookup, encode(value))
    return value
