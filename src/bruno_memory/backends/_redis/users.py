"""Per-user statistics and erasure.

The user's sets (conversations, sessions) are hints: statistics count only what the
conversations and sessions themselves confirm, and drop the members that are stale.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from bruno_core.models.context import UserContext

from bruno_memory.adapters.redis.codec import from_micros, user_context
from bruno_memory.backends._redis.context import MAX_ATTEMPTS, RedisContext
from bruno_memory.backends._redis.conversations import Conversations
from bruno_memory.backends._redis.memories import MEMORIES, Memories
from bruno_memory.backends._redis.message_index import MESSAGES
from bruno_memory.backends._redis.refs import forget_conversation
from bruno_memory.db.types import json_dumps, utc_now
from bruno_memory.errors import StorageError
from bruno_memory.user_context import UserContextPatch, apply_patch

#: The fields of a user's context that updates write.
CONTEXT_FIELDS = {"name", "profile", "preferences", "metadata"}


class Users:
    """Operations over everything one user owns."""

    def __init__(
        self, context: RedisContext, conversations: Conversations, memories: Memories
    ) -> None:
        self._context = context
        self._conversations = conversations
        self._memories = memories

    async def context(self, user_id: str) -> UserContext | None:
        """The user's stored context, or None when the user has no record."""
        fields = await self._context.hgetall(self._context.keys.user(user_id).profile)
        return user_context(user_id, fields) if fields else None

    async def update(self, user_id: str, patch: UserContextPatch) -> UserContext:
        """Apply ``patch`` by compare-and-set on the user's record: read, apply, store
        unless another write came in between (then again)."""
        profile = self._context.keys.user(user_id).profile
        for _ in range(MAX_ATTEMPTS):
            fields = await self._context.hgetall(profile)
            fields.setdefault("created_at", utc_now().isoformat())  # as the script sets it
            updated = apply_patch(user_context(user_id, fields), patch)
            document = json_dumps(
                updated.model_dump(
                    mode="json", include={"name", "profile", "preferences", "metadata"}
                )
            )
            stored = await self._context.scripts.run(
                "set_user_context",
                [profile],
                [fields.get("context_version", ""), document, fields["created_at"]],
            )
            if stored == [1]:
                return updated
        raise StorageError("the user's context kept changing while updating it")

    async def statistics(self, user_id: str) -> dict[str, Any]:
        """Counts of the user's messages (total, per role), conversations, sessions and
        memories, and the time of their first and last message."""
        keys = self._context.keys
        user = keys.user(user_id)
        pipe = self._context.pipeline()
        pipe.smembers(user.conversations)
        pipe.hgetall(user.sessions)
        pipe.zcard(user.memories)
        conversation_ids, sessions, memories = await pipe.execute()
        conversation_ids = sorted(conversation_ids)
        pipe = self._context.pipeline()
        for conversation_id in conversation_ids:
            conversation = keys.conversation(conversation_id)
            pipe.hgetall(conversation.meta)
            pipe.zrange(conversation.times, 0, 0, withscores=True)
            pipe.zrange(conversation.times, -1, -1, withscores=True)
        for session_id, conversation_id in sessions.items():
            session = keys.conversation(conversation_id).session(session_id)
            pipe.hmget(session, "user_id", "is_active")
        replies = iter(await pipe.execute())
        by_role: Counter[str] = Counter()
        times: list[float] = []
        owned, stale = 0, []
        for conversation_id in conversation_ids:
            meta, first, last = next(replies), next(replies), next(replies)
            if meta.get("owner") != user_id:
                stale.append(conversation_id)
                continue
            owned += 1
            by_role.update({f[2:]: int(n) for f, n in meta.items() if f[:2] == "n:" and int(n)})
            times += [score for _, score in [*first, *last]]
        confirmed = [next(replies) for _ in sessions]
        if stale:
            await self._context.client.srem(user.conversations, *stale)
        mine = [active for owner, active in confirmed if owner == user_id]
        return {
            "user_id": user_id,
            "total_messages": sum(by_role.values()),
            "messages_by_role": dict(by_role),
            "first_message_at": from_micros(min(times)) if times else None,
            "last_message_at": from_micros(max(times)) if times else None,
            "conversations": owned,
            "sessions": len(mine),
            "active_sessions": mine.count("1"),
            "memories": int(memories),
        }

    async def delete(self, user_id: str) -> dict[str, int]:
        """Delete the user and everything they own; returns what was deleted.

        Each conversation and memory goes in one script; a write racing the deletion into
        a conversation created meanwhile survives it.
        """
        keys = self._context.keys
        user = keys.user(user_id)
        deleted = {"messages": 0, "memories": 0, "sessions": 0, "conversations": 0, "users": 0}
        for conversation_id in await self._context.smembers(user.conversations):
            conversation = keys.conversation(conversation_id)
            reply = await self._context.scripts.run(
                "drop_conversation",
                [*conversation.fixed(), conversation.refs],
                [user_id, self._context.document_prefix(conversation_id)],
            )
            if reply[0] != "ok":
                continue
            deleted["messages"] += int(reply[1])
            deleted["sessions"] += int(reply[2])
            deleted["conversations"] += 1
            refs = {str(k): str(v) for k, v in zip(reply[3::2], reply[4::2], strict=True)}
            await forget_conversation(self._context, self._conversations, conversation_id, refs)
        for memory_id in await self._context.zrange(user.memories, 0, -1):
            deleted["memories"] += await self._memories.drop(user_id, uuid.UUID(memory_id))
        pipe = self._context.pipeline()
        pipe.exists(user.profile)
        pipe.delete(user.profile, user.conversations, user.sessions, user.active)
        pipe.delete(user.documents(MESSAGES), user.documents(MEMORIES))
        exists, *_ = await pipe.execute()
        deleted["users"] = int(exists)
        return deleted
