"""Sessions and the conversation context an assistant works with."""

from __future__ import annotations

import uuid
from typing import Any

from bruno_core.models.context import ConversationContext, SessionContext, UserContext
from bruno_core.models.message import Message, MessageRole

from bruno_memory.adapters.cache.base import read_through
from bruno_memory.db import models
from bruno_memory.db.engine import Database
from bruno_memory.db.types import utc_now
from bruno_memory.errors import AccessDeniedError, SessionNotFoundError
from bruno_memory.managers.changes import CONVERSATION, ChangeFeed, cache_version
from bruno_memory.managers.ownership import open_conversation
from bruno_memory.mapping import (
    decode_messages,
    encode_messages,
    message_from_row,
    new_session_row,
    require_id,
    session_from_row,
    user_from_row,
)
from bruno_memory.uow import UnitOfWork
from bruno_memory.window import context_window


class SessionManager:
    """Session lifecycle and context assembly over one database."""

    def __init__(self, database: Database, changes: ChangeFeed) -> None:
        self._database = database
        self._changes = changes

    async def create(self, user_id: str, metadata: dict[str, Any] | None) -> SessionContext:
        """Start a session, with a new conversation, for the user."""
        require_id(user_id, "user_id")
        async with UnitOfWork(self._database, write=True) as uow:
            row = await self._start(uow, user_id, str(uuid.uuid4()), metadata)
            await uow.commit()
        session = session_from_row(row)
        await self._changes.session_started(session)
        return session

    async def get(self, session_id: str) -> SessionContext | None:
        """The session, or None if there is none with that id."""
        require_id(session_id, "session_id")
        # Not cached: a cached session would be checked against the database by a read
        # that costs as much as reading the session (see bruno_memory.adapters.cache.redis).
        async with UnitOfWork(self._database) as uow:
            row = await uow.sessions.get(session_id)
            return None if row is None else session_from_row(row)

    async def end(self, session_id: str) -> None:
        """Close the session; closing a closed session changes nothing."""
        require_id(session_id, "session_id")
        async with UnitOfWork(self._database, write=True) as uow:
            row = await uow.sessions.get(session_id)
            if row is None:
                raise SessionNotFoundError(
                    f"no session {session_id!r}", details={"session_id": session_id}
                )
            ended = await uow.sessions.end(session_id, utc_now())
            await uow.commit()
        if ended:
            await self._changes.session_ended(session_from_row(row))

    async def context(
        self, user_id: str, session_or_conversation_id: str | None, window: int
    ) -> ConversationContext:
        """The user's context for a session id or a conversation id (or their latest session).

        When nothing matches, a session is started, so an assistant can always proceed.
        """
        require_id(user_id, "user_id")
        wanted = session_or_conversation_id
        if wanted is not None:
            require_id(wanted, "session_id")
        async with UnitOfWork(self._database) as uow:
            session = await self._find(uow, user_id, wanted)
            if session is not None:
                return await self._assemble(uow, user_id, session, window)
        async with UnitOfWork(self._database, write=True) as uow:
            # Someone may have started it meanwhile: look again inside the write.
            session = await self._find(uow, user_id, wanted)
            started = session is None
            if session is None:
                session = await self._start(uow, user_id, wanted or str(uuid.uuid4()), None)
            await uow.commit()
        if started:
            await self._changes.session_started(session_from_row(session))
        async with UnitOfWork(self._database) as uow:
            return await self._assemble(uow, user_id, session, window)

    async def _assemble(
        self, uow: UnitOfWork, user_id: str, session: models.Session, window: int
    ) -> ConversationContext:
        user = await self._user(uow, user_id)  # one row: not cached, like sessions
        messages = await read_through(
            self._changes.cache,
            (CONVERSATION, session.conversation_id),
            f"context:{window}",
            await cache_version(uow, session.conversation_id),
            lambda: self._window(uow, session.conversation_id, window),
            encode_messages,
            decode_messages,
        )
        return ConversationContext(
            conversation_id=session.conversation_id,
            user=user,
            session=session_from_row(session),
            messages=messages,
            max_messages=window,
        )

    @staticmethod
    async def _user(uow: UnitOfWork, user_id: str) -> UserContext:
        row = await uow.users.get(user_id)
        return user_from_row(row) if row is not None else UserContext(user_id=user_id)

    @staticmethod
    async def _find(uow: UnitOfWork, user_id: str, wanted: str | None) -> models.Session | None:
        if wanted is None:
            return await uow.sessions.latest_active_of_user(user_id)
        session = await uow.sessions.get(wanted) or await uow.sessions.latest_of_conversation(
            wanted
        )
        if session is not None and session.user_id != user_id:
            raise AccessDeniedError(
                "the session belongs to another user",
                details={"session_id": wanted, "user_id": user_id},
            )
        return session

    @staticmethod
    async def _start(
        uow: UnitOfWork, user_id: str, conversation_id: str, metadata: dict[str, Any] | None
    ) -> models.Session:
        await open_conversation(uow, conversation_id, user_id)
        row = new_session_row(user_id=user_id, conversation_id=conversation_id, metadata=metadata)
        await uow.sessions.add(row)
        return row

    @staticmethod
    async def _window(uow: UnitOfWork, conversation_id: str, window: int) -> list[Message]:
        """The context window of the conversation (see :func:`context_window`)."""
        recent = list(reversed(await uow.messages.latest(conversation_id, window)))
        if not recent:
            return []
        earlier = await uow.messages.system_before(conversation_id, recent[0].seq, window)
        rows = context_window(
            recent,
            earlier,
            window,
            is_system=lambda row: row.role == MessageRole.SYSTEM.value,
            position=lambda row: row.seq,
        )
        return [message_from_row(row) for row in rows]
