"""What follows a committed write: cached views dropped, events published, vectors handled.

Managers call one method per kind of change, after their transaction commits (never before:
a cache or a consumer must not see what could still roll back). None of these raise for a
failure of the cache or the event sink: the data is committed; those adapters log, count and
repair on their own.

The cache does not depend on these calls for freshness: the writing transaction itself
gives each conversation whose messages it changes a new ``cache_version``
(:mod:`bruno_memory.adapters.cache.redis`); dropping the views here only frees memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from bruno_core.models.context import SessionContext
from sqlalchemy.ext.asyncio import AsyncConnection

from bruno_memory.db.types import utc_now
from bruno_memory.managers.indexer import EmbeddingIndexer
from bruno_memory.ports.cache import Entity, EntityCache
from bruno_memory.ports.events import EventSink, MemoryEvent, MemoryEventType
from bruno_memory.ports.vector import VectorFilter
from bruno_memory.repositories.conversations import read_cache_version

#: Kinds of entities. Only conversations have cached views; sessions and users are named by
#: the cache settings (their views are not cached: see the cache's module).
CONVERSATION = "conversation"
SESSION = "session"
USER = "user"


async def cache_version(connection: AsyncConnection, conversation_id: str) -> str | None:
    """The version cached views of the conversation are checked against; None (never
    cache) when the conversation does not exist. Read on the connection that then loads
    the view (on a miss), before it: what is loaded is at least as new as the version."""
    exists, version = await read_cache_version(connection, conversation_id)
    if not exists:
        return None
    return "-" if version is None else version  # NULL: not written since revision 0004


class ChangeFeed:
    """Fans a committed change out to the cache, the event sink and the indexer."""

    def __init__(
        self,
        *,
        cache: EntityCache | None = None,
        events: EventSink | None = None,
        indexer: EmbeddingIndexer | None = None,
    ) -> None:
        self.cache = cache
        self.events = events
        self._indexer = indexer

    async def messages_stored(
        self,
        conversation_id: str,
        owner: str | None,
        message_ids: Sequence[str],
        touched_sessions: Iterable[str],
    ) -> None:
        """Messages were appended (and the conversation's open sessions touched)."""
        await self._invalidate([(CONVERSATION, conversation_id)])
        await self._publish(
            MemoryEvent(
                type=MemoryEventType.MESSAGES_STORED,
                user_id=owner,
                conversation_id=conversation_id,
                message_ids=list(message_ids),
                at=utc_now(),
            )
        )
        if self._indexer is not None:
            self._indexer.notify()

    async def conversation_cleared(self, conversation_id: str, kept_roles: Sequence[str]) -> None:
        """Messages of a conversation were deleted (but those with ``kept_roles``)."""
        await self._invalidate([(CONVERSATION, conversation_id)])
        if self._indexer is not None:
            await self._indexer.forget(
                VectorFilter(
                    kinds=("message",),
                    conversation_id=conversation_id,
                    exclude_roles=tuple(kept_roles),
                )
            )

    async def conversation_changed(self, conversation_id: str) -> None:
        """Messages of a conversation changed state (archived or restored)."""
        await self._invalidate([(CONVERSATION, conversation_id)])

    async def records_imported(self, conversation_ids: Sequence[str]) -> None:
        """An import stored records (changing these conversations' messages or sessions)."""
        await self._invalidate([(CONVERSATION, c) for c in conversation_ids])
        if self._indexer is not None:
            self._indexer.notify()

    async def session_started(self, session: SessionContext) -> None:
        """A session began (and may have claimed its conversation)."""
        await self._invalidate([(CONVERSATION, session.conversation_id)])
        await self._publish(self._session_event(MemoryEventType.SESSION_STARTED, session))

    async def session_ended(self, session: SessionContext) -> None:
        """A session was closed."""
        await self._publish(self._session_event(MemoryEventType.SESSION_ENDED, session))

    async def memory_deleted(self, memory_id: uuid.UUID) -> None:
        """A memory entry was deleted: its vectors go from an external index too."""
        if self._indexer is not None:
            await self._indexer.forget_items("memory", [memory_id])

    async def user_deleted(
        self, user_id: str, conversation_ids: Sequence[str], session_ids: Sequence[str]
    ) -> None:
        """A user and everything they owned were deleted."""
        await self._invalidate([(CONVERSATION, c) for c in conversation_ids])
        if self._indexer is not None:
            await self._indexer.forget(VectorFilter(user_id=user_id))
            for conversation_id in conversation_ids:
                await self._indexer.forget(VectorFilter(conversation_id=conversation_id))

    async def _invalidate(self, entities: list[Entity]) -> None:
        if self.cache is not None:
            await self.cache.invalidate(entities)

    async def _publish(self, event: MemoryEvent) -> None:
        if self.events is not None:
            await self.events.publish([event])

    @staticmethod
    def _session_event(kind: MemoryEventType, session: SessionContext) -> MemoryEvent:
        return MemoryEvent(
            type=kind,
            user_id=session.user_id,
            conversation_id=session.conversation_id,
            session_id=session.session_id,
            at=utc_now(),
        )
