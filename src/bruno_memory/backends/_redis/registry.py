"""Where each message and memory lives: ids are unique store-wide, as in the SQL store.

A message id maps to its conversation, a memory id to its user, in 256 bucket hashes
(``<p>:ids:<kind>:<bb>``). A writer claims its ids (HSETNX) before its commit script runs and
releases them if the commit fails; a delete releases them after. An entry whose item is
gone (a crash between the two steps) is stale: it is checked, and taken over, when an id
is claimed again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from bruno_memory.backends._redis.context import RedisContext, best_effort
from bruno_memory.errors import ConflictError

if TYPE_CHECKING:
    from bruno_memory.adapters.redis.client import RedisPipeline

#: ``exists(id, location)``: whether the item really is there.
Probe = Callable[[uuid.UUID, str], Awaitable[bool]]


class Registry:
    """The id registry of one kind of item (``"msg"`` or ``"mem"``)."""

    def __init__(self, context: RedisContext, kind: str, exists: Probe) -> None:
        self._context = context
        self._kind = kind
        self._exists = exists

    def _bucket(self, item_id: uuid.UUID) -> str:
        return self._context.keys.registry(self._kind, item_id)

    async def claim(self, ids: Sequence[uuid.UUID], location: str) -> None:
        """Record ``ids`` as living at ``location``; raise ConflictError (claiming nothing)
        if one of them already lives elsewhere or there."""
        pipe = self._context.pipeline()
        self.queue_claims(pipe, ids, location)
        await self.settle(ids, location, await pipe.execute())

    def queue_claims(self, pipe: RedisPipeline, ids: Sequence[uuid.UUID], location: str) -> None:
        """Queue the claims of :meth:`claim` (one reply per id); :meth:`settle` their replies."""
        for item_id in ids:
            pipe.hsetnx(self._bucket(item_id), str(item_id), location)

    async def settle(
        self, ids: Sequence[uuid.UUID], location: str, fresh: Sequence[object]
    ) -> None:
        """Finish claiming ``ids`` given the replies of :meth:`queue_claims`: ids already
        recorded are conflicts if their item exists, else stale entries taken over."""
        taken = [item_id for item_id, new in zip(ids, fresh, strict=True) if not new]
        if not taken:
            return
        pipe = self._context.pipeline()
        for item_id in taken:
            pipe.hget(self._bucket(item_id), str(item_id))
        holders = await pipe.execute()
        for item_id, holder in zip(taken, holders, strict=True):
            if holder is not None and await self._exists(item_id, holder):
                mine = [i for i, new in zip(ids, fresh, strict=True) if new]
                await best_effort(self.release(mine), "release claimed ids")
                raise ConflictError(
                    f"a {self._label} with id {item_id} already exists",
                    details={"id": str(item_id)},
                )
        pipe = self._context.pipeline()
        for item_id in taken:  # stale entries: their items are gone
            pipe.hset(self._bucket(item_id), str(item_id), location)
        await pipe.execute()

    async def release(self, ids: Sequence[uuid.UUID]) -> None:
        """Forget ``ids``."""
        if not ids:
            return
        pipe = self._context.pipeline()
        for item_id in ids:
            pipe.hdel(self._bucket(item_id), str(item_id))
        await pipe.execute()

    async def locate(self, item_id: uuid.UUID) -> str | None:
        """Where the item was recorded (it may be gone since)."""
        return await self._context.hget(self._bucket(item_id), str(item_id))

    @property
    def _label(self) -> str:
        return "message" if self._kind == "msg" else "memory"
