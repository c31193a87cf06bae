"""The listings of a user's conversations, sessions and memories, by the user's own keys.

No key is scanned. Memories are read by the ``mem:created`` sorted set (creation time,
then id: Redis orders equal scores by member). Conversations and sessions are members of
the user's set and hash, which keep no order: each page is cut from them in the user's slot
(``page_members.lua``), so the server sorts them once per page (O(n log n) for n members)
and the client holds one page. Those are hints: each member is confirmed against its
conversation or session, and a page is topped up past the stale ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bruno_core.models.context import SessionContext
from bruno_core.models.memory import MemoryEntry

from bruno_memory.adapters.redis.codec import memory_from_fields, micros, session_from_fields
from bruno_memory.adapters.redis.keys import UserKeys
from bruno_memory.backends._redis.context import RedisContext
from bruno_memory.listing import ConversationInfo
from bruno_memory.ports.storage import MemoryCursor

_T = TypeVar("_T")


class Listing:
    """Keyset pages of one user's items."""

    def __init__(self, context: RedisContext) -> None:
        self._context = context

    async def conversations(
        self, user_id: str, *, after: str | None, limit: int
    ) -> list[ConversationInfo]:
        """The conversations whose ``meta`` names the user as owner, by id."""
        keys = self._context.keys

        async def confirm(ids: list[str]) -> list[ConversationInfo]:
            pipe = self._context.pipeline()
            for conversation_id in ids:
                pipe.hget(keys.conversation(conversation_id).meta, "owner")
            owners = await pipe.execute()
            return [
                ConversationInfo(conversation_id=cid, user_id=user_id)
                for cid, owner in zip(ids, owners, strict=True)
                if owner == user_id
            ]

        user = keys.user(user_id)
        return await self._members(user.conversations, user, "set", after, limit, confirm)

    async def sessions(
        self, user_id: str, *, active: bool | None, after: str | None, limit: int
    ) -> list[SessionContext]:
        """The sessions of the user's hash that exist and are the user's, by id."""
        keys = self._context.keys
        user = keys.user(user_id)

        async def confirm(ids: list[str]) -> list[SessionContext]:
            homes = await self._context.hmget(user.sessions, ids)
            pipe = self._context.pipeline()
            for session_id, conversation_id in zip(ids, homes, strict=True):
                if conversation_id is not None:  # else gone meanwhile
                    pipe.hgetall(keys.conversation(conversation_id).session(session_id))
            found = [session_from_fields(f) for f in await pipe.execute() if f]
            return [
                s
                for s in found
                if s.user_id == user_id and (active is None or s.is_active is active)
            ]

        return await self._members(user.sessions, user, "hash", after, limit, confirm)

    async def memories(
        self, user_id: str, *, after: MemoryCursor | None, limit: int
    ) -> list[MemoryEntry]:
        """The user's memories by creation time, then id (the ``mem:created`` order)."""
        user = self._context.keys.user(user_id)
        order = user.memory_order("created")
        cursor = None if after is None else (micros(after[0]), str(after[1]))
        found: list[MemoryEntry] = []
        while len(found) < limit:
            scored = await self._scored_after(order, cursor, limit)
            if not scored:
                break
            pipe = self._context.pipeline()
            for memory_id, _ in scored:
                pipe.hgetall(user.memory(uuid.UUID(memory_id)))
            found += [memory_from_fields(f) for f in await pipe.execute() if f]
            if len(scored) < limit:
                break
            cursor = (int(scored[-1][1]), scored[-1][0])
        return found[:limit]

    async def _scored_after(
        self, order: str, cursor: tuple[int, str] | None, limit: int
    ) -> list[tuple[str, float]]:
        """Up to ``limit`` members of a sorted set after ``(score, member)``, with their
        scores (the members sharing the cursor's score are read whole: those of one
        microsecond)."""
        pipe = self._context.pipeline()
        if cursor is None:
            pipe.zrangebyscore(order, "-inf", "+inf", start=0, num=limit, withscores=True)
            (first,) = await pipe.execute()
            return [(str(m), float(s)) for m, s in first]
        score, last = cursor
        pipe.zrangebyscore(order, score, score, withscores=True)
        pipe.zrangebyscore(order, f"({score}", "+inf", start=0, num=limit, withscores=True)
        same, later = await pipe.execute()
        found = [(str(m), float(s)) for m, s in [*same, *later] if s > score or str(m) > last]
        return found[:limit]

    async def _members(
        self,
        key: str,
        user: UserKeys,
        kind: str,
        after: str | None,
        limit: int,
        confirm: Callable[[list[str]], Awaitable[list[_T]]],
    ) -> list[_T]:
        """Up to ``limit`` confirmed items of the members of ``key`` above ``after``, by
        id: a page of members, topped up past those ``confirm`` leaves out."""
        found: list[_T] = []
        cursor = after
        while len(found) < limit:
            reply = await self._context.scripts.run(
                "page_members", [key, user.temporary()], [kind, cursor or "", limit]
            )
            ids = [str(member) for member in reply]
            if not ids:
                break
            found += await confirm(ids)
            if len(ids) < limit:
                break
            cursor = ids[-1]
        return found[:limit]
