"""The Redis storage: the storage port on Redis alone, with no SQL database.

::

    async with create_memory("redis://127.0.0.1:6379/0", session_ttl_seconds=3600) as memory:
        session = await memory.create_session("alice")

Same contract as the SQL storage (the conformance suite runs on both), on a single server,
Sentinel or Redis Cluster. Data layout, atomicity and search: ``docs/redis.md``. A Redis
that is down or too slow raises :class:`~bruno_memory.errors.StorageError`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from bruno_core.models.context import SessionContext, UserContext
from bruno_core.models.memory import MemoryEntry, MemoryQuery
from bruno_core.models.message import Message
from pydantic import ValidationError

from bruno_memory.adapters.redis.client import create_client, parse_redis_url
from bruno_memory.adapters.redis.errors import translate_redis_errors
from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.adapters.redis.settings import RedisSettings
from bruno_memory.backends._redis.candidates import RedisCandidates
from bruno_memory.backends._redis.context import RedisContext
from bruno_memory.backends._redis.conversations import Conversations
from bruno_memory.backends._redis.engine import open_search
from bruno_memory.backends._redis.listing import Listing
from bruno_memory.backends._redis.memories import Memories
from bruno_memory.backends._redis.message_search import MessageSearch
from bruno_memory.backends._redis.scripts import Scripts
from bruno_memory.backends._redis.sessions import Sessions
from bruno_memory.backends._redis.sweeper import Sweeper
from bruno_memory.backends._redis.users import Users
from bruno_memory.capabilities import Capability
from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.errors import ConfigurationError
from bruno_memory.listing import ConversationInfo
from bruno_memory.ports.cache import CacheStats
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
from bruno_memory.retrieval.options import retrieval_settings
from bruno_memory.retrieval.ranking import FullTextRetrieval, Retriever
from bruno_memory.user_context import UserContextPatch


@dataclass(frozen=True)
class _Parts:
    """The backend's parts, over one open client."""

    context: RedisContext
    conversations: Conversations
    search: MessageSearch
    sessions: Sessions
    memories: Memories
    users: Users
    sweeper: Sweeper
    listing: Listing

    @classmethod
    def over(cls, context: RedisContext) -> _Parts:
        conversations = Conversations(context)
        memories = Memories(context)
        return cls(
            context=context,
            conversations=conversations,
            search=MessageSearch(context),
            sessions=Sessions(context, conversations),
            memories=memories,
            users=Users(context, conversations, memories),
            sweeper=Sweeper(context, conversations),
            listing=Listing(context),
        )


