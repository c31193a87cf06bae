"""The facade: :class:`MemoryStore`, bruno-core's ``MemoryInterface`` over SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bruno_core.interfaces.embedding import EmbeddingInterface
from bruno_core.interfaces.memory import MemoryInterface
from bruno_core.models.context import ConversationContext, SessionContext
from bruno_core.models.memory import MemoryEntry, MemoryQuery
from bruno_core.models.message import Message
from pydantic import ValidationError

from bruno_memory.adapters.cache.base import CacheStats, EntityCache
from bruno_memory.adapters.embeddings import default_embedder, embedder_key
from bruno_memory.adapters.events.base import EventSink
from bruno_memory.adapters.vector.base import ItemKind, VectorIndex
from bruno_memory.adapters.vector.sql import SqlVectorIndex
from bruno_memory.db import migrate as migrations
from bruno_memory.db.engine import Database
from bruno_memory.db.fulltext import MatchMode
from bruno_memory.db.types import as_utc
from bruno_memory.errors import ConfigurationError, SchemaError, translate_errors
from bruno_memory.managers import ConversationManager, MemoryManager, SessionManager, UserManager
from bruno_memory.managers.changes import ChangeFeed
from bruno_memory.managers.indexer import EmbeddingIndexer
from bruno_memory.managers.retriever import Retriever
from bruno_memory.managers.semantic import SemanticSearch
from bruno_memory.repositories.scope import MetadataValue, SearchScope
from bruno_memory.results import SearchHit, SearchMode
from bruno_memory.settings import MemorySettings
from bruno_memory.wiring import (
    DefaultEmbedder,
    RedisServices,
    external_index,
    redis_settings,
    retrieval_settings,
)

if TYPE_CHECKING:
    from bruno_memory.adapters.events.consumer import RedisEventStream


class MemoryStore(MemoryInterface):
    """Conversation history, sessions, user context and long-term memory in one SQL database.

    Implements every method of bruno-core's ``MemoryInterface`` with its signature and
    documented behaviour, plus the methods bruno-core's own callers look for
    (``retrieve_context``, ``search_memories``, ``clear_conversation``) and batch, paging and
    erasure operations. Use it as ``async with create_memory(url) as memory: ...``; it also
    opens itself on first use. All errors are :class:`~bruno_memory.errors.BrunoMemoryError`.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: MemorySettings | None = None,
        embedder: EmbeddingInterface | DefaultEmbedder | None = DefaultEmbedder.LOCAL,
        vector_index: VectorIndex | None = None,
        cache: EntityCache | None = None,
        events: EventSink | None = None,
        **options: Any,
    ) -> None:
        overrides = {**options, **({"database_url": url} if url is not None else {})}
        base = settings.model_dump() if settings is not None else {}
        try:
            settings = MemorySettings(**{**base, **overrides})
        except ValidationError as exc:
            raise ConfigurationError(f"invalid memory settings: {exc}", cause=exc) from exc
        self.settings = settings
        self._database = Database(settings)
        if embedder is DefaultEmbedder.LOCAL:
            embedder = default_embedder()
        self.embedder = embedder
        self._external_index = vector_index or external_index(settings)
        self._indexer: EmbeddingIndexer | None = None
        semantic = None
        if embedder is not None:
            search_index = self._external_index or SqlVectorIndex(self._database)
            semantic = SemanticSearch(embedder, embedder_key(embedder), search_index)
        self._retriever = Retriever(self._database, retrieval_settings(settings), semantic)
        if embedder is not None:
            self._indexer = EmbeddingIndexer(
                self._database,
                embedder,
                external_index=self._external_index,
                batch_size=settings.embedding_batch_size,
                on_indexed=self._retriever.invalidate,
            )
        self._given = (cache, events)
        self._redis: RedisServices | None = None
        self._changes = ChangeFeed(cache=cache, events=events, indexer=self._indexer)
        self._conversations = ConversationManager(self._database, self._indexer, self._changes)
        self._sessions = SessionManager(self._database, self._changes)
        self._memories = MemoryManager(self._database, self._indexer, semantic, self._changes)
        self._users = UserManager(self._database, self._changes)
        self._open = False
        self._opening = asyncio.Lock()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._database.dialect

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Check the schema, upgrading it first when ``auto_migrate`` is on. Idempotent."""
        if self._open:
            return
        async with self._opening:
            if self._open:
                return
            with translate_errors("open"):
                if self.settings.auto_migrate:
                    await migrations.upgrade(self._database.engine)
                current = await migrations.current_revision(self._database.engine)
            head = migrations.head_revision()
            if current != head:
                raise SchemaError(
                    f"the database is at revision {current!r}, this version needs {head!r}: "
                    "run `alembic upgrade head` or open with auto_migrate=True",
                    details={"current": current, "head": head},
                )
            if self._indexer is not None:
                with translate_errors("open"):
                    await self._indexer.start()
            if self.settings.redis_url is not None:
                self._redis = RedisServices.start(self.settings)
                self._changes.cache = self._given[0] or self._redis.cache
                self._changes.events = self._given[1] or self._redis.events
            self._open = True

    async def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision`` with the packaged Alembic chain."""
        with translate_errors("migrate"):
            await migrations.upgrade(self._database.engine, revision)

    async def close(self) -> None:
        """Stop background embedding and release every connection. The store can reopen."""
        if self._indexer is not None:
            await self._indexer.stop()
        if self._external_index is not None:
            await self._external_index.close()
        if self._redis is not None:
            await self._redis.close()
            self._redis = None
            self._changes.cache, self._changes.events = self._given
        await self._database.dispose()
        self._open = False

    def event_stream(self) -> RedisEventStream:
        """Follow the store's events (messages stored, sessions started and ended) live, or
        through consumer groups for at-least-once delivery. Needs ``redis_url``::

            async with memory.event_stream() as stream:
                async for item in stream.follow_group("indexers", "worker-1", user_id="alice"):
                    ...
                    await item.ack()
        """
        from bruno_memory.adapters.events.consumer import RedisEventStream

        return RedisEventStream(redis_settings(self.settings))

    @property
    def cache_stats(self) -> CacheStats | None:
        """Hits, misses, errors and fallbacks of the cache, if the store has one."""
        cache = self._changes.cache
        return None if cache is None else cache.stats

    async def __aenter__(self) -> MemoryStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _operation(self, name: str, *, writes: bool = False) -> AsyncIterator[None]:
        await self.open()
        try:
            with translate_errors(name):
                yield
        finally:
            if writes:
                self._retriever.invalidate()

    # -- messages --------------------------------------------------------------------------

    async def store_message(self, message: Message, conversation_id: str) -> None:
        """Append a message to a conversation (created on first use)."""
        async with self._operation("store_message", writes=True):
            await self._conversations.store([message], conversation_id)

    async def store_messages(self, messages: Sequence[Message], conversation_id: str) -> None:
        """Append messages to a conversation in one transaction: all land, or none."""
        async with self._operation("store_messages", writes=True):
            await self._conversations.store(messages, conversation_id)

    async def retrieve_messages(
        self, conversation_id: str, limit: int | None = None
    ) -> list[Message]:
        """The conversation's messages, most recent first; all of them when ``limit`` is None."""
        async with self._operation("retrieve_messages"):
            return await self._conversations.latest(conversation_id, limit)

    async def list_messages(
        self,
        conversation_id: str,
        *,
        before: uuid.UUID | str | None = None,
        after: uuid.UUID | str | None = None,
        limit: int = 50,
    ) -> list[Message]:
        """A page of the conversation, oldest first, by keyset on message-id cursors.

        ``after=id`` gives the messages following that one, ``before=id`` those preceding
        it; with neither, the conversation's first messages.
        """
        async with self._operation("list_messages"):
            return await self._conversations.page(
                conversation_id, before=before, after=after, limit=limit
            )

    async def search_messages(
        self, query: str, user_id: str | None = None, limit: int = 10
    ) -> list[Message]:
        """Messages containing every word of ``query``, best match first.

        Query text is searched as words: operators, quotes and wildcards have no effect.
        An empty query raises :class:`~bruno_memory.errors.InvalidQueryError`.
        """
        async with self._operation("search_messages"):
            return await self._conversations.search(
                query, user_id=user_id, limit=limit, mode=MatchMode.ALL
            )

    async def retrieve_context(self, user_id: str, query: str, limit: int = 5) -> list[Message]:
        """The user's messages most relevant to ``query`` (any of its words), best first.

        bruno-core's ``ContextManager`` calls this with the last user message.
        """
        async with self._operation("retrieve_context"):
            return await self._conversations.search(
                query, user_id=user_id, limit=limit, mode=MatchMode.ANY
            )

    async def clear_history(self, conversation_id: str, keep_system_messages: bool = True) -> None:
        """Delete a conversation's messages, keeping its system messages unless told not to."""
        async with self._operation("clear_history", writes=True):
            await self._conversations.clear(
                conversation_id, keep_system_messages=keep_system_messages
            )

    async def clear_conversation(self, conversation_id: str) -> None:
        """Delete every message of a conversation, system messages included."""
        await self.clear_history(conversation_id, keep_system_messages=False)

    # -- memories --------------------------------------------------------------------------

    async def store_memory(self, memory_entry: MemoryEntry) -> None:
        """Store a new memory entry."""
        async with self._operation("store_memory", writes=True):
            await self._memories.store(memory_entry)

    async def retrieve_memories(self, query: MemoryQuery) -> list[MemoryEntry]:
        """Memory entries matching every filter of ``query``.

        With ``query_text`` they are ranked by full-text relevance; otherwise by importance,
        then recency. Each returned entry counts one access.
        """
        async with self._operation("retrieve_memories"):
            return await self._memories.query(query)

    async def search_memories(
        self, query: str, user_id: str | None = None, limit: int = 10
    ) -> list[MemoryEntry]:
        """Unexpired memory entries containing every word of ``query``, best first."""
        async with self._operation("search_memories"):
            return await self._memories.search(query, user_id=user_id, limit=limit)

    async def get_memory(self, memory_id: uuid.UUID | str) -> MemoryEntry | None:
        """The memory entry with that id, or None."""
        async with self._operation("get_memory"):
            return await self._memories.get(memory_id)

    async def update_memory(self, memory_entry: MemoryEntry) -> MemoryEntry:
        """Replace a stored entry's content and metadata; returns it as stored."""
        async with self._operation("update_memory", writes=True):
            return await self._memories.update(memory_entry)

    async def delete_memory(self, memory_id: str) -> None:
        """Delete a memory entry; raises MemoryNotFoundError when there is none."""
        async with self._operation("delete_memory", writes=True):
            await self._memories.delete(memory_id)

    # -- sessions and context --------------------------------------------------------------

    async def create_session(
        self, user_id: str, metadata: dict[str, Any] | None = None
    ) -> SessionContext:
        """Start a session, with a new conversation, for the user."""
        async with self._operation("create_session", writes=True):
            return await self._sessions.create(user_id, metadata)

    async def get_session(self, session_id: str) -> SessionContext | None:
        """The session, or None when there is none with that id."""
        async with self._operation("get_session"):
            return await self._sessions.get(session_id)

    async def end_session(self, session_id: str) -> None:
        """End a session; raises SessionNotFoundError when there is none with that id."""
        async with self._operation("end_session", writes=True):
            await self._sessions.end(session_id)

    async def get_context(self, user_id: str, session_id: str | None = None) -> ConversationContext:
        """The user's conversation context: user, session and the recent message window.

        ``session_id`` may be a session id or a conversation id (bruno-core's assistant
        passes the latter); without it, the user's latest active session is used. When none
        matches, a session is started. The window holds the last ``context_window``
        messages, chronologically, with earlier system messages kept in front.
        """
        async with self._operation("get_context", writes=True):
            return await self._sessions.context(user_id, session_id, self.settings.context_window)

    # -- retrieval ---------------------------------------------------------------------------

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        conversation_id: str | None = None,
        limit: int = 10,
        mode: SearchMode = "hybrid",
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        filters: Mapping[str, MetadataValue] | None = None,
        kinds: Sequence[ItemKind] = ("message", "memory"),
    ) -> list[SearchHit]:
        """Messages and memory entries relevant to ``query``, best first.

        ``mode``: ``"exact"`` (the query as a phrase), ``"fulltext"``, ``"semantic"`` (needs
        an embedder) or ``"hybrid"`` (both fused; full-text alone without an embedder).
        ``since`` (inclusive) and ``until`` (exclusive) bound message timestamps and memory
        creation times; ``filters`` match top-level metadata values (a memory's custom
        fields). Each hit carries the item, its score and the signals that matched.
        """
        async with self._operation("search"):
            scope = SearchScope(
                user_id=user_id,
                conversation_id=conversation_id,
                since=as_utc(since) if since is not None else None,
                until=as_utc(until) if until is not None else None,
                metadata=dict(filters or {}),
            )
            return await self._retriever.search(
                query, scope=scope, limit=limit, mode=mode, kinds=kinds
            )

    async def wait_for_embeddings(self) -> None:
        """Return once every stored message and memory is embedded (no-op without embedder).

        Embeds what is queued in this task, retries included; raises the embedder's error
        (an :class:`~bruno_memory.adapters.embeddings.EmbeddingError`) if it fails.
        """
        if self._indexer is not None:
            async with self._operation("wait_for_embeddings"):
                await self._indexer.drain()

    async def embedding_backlog(self) -> int:
        """How many messages and memories wait to be embedded (0 without embedder)."""
        if self._indexer is None:
            return 0
        async with self._operation("embedding_backlog"):
            return await self._indexer.backlog()

    # -- users -----------------------------------------------------------------------------

    async def get_statistics(self, user_id: str) -> dict[str, Any]:
        """Counts of the user's messages (total and per role), conversations, sessions and
        memories, and the time of their first and last message."""
        async with self._operation("get_statistics"):
            return await self._users.statistics(user_id)

    async def delete_user(self, user_id: str) -> dict[str, int]:
        """Delete the user and all they own in one transaction; returns what was deleted."""
        async with self._operation("delete_user", writes=True):
            return await self._users.delete(user_id)
