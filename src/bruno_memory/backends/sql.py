"""The SQL storage: the system of record on SQLite or PostgreSQL.

Each operation is one unit of work over the repositories (see :mod:`bruno_memory.managers`);
what follows a commit (cache invalidation, events, embedding) goes through the
:class:`~bruno_memory.managers.changes.ChangeFeed`. Inputs arrive validated by the facade.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from bruno_core.interfaces.embedding import EmbeddingInterface
from bruno_core.models.context import SessionContext, UserContext
from bruno_core.models.memory import MemoryEntry, MemoryQuery
from bruno_core.models.message import Message

from bruno_memory.capabilities import Capability
from bruno_memory.db import migrate as migrations
from bruno_memory.db.engine import Database
from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.db.lineage import is_root
from bruno_memory.db.models import ACTIVE, ARCHIVED
from bruno_memory.errors import SchemaError, translate_errors
from bruno_memory.listing import ConversationInfo
from bruno_memory.managers import ConversationManager, MemoryManager, SessionManager, UserManager
from bruno_memory.managers.analytics import AnalyticsManager
from bruno_memory.managers.branches import BranchManager
from bruno_memory.managers.changes import ChangeFeed
from bruno_memory.managers.indexer import EmbeddingIndexer
from bruno_memory.managers.retriever import Retriever, SqlCandidates
from bruno_memory.managers.summaries import SummaryManager
from bruno_memory.managers.transfer import TransferManager
from bruno_memory.managers.vectors import SqlVectorIndex
from bruno_memory.ports.cache import CacheStats, EntityCache
from bruno_memory.ports.embedding import embedder_key
from bruno_memory.ports.events import EventSink
from bruno_memory.ports.scope import SearchScope
from bruno_memory.ports.storage import (
    Analysis,
    Archival,
    Branching,
    ContextParts,
    Expiry,
    MemoryCursor,
    Pruning,
    Retrieval,
    Schema,
    Summaries,
    Transfer,
    UserListing,
)
from bruno_memory.ports.vector import ItemKind, VectorIndex
from bruno_memory.results import SearchHit, SearchMode
from bruno_memory.retrieval.options import retrieval_settings
from bruno_memory.retrieval.semantic import SemanticSearch
from bruno_memory.settings import MemorySettings
from bruno_memory.user_context import UserContextPatch
from bruno_memory.wiring import RedisServices, redis_settings

if TYPE_CHECKING:
    from bruno_memory.adapters.events.consumer import RedisEventStream


class SqlStorage:
    """Conversations, sessions, memories and users in one SQL database (the system of
    record), with semantic retrieval when an embedder is given and an optional Redis cache
    and event streams (``settings.cache.url``)."""

    def __init__(
        self,
        settings: MemorySettings,
        *,
        embedder: EmbeddingInterface | None,
        vector_index: VectorIndex | None,
        cache: EntityCache | None = None,
        events: EventSink | None = None,
    ) -> None:
        self.settings = settings
        self.database = Database(settings)
        self.backend = self.database.dialect
        self.context_window = settings.context.window
        self.embedder = embedder
        self._external_index = vector_index
        self._indexer: EmbeddingIndexer | None = None
        semantic = None
        if embedder is not None:
            search_index = vector_index or SqlVectorIndex(self.database)
            semantic = SemanticSearch(embedder, embedder_key(embedder), search_index)
            self._indexer = EmbeddingIndexer(
                self.database,
                embedder,
                external_index=vector_index,
                batch_size=settings.embedding.batch_size,
                on_indexed=self._invalidate_searches,
            )
        self._retriever = Retriever(
            SqlCandidates(self.database), retrieval_settings(settings.search), semantic
        )
        self._given = (cache, events)
        self._redis: RedisServices | None = None
        self._changes = ChangeFeed(cache=cache, events=events, indexer=self._indexer)
        self._memories = MemoryManager(self.database, self._indexer, semantic, self._changes)
        self.retrieval: Retrieval | None = _SqlRetrieval(
            self.database, self._retriever, self._indexer, self._memories
        )
        self.schema: Schema | None = self
        self.expiry: Expiry | None = None
        self._conversations = ConversationManager(self.database, self._indexer, self._changes)
        self._sessions = SessionManager(self.database, self._changes)
        self._users = UserManager(self.database, self._changes)
        self.summaries: Summaries | None = SummaryManager(self.database)
        self.branching: Branching | None = BranchManager(self.database)
        self.archival: Archival | None = self
        self.pruning: Pruning | None = _SqlPruning(self._memories, self._invalidate_searches)
        self.user_listing: UserListing | None = self
        self.transfer: Transfer | None = TransferManager(
            self.database,
            self._changes,
            external_index=vector_index,
            on_loaded=self._invalidate_searches,
        )
        self.analytics: Analysis | None = AnalyticsManager(self.database)
        self.capabilities: frozenset[Capability] = self._capabilities()
        self._open = False
        self._opening = asyncio.Lock()

    def _capabilities(self) -> frozenset[Capability]:
        found = {
            Capability.FULL_TEXT,
            Capability.RETRIEVAL,
            Capability.TRANSACTIONS,
            Capability.MIGRATIONS,
            Capability.COMPRESSION,
            Capability.BRANCHING,
            Capability.ARCHIVE,
            Capability.PRUNING,
            Capability.USER_LISTING,
            Capability.TRANSFER,
            Capability.ANALYTICS,
        }
        if self.embedder is not None:
            found.add(Capability.SEMANTIC)
        if self.settings.cache.url is not None or self._given[0] is not None:
            found.add(Capability.CACHE)
        if self.settings.cache.url is not None and self.settings.cache.streams:
            found.add(Capability.EVENT_STREAMS)
        return frozenset(found)

    def _invalidate_searches(self) -> None:
        self._retriever.invalidate()

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Check the schema, upgrading it first when ``database.auto_migrate`` is on; start the
        background indexer and the Redis services. Idempotent."""
        if self._open:
            return
        async with self._opening:
            if self._open:
                return
            with translate_errors("open"):
                if self.settings.database.auto_migrate:
                    await migrations.upgrade(self.database.engine)
                current = await migrations.current_revision(self.database.engine)
            head = migrations.head_revision()
            if current != head:
                raise SchemaError(
                    f"the database is at revision {current!r}, this version needs {head!r}: "
                    "run `alembic upgrade head` or open with database_auto_migrate=True",
                    details={"current": current, "head": head},
                )
            if self._indexer is not None:
                with translate_errors("open"):
                    await self._indexer.start()
            if self.settings.cache.url is not None:
                self._redis = RedisServices.start(self.settings)
                self._changes.cache = self._given[0] or self._redis.cache
                self._changes.events = self._given[1] or self._redis.events
            self._open = True

    async def migrate(self, revision: str) -> None:
        """Upgrade the schema to ``revision`` with the packaged Alembic chain."""
        with translate_errors("migrate"):
            await migrations.upgrade(self.database.engine, revision)

    async def close(self) -> None:
        """Stop background embedding and release every connection."""
        if self._indexer is not None:
            await self._indexer.stop()
        if self._external_index is not None:
            await self._external_index.close()
        if self._redis is not None:
            await self._redis.close()
            self._redis = None
            self._changes.cache, self._changes.events = self._given
        await self.database.dispose()
        self._open = False

    async def ping(self) -> None:
        """``SELECT 1`` on a pooled connection."""
        with translate_errors("ping"):
            async with self.database.reading() as connection:
                await connection.execute(sa.text("SELECT 1"))

    @property
    def cache_stats(self) -> CacheStats | None:
        """Hits, misses, errors and fallbacks of the cache, if there is one."""
        cache = self._changes.cache
        return None if cache is None else cache.stats

    def event_stream(self) -> RedisEventStream | None:
        """The Redis Streams this storage publishes to, or None without a cache URL."""
        if Capability.EVENT_STREAMS not in self.capabilities:
            return None
        from bruno_memory.adapters.events.consumer import RedisEventStream

        return RedisEventStream(redis_settings(self.settings))

    # -- messages --------------------------------------------------------------------------

    async def append_messages(
        self, conversation_id: str, messages: Sequence[Message], user_id: str | None
    ) -> str | None:
        owner = await self._conversations.store(messages, conversation_id, user_id)
        self._invalidate_searches()
        return owner

    async def latest_messages(self, conversation_id: str, limit: int | None) -> list[Message]:
        return await self._conversations.latest(conversation_id, limit)

    async def page_messages(
        self,
        conversation_id: str,
        *,
        after: uuid.UUID | None,
        before: uuid.UUID | None,
        limit: int,
        include_archived: bool = False,
    ) -> list[Message]:
        return await self._conversations.page(
            conversation_id,
            before=before,
            after=after,
            limit=limit,
            include_archived=include_archived,
        )

    async def archive(self, conversation_id: str, before: dt.datetime) -> int:
        moved = await self._conversations.set_state(
            conversation_id, to=ARCHIVED, before=before, after=None
        )
        self._invalidate_searches()
        return moved

    async def restore(self, conversation_id: str, after: dt.datetime | None) -> int:
        moved = await self._conversations.set_state(
            conversation_id, to=ACTIVE, before=None, after=after
        )
        self._invalidate_searches()
        return moved

    async def clear_messages(self, conversation_id: str, *, keep_system: bool) -> int:
        deleted = await self._conversations.clear(conversation_id, keep_system_messages=keep_system)
        self._invalidate_searches()
        return deleted

    async def search_messages(
        self, query: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[Message]:
        return await self._conversations.search(query, user_id=user_id, limit=limit)

    # -- sessions --------------------------------------------------------------------------

    async def start_session(
        self,
        user_id: str,
        conversation_id: str,
        metadata: dict[str, Any] | None,
        *,
        reuse: bool,
        session_id: str | None = None,
    ) -> SessionContext | None:
        started = await self._sessions.start(
            user_id, conversation_id, metadata, reuse=reuse, session_id=session_id
        )
        self._invalidate_searches()  # starting may claim the conversation and its messages
        return started

    async def get_session(self, session_id: str) -> SessionContext | None:
        return await self._sessions.get(session_id)

    async def page_sessions(
        self, user_id: str, *, active: bool | None, after: str | None, limit: int
    ) -> list[SessionContext]:
        return await self._sessions.page(user_id, active=active, after=after, limit=limit)

    async def page_conversations(
        self, user_id: str, *, after: str | None, limit: int
    ) -> list[ConversationInfo]:
        return await self._conversations.page_owned(user_id, after=after, limit=limit)

    async def end_session(self, session_id: str, now: dt.datetime) -> bool:
        return await self._sessions.end(session_id, now)

    async def read_context(
        self, user_id: str, wanted: str | None, window: int
    ) -> ContextParts | None:
        return await self._sessions.read_context(user_id, wanted, window)

    # -- memories --------------------------------------------------------------------------

    async def put_memory(self, entry: MemoryEntry) -> None:
        await self._memories.store(entry)
        self._invalidate_searches()

    async def get_memory(self, memory_id: uuid.UUID) -> MemoryEntry | None:
        return await self._memories.get(memory_id)

    async def update_memory(self, entry: MemoryEntry) -> MemoryEntry:
        updated = await self._memories.update(entry)
        self._invalidate_searches()
        return updated

    async def drop_memory(self, memory_id: uuid.UUID) -> bool:
        dropped = await self._memories.delete(memory_id)
        self._invalidate_searches()
        return dropped

    async def select_memories(
        self, query: MemoryQuery, text: FullTextQuery | None
    ) -> list[MemoryEntry]:
        return await self._memories.query(query, text)

    async def search_memories(
        self, query: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[MemoryEntry]:
        return await self._memories.search(query, user_id=user_id, limit=limit)

    async def touch_memories(self, entries: Sequence[MemoryEntry]) -> list[MemoryEntry]:
        return await self._memories.touch(entries)

    async def page_memories(
        self,
        user_id: str,
        *,
        after: MemoryCursor | None,
        limit: int,
        include_archived: bool,
    ) -> list[MemoryEntry]:
        return await self._memories.page(
            user_id, after=after, limit=limit, include_archived=include_archived
        )

    # -- users -----------------------------------------------------------------------------

    async def page_users(self, *, after: str | None, limit: int) -> list[UserContext]:
        return await self._users.page(after=after, limit=limit)

    async def get_user(self, user_id: str) -> UserContext | None:
        return await self._users.get(user_id)

    async def update_user(self, user_id: str, patch: UserContextPatch) -> UserContext:
        return await self._users.update(user_id, patch)

    async def statistics(self, user_id: str) -> dict[str, Any]:
        return await self._users.statistics(user_id)

    async def erase_user(self, user_id: str) -> dict[str, int]:
        deleted = await self._users.delete(user_id)
        self._invalidate_searches()
        return deleted


class _SqlPruning:
    """Archived memories of the SQL storage (``memories.archived_at``)."""

    def __init__(self, memories: MemoryManager, written: Callable[[], None]) -> None:
        self._memories = memories
        self._written = written

    async def archive_memories(self, user_id: str, memory_ids: Sequence[uuid.UUID]) -> int:
        moved = await self._memories.archive(user_id, memory_ids)
        self._written()
        return moved

    async def restore_memories(self, user_id: str, memory_ids: Sequence[uuid.UUID] | None) -> int:
        moved = await self._memories.restore(user_id, memory_ids)
        self._written()
        return moved

    async def archived_memories(self, user_id: str) -> list[MemoryEntry]:
        return await self._memories.archived(user_id)


class _SqlRetrieval:
    """Ranked retrieval of the SQL storage (full text, vectors, fusion)."""

    def __init__(
        self,
        database: Database,
        retriever: Retriever,
        indexer: EmbeddingIndexer | None,
        memories: MemoryManager,
    ) -> None:
        self._database = database
        self._retriever = retriever
        self._indexer = indexer
        self._memories = memories

    @property
    def semantic_fallbacks(self) -> int:
        return self._retriever.semantic_fallbacks + self._memories.semantic_fallbacks

    async def search(
        self,
        query: str,
        *,
        scope: SearchScope,
        limit: int,
        mode: SearchMode,
        kinds: tuple[ItemKind, ...],
    ) -> list[SearchHit]:
        """Hits for ``query``; in a branch, over its whole history (its lineage, cached
        after the first read, becomes the scope's spans)."""
        if scope.conversation_id is not None:
            async with self._database.reading() as connection:
                lineage = await self._database.lineages.of(connection, scope.conversation_id)
            if not is_root(lineage):
                spans = tuple((hop.conversation_id, hop.upper) for hop in lineage)
                scope = dataclasses.replace(scope, history=spans)
        return await self._retriever.search(query, scope=scope, limit=limit, mode=mode, kinds=kinds)

    async def wait_for_embeddings(self) -> None:
        if self._indexer is not None:
            await self._indexer.drain()

    async def embedding_backlog(self) -> int:
        return 0 if self._indexer is None else await self._indexer.backlog()

    async def drop_other_embeddings(self) -> dict[str, int]:
        return {} if self._indexer is None else await self._indexer.drop_other_models()