class RedisStorage:
    """Conversations, sessions, memories and users in Redis (atomic Lua writes, session
    TTL, message search by RediSearch where the server has it, else an inverted index;
    ranked ``search()`` by full text, with the SQL storage's fusion rules).

    ``url`` and ``options`` are :class:`RedisSettings` fields (environment:
    ``BRUNO_MEMORY_REDIS_*``). It connects when opened.
    """

    backend = "redis"
    schema: Schema | None = None
    cache_stats: CacheStats | None = None

    def __init__(
        self, url: str | None = None, *, settings: RedisSettings | None = None, **options: Any
    ) -> None:
        overrides = {**options, **({"url": url} if url is not None else {})}
        base = settings.model_dump() if settings is not None else {}
        try:
            self.settings = RedisSettings(**{**base, **overrides})
        except ValidationError as exc:
            raise ConfigurationError(f"invalid Redis settings: {exc}", cause=exc) from exc
        parse_redis_url(self.settings.url, cluster=self.settings.cluster)  # fail early
        self.keys = KeySpace(self.settings.key_prefix)
        self.context_window = self.settings.context_window
        expires = self.settings.session_ttl_seconds is not None
        self.expiry: Expiry | None = self if expires else None
        self.summaries: Summaries | None = None
        self.branching: Branching | None = None
        self.archival: Archival | None = None
        self.pruning: Pruning | None = None
        # Redis keeps no index of its users: listing them would scan the keyspace.
        self.user_listing: UserListing | None = None
        self.transfer: Transfer | None = None
        self.analytics: Analysis | None = None
        self.capabilities: frozenset[Capability] = frozenset(
            {
                Capability.FULL_TEXT,
                Capability.RETRIEVAL,
                *((Capability.EXPIRY,) if expires else ()),
            }
        )
        self._parts: _Parts | None = None
        source = RedisCandidates(self._candidate_parts)
        self._retriever = Retriever(source, retrieval_settings(self.settings.search), None)
        self.retrieval: Retrieval | None = FullTextRetrieval(self._retriever, guard=self._operation)
        self._sweeping: asyncio.Task[None] | None = None
        self._opening = asyncio.Lock()

    def _candidate_parts(self) -> tuple[RedisContext, MessageSearch, Memories]:
        assert self._parts is not None, "the storage is open while it searches"
        return self._parts.context, self._parts.search, self._parts.memories

    @asynccontextmanager
    async def _writing(self, name: str) -> AsyncIterator[_Parts]:
        """An operation that writes: cached search results are dropped after it (even when
        it fails, since Redis may have applied it before the failure reached us)."""
        try:
            async with self._operation(name) as parts:
                yield parts
        finally:
            self._retriever.invalidate()

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect (and check that Redis answers), choose the search engine (RediSearch
        when the server has it, see ``search_engine``); start the sweeper when
        conversations expire. Idempotent."""
        if self._parts is not None:
            return
        async with self._opening:
            if self._parts is not None:
                return
            client = create_client(self.settings)
            target = parse_redis_url(self.settings.url, cluster=self.settings.cluster)
            try:
                with translate_redis_errors("open"):
                    await client.ping()
                    redisearch = await open_search(
                        client,
                        self.keys,
                        self.settings.search.engine,
                        cluster=target.topology == "cluster",
                    )
            except BaseException:
                await client.aclose()
                raise
            context = RedisContext(client, self.keys, Scripts(client), self.settings, redisearch)
            self._parts = _Parts.over(context)
            if self.settings.session_ttl_seconds is not None:
                interval = self.settings.sweep_interval_seconds
                self._sweeping = asyncio.create_task(self._parts.sweeper.run(interval))

    @property
    def search_engine(self) -> str | None:
        """What searches messages: ``"redisearch"`` (the server's module) or ``"index"`` (the
        backend's inverted index); None until the storage is open."""
        if self._parts is None:
            return None
        return "index" if self._parts.context.redisearch is None else "redisearch"

    async def close(self) -> None:
        """Stop sweeping and release every connection. The storage can reopen."""
        if self._sweeping is not None:
            self._sweeping.cancel()
            with suppress(asyncio.CancelledError):
                await self._sweeping
            self._sweeping = None
        if self._parts is not None:
            await self._parts.context.client.aclose()
            self._parts = None

    async def ping(self) -> None:
        """``PING``."""
        async with self._operation("ping") as parts:
            await parts.context.client.ping()

    def event_stream(self) -> None:
        """The Redis storage publishes no event streams."""
        return

    @asynccontextmanager
    async def _operation(self, name: str) -> AsyncIterator[_Parts]:
        await self.open()
        assert self._parts is not None
        with translate_redis_errors(name):
            yield self._parts

    # -- messages --------------------------------------------------------------------------

    async def append_messages(
        self, conversation_id: str, messages: Sequence[Message], user_id: str | None
    ) -> str | None:
        async with self._writing("store_messages") as parts:
            return await parts.conversations.store(messages, conversation_id, user_id)

    async def latest_messages(self, conversation_id: str, limit: int | None) -> list[Message]:
        async with self._operation("retrieve_messages") as parts:
            return await parts.conversations.latest(conversation_id, limit)

    async def page_messages(
        self,
        conversation_id: str,
        *,
        after: uuid.UUID | None,
        before: uuid.UUID | None,
        limit: int,
        include_archived: bool = False,
    ) -> list[Message]:
        async with self._operation("list_messages") as parts:
            return await parts.conversations.page(
                conversation_id, before=before, after=after, limit=limit
            )

    async def clear_messages(self, conversation_id: str, *, keep_system: bool) -> int:
        async with self._writing("clear_history") as parts:
            return await parts.conversations.clear(
                conversation_id, keep_system_messages=keep_system
            )

    async def search_messages(
        self, query: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[Message]:
        async with self._operation("search_messages") as parts:
            return await parts.search.search(query, user_id=user_id, limit=limit)

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
        async with self._writing("create_session") as parts:
            return await parts.sessions.start(
                user_id, conversation_id, metadata, reuse=reuse, session_id=session_id
            )

    async def page_sessions(
        self, user_id: str, *, active: bool | None, after: str | None, limit: int
    ) -> list[SessionContext]:
        async with self._operation("list_sessions") as parts:
            return await parts.listing.sessions(user_id, active=active, after=after, limit=limit)

    async def page_conversations(
        self, user_id: str, *, after: str | None, limit: int
    ) -> list[ConversationInfo]:
        async with self._operation("list_conversations") as parts:
            return await parts.listing.conversations(user_id, after=after, limit=limit)

    async def get_session(self, session_id: str) -> SessionContext | None:
        async with self._operation("get_session") as parts:
            return await parts.sessions.get(session_id)

    async def end_session(self, session_id: str, now: dt.datetime) -> bool:
        async with self._operation("end_session") as parts:
            return await parts.sessions.end(session_id, now)

    async def read_context(
        self, user_id: str, wanted: str | None, window: int
    ) -> ContextParts | None:
        async with self._operation("get_context") as parts:
            return await parts.sessions.read_context(user_id, wanted, window)

    # -- memories --------------------------------------------------------------------------

    async def put_memory(self, entry: MemoryEntry) -> None:
        async with self._writing("store_memory") as parts:
            await parts.memories.store(entry)

    async def get_memory(self, memory_id: uuid.UUID) -> MemoryEntry | None:
        async with self._operation("get_memory") as parts:
            return await parts.memories.get(memory_id)

    async def update_memory(self, entry: MemoryEntry) -> MemoryEntry:
        async with self._writing("update_memory") as parts:
            return await parts.memories.update(entry)

    async def drop_memory(self, memory_id: uuid.UUID) -> bool:
        async with self._writing("delete_memory") as parts:
            return await parts.memories.delete(memory_id)

    async def select_memories(
        self, query: MemoryQuery, text: FullTextQuery | None
    ) -> list[MemoryEntry]:
        async with self._operation("retrieve_memories") as parts:
            return await parts.memories.query(query, text)

    async def search_memories(
        self, query: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[MemoryEntry]:
        async with self._operation("search_memories") as parts:
            return await parts.memories.search(query, user_id=user_id, limit=limit)

    async def touch_memories(self, entries: Sequence[MemoryEntry]) -> list[MemoryEntry]:
        async with self._operation("retrieve_memories") as parts:
            return await parts.memories.touch(entries)

    async def page_memories(
        self,
        user_id: str,
        *,
        after: MemoryCursor | None,
        limit: int,
        include_archived: bool,
    ) -> list[MemoryEntry]:
        """Nothing is archived here (no ``Capability.PRUNING``): ``include_archived`` adds
        nothing."""
        async with self._operation("iter_memories") as parts:
            return await parts.listing.memories(user_id, after=after, limit=limit)

    # -- users -----------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> UserContext | None:
        async with self._operation("get_user_context") as parts:
            return await parts.users.context(user_id)

    async def update_user(self, user_id: str, patch: UserContextPatch) -> UserContext:
        async with self._operation("update_user_context") as parts:
            return await parts.users.update(user_id, patch)

    async def statistics(self, user_id: str) -> dict[str, Any]:
        async with self._operation("get_statistics") as parts:
            return await parts.users.statistics(user_id)

    async def erase_user(self, user_id: str) -> dict[str, int]:
        async with self._writing("delete_user") as parts:
            return await parts.users.delete(user_id)

    # -- expiry ----------------------------------------------------------------------------

    async def sweep_expired(self) -> int:
        """Unindex conversations that expired (the open storage also does it every
        ``sweep_interval_seconds``); returns how many were swept."""
        async with self._writing("sweep_expired") as parts:
            return await parts.sweeper.sweep()
