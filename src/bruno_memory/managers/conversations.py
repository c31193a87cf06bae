"""Messages of conversations: store, read, page, search, clear."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from bruno_core.models.message import Message, MessageRole
from sqlalchemy.ext.asyncio import AsyncConnection

from bruno_memory.db.engine import Database
from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.db.lineage import Lineage
from bruno_memory.db.scoping import DataScope
from bruno_memory.db.types import utc_now
from bruno_memory.errors import MessageNotFoundError, StorageError
from bruno_memory.listing import ConversationInfo
from bruno_memory.managers.changes import CONVERSATION, ChangeFeed, cache_version
from bruno_memory.managers.indexer import EmbeddingIndexer
from bruno_memory.managers.ownership import open_conversation
from bruno_memory.mapping import decode_messages, encode_messages, message_from_row, message_row
from bruno_memory.ports.cache import read_through
from bruno_memory.ports.scope import SearchScope
from bruno_memory.repositories import reads
from bruno_memory.uow import Change, UnitOfWork

#: Most recent messages of a conversation kept in the cache (reads of up to this many hit it).
CACHED_WINDOW = 50


class ConversationManager:
    """Message operations over one database."""

    def __init__(
        self, database: Database, indexer: EmbeddingIndexer | None, changes: ChangeFeed
    ) -> None:
        self._database = database
        self._indexer = indexer
        self._changes = changes

    async def store(
        self, messages: Sequence[Message], conversation_id: str, user_hint: str | None
    ) -> str | None:
        """Append ``messages`` to the conversation in one transaction, in the given order;
        the conversation's owner."""
        now = utc_now()
        rows = [
            message_row(message, conversation_id=conversation_id, user_id=None, seq=0, now=now)
            for message in messages
        ]
        message_ids = tuple(str(message.id) for message in messages)
        async with UnitOfWork(self._database, write=True) as uow:
            first, owner = await self._reserve(uow, conversation_id, len(rows), user_hint)
            for offset, row in enumerate(rows):
                row["seq"] = first + offset
                row["user_id"] = owner
            await uow.messages.insert_many(rows, self._database.settings.database.batch_size)
            touched = await uow.sessions.touch_conversation(conversation_id, now)
            if self._indexer is not None:
                await uow.embeddings.enqueue_messages(
                    self._indexer.model_key, conversation_id, first, first + len(rows) - 1
                )
            uow.record(
                Change(
                    "store_messages",
                    user_id=owner,
                    conversation_id=conversation_id,
                    item_ids=message_ids,
                )
            )
            await uow.commit()
        await self._changes.messages_stored(conversation_id, owner, message_ids, touched)
        return owner

    async def latest(self, conversation_id: str, limit: int | None) -> list[Message]:
        """The conversation's messages, most recent first: one statement on a pooled
        connection; with a cache, a window of up to CACHED_WINDOW is served from it when
        stored under the conversation's version read first on the same connection."""
        cache = self._changes.cache
        async with self._database.reading() as connection:
            if cache is None or limit is None or limit > CACHED_WINDOW:
                return await self._latest(connection, conversation_id, limit)
            recent = await read_through(
                cache,
                (CONVERSATION, conversation_id),
                f"recent:{CACHED_WINDOW}",
                await cache_version(connection, conversation_id),
                lambda: self._latest(connection, conversation_id, CACHED_WINDOW),
                encode_messages,
                decode_messages,
            )
            return recent[:limit]

    async def page(
        self,
        conversation_id: str,
        *,
        before: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
        include_archived: bool = False,
    ) -> list[Message]:
        """A page of the conversation in chronological order, around message-id cursors."""
        async with UnitOfWork(self._database) as uow:
            lineage = await self._database.lineages.of(uow.session, conversation_id)
            before_seq = await self._position(uow, lineage, before, "before")
            after_seq = await self._position(uow, lineage, after, "after")
            rows = await uow.messages.page(
                lineage,
                after_seq=after_seq,
                before_seq=before_seq,
                limit=limit,
                include_archived=include_archived,
            )
            return [message_from_row(row) for row in rows]

    async def page_owned(
        self, user_id: str, *, after: str | None, limit: int
    ) -> list[ConversationInfo]:
        """A keyset page of the conversations the user owns, by id."""
        async with UnitOfWork(self._database, scope=DataScope(user_id=user_id)) as uow:
            rows = await uow.conversations.page_in_scope(after=after, limit=limit)
            return [
                ConversationInfo(
                    conversation_id=row.id,
                    user_id=user_id,
                    parent_id=row.parent_id,
                    fork_message_id=row.fork_message_id,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                )
                for row in rows
            ]

    async def set_state(
        self,
        conversation_id: str,
        *,
        to: str,
        before: dt.datetime | None,
        after: dt.datetime | None,
    ) -> int:
        """Archive or restore the conversation's own non-system messages in a time range,
        in one transaction; views of it and of its branches cached before no longer count."""
        async with UnitOfWork(self._database, write=True) as uow:
            moved = await uow.messages.set_state(conversation_id, to=to, before=before, after=after)
            if moved:
                changed = await uow.conversations.with_branches(conversation_id)
                await uow.conversations.new_cache_versions(changed)
                uow.record(Change(f"{to}_messages", conversation_id=conversation_id))
                await uow.commit()
        if moved:
            await self._changes.conversation_changed(conversation_id)
        return moved

    async def search(
        self, query: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[Message]:
        """Messages matching ``query`` (every word, or any word), best first."""
        async with UnitOfWork(self._database) as uow:
            rows = await uow.messages.search(query, SearchScope(user_id=user_id), limit)
            return [message_from_row(row) for row in rows]

    async def clear(self, conversation_id: str, *, keep_system_messages: bool) -> int:
        """Delete the conversation's messages (but its system messages, if asked)."""
        keep = [MessageRole.SYSTEM.value] if keep_system_messages else []
        async with UnitOfWork(self._database, write=True) as uow:
            deleted = await uow.messages.delete_in_conversation(conversation_id, keep_roles=keep)
            changed = await uow.conversations.with_branches(conversation_id)
            await uow.conversations.new_cache_versions(changed)
            uow.record(Change("clear_history", conversation_id=conversation_id))
            await uow.commit()
        await self._changes.conversation_cleared(conversation_id, keep)
        return deleted

    async def _latest(
        self, connection: AsyncConnection, conversation_id: str, limit: int | None
    ) -> list[Message]:
        lineage = await self._database.lineages.of(connection, conversation_id)
        rows = await reads.latest_messages(connection, lineage, limit)
        return [message_from_row(row) for row in rows]

    @staticmethod
    async def _reserve(
        uow: UnitOfWork, conversation_id: str, count: int, user_id: str | None
    ) -> tuple[int, str | None]:
        """The first of ``count`` new positions and the conversation's owner.

        One statement in the common case: the conversation exists and ``user_id`` (if any)
        owns it. Otherwise the conversation is created, claimed or refused first.
        """
        allocated = await uow.conversations.allocate_positions(conversation_id, count)
        if allocated is not None and (user_id is None or allocated[1] == user_id):
            return allocated
        owner = await open_conversation(uow, conversation_id, user_id)
        if allocated is None:
            allocated = await uow.conversations.allocate_positions(conversation_id, count)
            if allocated is None:
                raise StorageError(f"conversation {conversation_id!r} vanished while writing")
        return allocated[0], owner

    @staticmethod
    async def _position(
        uow: UnitOfWork, lineage: Lineage, cursor: uuid.UUID | None, name: str
    ) -> int | None:
        if cursor is None:
            return None
        seq = await uow.messages.position_of(lineage, cursor)
        if seq is None:
            raise MessageNotFoundError(
                f"the {name!r} message is not in this conversation",
                details={"conversation_id": lineage[0].conversation_id, name: str(cursor)},
            )
        return seq
