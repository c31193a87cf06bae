"""Sessions and the conversation context.

A session is a hash in its conversation's slot (so a message written into the conversation
updates its activity in the same script). Finding one by id goes through a locator key
(``<p>:session:<id>``); a user's sessions and open sessions are hashes in the user's slot.
Locators and the user's hashes are hints, written before ``open_session.lua`` commits and
checked against the session itself when read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bruno_core.models.context import SessionContext

from bruno_memory.adapters.redis.codec import (
    iso,
    session_fields,
    session_from_fields,
    user_context,
)
from bruno_memory.backends._redis.context import MAX_ATTEMPTS, RedisContext, best_effort
from bruno_memory.backends._redis.conversations import Conversations
from bruno_memory.db.types import utc_now
from bruno_memory.errors import AccessDeniedError, ConflictError, StorageError
from bruno_memory.mapping import new_session_row, session_from_row
from bruno_memory.ports.storage import ContextParts


class Sessions:
    """Session lifecycle and context assembly."""

    def __init__(self, context: RedisContext, conversations: Conversations) -> None:
        self._context = context
        self._conversations = conversations

    async def get(self, session_id: str) -> SessionContext | None:
        """The session, or None if there is none with that id."""
        conversation_id = await self._context.get(self._context.keys.session_locator(session_id))
        if conversation_id is None:
            return None
        key = self._context.keys.conversation(conversation_id).session(session_id)
        fields = await self._context.hgetall(key)
        return session_from_fields(fields) if fields else None

    async def end(self, session_id: str, now: dt.datetime) -> bool:
        """Close the session (closing a closed session changes nothing); whether it exists."""
        keys = self._context.keys
        conversation_id = await self._context.get(keys.session_locator(session_id))
        if conversation_id is None:
            return False
        conversation = keys.conversation(conversation_id)
        reply = await self._context.scripts.run(
            "end_session",
            [*conversation.fixed(), conversation.refs, conversation.session(session_id)],
            [iso(now), *self._context.ttl_args()],
        )
        if reply[0] == "missing":
            return False
        await self._context.client.hdel(keys.user(str(reply[1])).active, session_id)
        return True

    async def read_context(
        self, user_id: str, wanted: str | None, window: int
    ) -> ContextParts | None:
        """The context of the session ``wanted`` names (or the user's latest open one);
        None when there is no such session."""
        session = await self._find(user_id, wanted)
        if session is None:
            return None
        messages = await self._conversations.window(session.conversation_id, window)
        fields = await self._context.hgetall(self._context.keys.user(user_id).profile)
        return ContextParts(session=session, user=user_context(user_id, fields), messages=messages)

    async def _find(self, user_id: str, wanted: str | None) -> SessionContext | None:
        if wanted is None:
            return await self._latest_open(user_id)
        return await self.get(wanted) or await self._latest_of_conversation(wanted)

    async def _latest_of_conversation(self, conversation_id: str) -> SessionContext | None:
        """The conversation's most recent session, open ones first."""
        conversation = self._context.keys.conversation(conversation_id)
        sessions = await self._read_sessions(await self._context.smembers(conversation.sessions))
        return max(
            sessions.values(),
            key=lambda session: (session.is_active, session.last_activity),
            default=None,
        )

    async def _latest_open(self, user_id: str) -> SessionContext | None:
        """The user's most recently active open session."""
        keys = self._context.keys
        active = await self._context.hgetall(keys.user(user_id).active)
        by_key = {
            keys.conversation(conversation_id).session(session_id): session_id
            for session_id, conversation_id in active.items()
        }
        sessions = await self._read_sessions(list(by_key))
        found = [s for s in sessions.values() if s.is_active and s.user_id == user_id]
        stale = [
            sid for key, sid in by_key.items() if key not in sessions or not sessions[key].is_active
        ]
        if stale:
            await self._context.client.hdel(keys.user(user_id).active, *stale)
        return max(found, key=lambda session: session.last_activity, default=None)

    async def _read_sessions(self, keys: list[str]) -> dict[str, SessionContext]:
        if not keys:
            return {}
        pipe = self._context.pipeline()
        for key in keys:
            pipe.hgetall(key)
        replies = await pipe.execute()
        return {
            key: session_from_fields(fields)
            for key, fields in zip(keys, replies, strict=True)
            if fields
        }

    async def start(
        self,
        user_id: str,
        conversation_id: str,
        metadata: dict[str, Any] | None,
        *,
        reuse: bool,
        session_id: str | None = None,
    ) -> SessionContext | None:
        """Start a session in the conversation, which becomes the user's. With ``reuse``,
        None when the conversation has a session already (checked by the script). A given
        ``session_id`` is claimed first (its locator, set if absent): one that names a
        session that exists raises ConflictError before anything is written."""
        row = new_session_row(user_id=user_id, conversation_id=conversation_id, metadata=metadata)
        if session_id is not None:
            row.id = session_id
            await self._claim_id(session_id, conversation_id)
        session = session_from_row(row)
        conversation = self._context.keys.conversation(conversation_id)
        fields = [item for pair in session_fields(session).items() for item in pair]
        for _ in range(MAX_ATTEMPTS):
            await self._note(session, utc_now())
            reply = await self._context.scripts.run(
                "open_session",
                [*conversation.fixed(), conversation.refs, conversation.session(row.id)],
                [user_id, row.id, "1" if reuse else "0", *self._context.ttl_args(), *fields],
            )
            if reply[0] == "ok":
                return session
            if reply[0] == "conflict":  # its hints are the other session's: left as they are
                raise _taken(row.id)
            denied = reply[0] == "denied"
            await best_effort(self._forget(session, owner=not denied), "forget session hints")
            if reply[0] == "exists":
                return None
            if denied:
                raise AccessDeniedError(
                    "the conversation belongs to another user",
                    details={"conversation_id": conversation_id, "user_id": user_id},
                )
            await self._conversations.claim(conversation_id, user_id)
        raise StorageError(f"conversation {conversation_id!r} kept changing while starting")

    async def _claim_id(self, session_id: str, conversation_id: str) -> None:
        """Take the locator of a given session id; ConflictError if a session has it (a
        locator whose session is gone is stale, and taken over)."""
        locator = self._context.keys.session_locator(session_id)
        if await self._context.client.set(locator, conversation_id, nx=True):
            return
        if await self.get(session_id) is not None:
            raise _taken(session_id)

    async def _note(self, session: SessionContext, now: dt.datetime) -> None:
        """Write the hints of a session about to start."""
        keys = self._context.keys
        user = keys.user(session.user_id)
        pipe = self._context.pipeline()
        pipe.set(keys.session_locator(session.session_id), session.conversation_id)
        pipe.hset(user.sessions, session.session_id, session.conversation_id)
        pipe.hset(user.active, session.session_id, session.conversation_id)
        self._context.note_ownership(pipe, session.user_id, session.conversation_id, now)
        self._context.note_expiry(pipe, session.conversation_id, now)
        await pipe.execute()

    async def _forget(self, session: SessionContext, *, owner: bool) -> None:
        """Remove the hints of a session that did not start (and of owning its
        conversation, unless the user does own it)."""
        keys = self._context.keys
        user = keys.user(session.user_id)
        pipe = self._context.pipeline()
        pipe.delete(keys.session_locator(session.session_id))
        pipe.hdel(user.sessions, session.session_id)
        pipe.hdel(user.active, session.session_id)
        if not owner:
            pipe.srem(user.conversations, session.conversation_id)
        await pipe.execute()


def _taken(session_id: str) -> ConflictError:
    return ConflictError(
        f"a session with id {session_id!r} already exists", details={"id": session_id}
    )
