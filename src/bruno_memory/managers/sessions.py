"""Sessions and the conversation context an assistant works with."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bruno_core.models.context import SessionContext, UserContext
from bruno_core.models.message import Message, MessageRole
from sqlalchemy.ext.asyncio import AsyncConnection

from bruno_memory.db import models
from bruno_memory.db.engine import Database
from bruno_memory.db.scoping import DataScope
from bruno_memory.managers.changes import CONVERSATION, ChangeFeed, cache_version
from bruno_memory.managers.ownership import open_conversation
from bruno_memory.mapping import (
    decode_messages,
    encode_messages,
    message_from_row,
    new_session_row,
    session_from_row,
    user_from_row,
)
from bruno_memory.ports.cache import read_through
from bruno_memory.ports.storage import ContextParts
from bruno_memory.repositories import reads
from bruno_memory.uow import Change, UnitOfWork
from bruno_memory.window import context_window


class SessionManager:
    """Session lifecycle and context assembly over one database."""

    def __init__(self, database: Database, changes: ChangeFeed) -> None:
        self._database = database
        self._changes = changes

    async def start(
        self,
        user_id: str,
        conversation_id: str,
        metadata: dict[str, Any] | None,
        *,
        reuse: bool,
        session_id: str | None = None,
    ) -> SessionContext | None:
        """Start a session in the conversation, which becomes the user's (with the id
        ``session_id``: a taken one is a conflict of the insert). With ``reuse``, None when
        the conversation has a session already (looked up inside the write, so two callers
        never both start one)."""
        async with UnitOfWork(self._database, write=True) as uow:
            if reuse and await uow.sessions.latest_of_conversation(conversation_id) is not None:
                return None
            row = await self._start(uow, user_id, conversation_id, metadata, session_id)
            uow.record(
                Change(
                    "create_session",
                    user_id=user_id,
                    conversation_id=conversation_id,
                    item_ids=(row.id,),
                )
            )
            await uow.commit()
        session = session_from_row(row)
        await self._changes.session_started(session)
        return session

    async def get(self, session_id: str) -> SessionContext | None:
        """The session, or None if there is none with that id."""
        # Not cached: a cached session would be checked against the database by a read
        # that costs as much as reading the session (see bruno_memory.adapters.cache.redis).
        async with UnitOfWork(self._database) as uow:
            row = await uow.sessions.get(session_id)
            return None if row is None else session_from_row(row)

    async def end(self, session_id: str, now: dt.datetime) -> bool:
        """Close the session (closing a closed session changes nothing); whether it exists."""
        async with UnitOfWork(self._database, write=True) as uow:
            row = await uow.sessions.get(session_id)
            if row is None:
                return False
            ended = await uow.sessions.end(session_id, now)
            uow.record(Change("end_session", user_id=row.user_id, item_ids=(session_id,)))
            await uow.commit()
        if ended:
            await self._changes.session_ended(session_from_row(row))
        return True

    async def read_context(
        self, user_id: str, wanted: str | None, window: int
    ) -> ContextParts | None:
        """The context of the session ``wanted`` names (or the user's latest open one): the
        session with its owner, then the window, two statements on one pooled connection
        (the window from the cache when stored under the version read there); None when
        there is no such session."""
        async with self._database.reading() as connection:
            row = await reads.session_with_owner(connection, user_id, wanted)
            if row is None:
                return None
            session = session_from_row(row)
            owner_known = getattr(row, reads.OWNER_PREFIX + "id") is not None
            user = (
                user_from_row(row, reads.OWNER_PREFIX)
                if owner_known
                else UserContext(user_id=session.user_id)
            )
            cache = self._changes.cache
            conversation_id = session.conversation_id
            version = None if cache is None else await cache_version(connection, conversation_id)
            messages = await read_through(
                cache,
                (CONVERSATION, conversation_id),
                f"context:{window}",
                version,
                lambda: _window(connection, self._database, conversation_id, window),
                encode_messages,
                decode_messages,
            )
        return ContextParts(session=session, user=user, messages=messages)

    async def page(
        self, user_id: str, *, active: bool | None, after: str | None, limit: int
    ) -> list[SessionContext]:
        """A keyset page of the user's sessions, by id."""
        async with UnitOfWork(self._database, scope=DataScope(user_id=user_id)) as uow:
            rows = await uow.sessions.page_in_scope(active=active, after=after, limit=limit)
            return [session_from_row(row) for row in rows]

    @staticmethod
    async def _start(
        uow: UnitOfWork,
        user_id: str,
        conversation_id: str,
        metadata: dict[str, Any] | None,
        session_id: str | None,
    ) -> models.Session:
        await open_conversation(uow, conversation_id, user_id)
        row = new_session_row(user_id=user_id, conversation_id=conversation_id, metadata=metadata)
        if session_id is not None:
            row.id = session_id
        await uow.sessions.add(row)
        return row


async def _window(
    connection: AsyncConnection, database: Database, conversation_id: str, size: int
) -> list[Message]:
    """The context window of the conversation's history (see :func:`context_window`)."""
    lineage = await database.lineages.of(connection, conversation_id)
    recent, earlier = await reads.window_rows(connection, lineage, size)
    rows = context_window(
        recent,
        earlier,
        size,
        is_system=lambda row: row.role == MessageRole.SYSTEM.value,
        position=lambda row: row.seq,
    )
    return [message_from_row(row) for row in rows]
