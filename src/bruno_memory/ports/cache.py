"""The cache port, its statistics, and the read-through helper every cached read uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

#: What a view belongs to: ``("conversation", id)``, ``("session", id)``, ``("user", id)``.
Entity = tuple[str, str]

T = TypeVar("T")


@dataclass
class CacheStats:
    """Counters a deployment can export as metrics."""

    hits: int = 0
    local_hits: int = 0
    misses: int = 0
    errors: int = 0
    fallbacks: int = 0  # reads served by the store because the cache was down
    #: Always 0: an invalidation Redis misses is not kept, since views are checked against
    #: the database's version (kept for the metrics that export it).
    pending_invalidations: int = 0
    round_trips: int = 0  # calls sent to Redis (a script or a pipeline is one)

    @property
    def hit_ratio(self) -> float:
        """Share of reads answered by the cache."""
        total = self.hits + self.misses + self.fallbacks
        return self.hits / total if total else 0.0


class EntityCache(Protocol):
    """Views of entities, each stored with the entity's version in the database.

    A view counts only under the version the caller read from the database in the same
    unit of work, so whatever the cache holds or lost, no view older than a committed write
    is served (see :mod:`bruno_memory.adapters.cache.redis`).
    """

    stats: CacheStats

    async def get(self, entity: Entity, view: str, version: str) -> str | None:
        """The view's payload if it was stored under ``version``, else None (a miss)."""
        ...

    async def put(self, entity: Entity, view: str, version: str, payload: str) -> None:
        """Store a view read at (or after) the entity's ``version``."""

    async def invalidate(self, entities: Iterable[Entity]) -> None:
        """Drop the views of these entities (after a committed write); only frees memory:
        the write changed their versions already."""

    async def close(self) -> None:
        """Release connections."""


async def read_through(
    cache: EntityCache | None,
    entity: Entity,
    view: str,
    version: str | None,
    load: Callable[[], Awaitable[T]],
    encode: Callable[[T], str],
    decode: Callable[[str], T],
) -> T:
    """The view from the cache if stored under ``version``, else loaded and put there.

    ``version`` is the entity's version read from the database *before* ``load`` runs (in
    the same unit of work): what ``load`` returns is then at least as new as ``version``.
    None (the entity does not exist): loaded, never cached; a version that could come back
    (the entity made again and deleted again) must not tag a view.
    """
    if cache is None or version is None:
        return await load()
    payload = await cache.get(entity, view, version)
    if payload is not None:
        return decode(payload)
    value = await load()
    await cache.put(entity, view, version, encode(value))
    return value
