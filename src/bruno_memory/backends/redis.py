"""The Redis-only backend: bruno-core's ``MemoryInterface`` with no SQL database.

::

    async with RedisMemoryBackend("redis://127.0.0.1:6379/0", session_ttl_seconds=3600) as memory:
        session = await memory.create_session("alice")
        await memory.store_message(message, session.conversation_id)

Same contract as :class:`~bruno_memory.store.MemoryStore` (the conformance suite runs on
both), on a single server, Sentinel or Redis Cluster. Data layout, atomicity and search:
``docs/redis.md``. A Redis that is down or too slow raises
:class:`~bruno_memory.errors.StorageError`; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from bruno_core.interfaces.memory import MemoryInterface
from bruno_core.models.context import ConversationContext, SessionContext
from bruno_core.models.memory import MemoryEntry, MemoryQuery
from bruno_core.models.message import Message
from pydantic import ValidationError

from bruno_memory.adapters.redis.client import create_client, parse_redis_url
from bruno_memory.adapters.redis.errors import translate_redis_errors
from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.adapters.redis.settings import RedisSettings
from bruno_memory.backends._redis.context import RedisContext
from bruno_memory.backends._redis.conversations import Conversations
from bruno_memory.backends._redis.engine import open_search
from bruno_memory.backends._redis.memories import Memories
from bruno_memory.backends._redis.message_search import MessageSearch
from bruno_memory.backends._redis.scripts import Scripts
from bruno_memory.backends._redis.sessions import Sessions
from bruno_memory.backends._redis.sweeper import Sweeper
from bruno_memory.backends._redis.users import Users
from bruno_memory.db.fulltext import MatchMode
from bruno_memory.errors import ConfigurationError


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
        )


class RedisMemoryBackend(MemoryInterface):
    """Conversation history, sessions, user context and long-term memory in Redis alone.

    Implements every method of bruno-core's ``MemoryInterface`` with the semantics of
    :class:`~bruno_memory.store.MemoryStore`, and its extras (batch writes, paging, memory
    search and updates, erasure). ``url`` and ``options`` are :class:`RedisSettings`
    fields (environment: ``BRUNO_MEMORY_REDIS_*``). It connects on first use; use it as
    ``async with RedisMemoryBackend(url) as memory: ...``.
    """

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
        self._parts: _Parts | None = None
        self._sweeping: asyncio.Task[None] | None = None
        self._opening = asyncio.Lock()

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
                        self.settings.search_engine,
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
        backend's inverted index); None until the backend is open."""
        if self._parts is None:
            return None
        return "index" if self._parts.context.redisearch is None else "redisearch"

    async def close(self) -> None:
        """Stop sweeping and release every connection. The backend can reopen."""
        if self._sweeping is not None:
            self._sweeping.cancel()
            with suppress(asyncio.CancelledError):
                await self._sweeping
            self._sweeping = None
        if self._parts is not None:
            await self._parts.context.client.aclose()
            self._parts = None

    async def __aenter__(self) -> RedisMemoryBackend:
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
    async def _operation(self, name: str) -> AsyncIterator[_Parts]:
        await self.open()
        assert self._parts is not None
        with translate_redis_errors(name):
            yield self._parts

    # -- messages --------------------------------------------------------------------------

    async def store_message(self, message: Message, conversation_id: str) -> None:
        """Append a message to a conversation (created on first use)."""
        async with self._operation("store_message") as parts:
            await parts.conversations.store([message], conversation_id)

    async def store_messages(self, messages: Sequence[Message], conversation_id: str) -> None:
        """Append messages to a conversation in one script: all land, or none."""
        async with self._operation("store_messages") as parts:
            await parts.conversations.store(messages, conversation_id)

    async def retrieve_messages(
        self, conversation_id: str, limit: int | None = None
    ) -> list[Message]:
        """The conversation's messages, most recent first; all of them when ``limit`` is None."""
        async with self._operation("retrieve_messages") as parts:
            return await parts.conversations.latest(conversation_id, limit)

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
        async with self._operation("list_messages") as parts:
            return await parts.conversations.page(
                conversation_id, before=before, after=after, limit=limit
            )

    async def search_messages(
        self, query: str, user_id: str | None = None, limit: int = 10
    ) -> list[Message]:
        """Messages containing every word of ``query`` (stemmed), best match (BM25) first.

        Query text is searched as words: operators, quotes and wildcards have no effect.
        An empty query raises :class:`~bruno_memory.errors.InvalidQueryError`.
        """
        async with self._operation("search_messages") as parts:
            return await parts.search.search(
                query, user_id=user_id, limit=limit, mode=MatchMode.ALL
            )

    async def retrieve_context(self, user_id: str, query: str, limit: int = 5) -> list[Message]:
        """The user's messages most relevant to ``query`` (any of its words), best first."""
        async with self._operation("retrieve_context") as parts:
            return await parts.search.search(
                query, user_id=user_id, limit=limit, mode=MatchMode.ANY
            )

    async def clear_history(self, conversation_id: str, keep_system_messages: bool = True) -> None:
        """Delete a conversation's messages, keeping its system messages unless told not to."""
        async with self._operation("clear_history") as parts:
            await parts.conversations.clear(
                conversation_id, keep_system_messages=keep_system_messages
            )

    async def clear_conversation(self, conversation_id: str) -> None:
        """Delete every message of a conversation, system messages included."""
        await self.clear_history(conversation_id, keep_system_messages=False)

    # -- memories --------------------------------------------------------------------------

    async def store_memory(self, memory_entry: MemoryEntry) -> None:
        """Store a new memory entry; an existing id raises ConflictError."""
        async with self._operation("store_memory") as parts:
            await parts.memories.store(memory_entry)

    async def retrieve_memories(self, query: MemoryQuery) -> list[MemoryEntry]:
        """Memory entries matching every filter of ``query``.

        With ``query_text`` they are ranked by full-text relevance (any word); otherwise by
        importance, then recency. Each returned entry counts one access.
        """
        async with self._operation("retrieve_memories") as parts:
            return await parts.memories.query(query)

    async def search_memories(
        self, query: str, user_id: str | None = None, limit: int = 10
    ) -> list[MemoryEntry]:
        """Unexpired memory entries containing every word of ``query``, best first."""
        async with self._operation("search_memories") as parts:
            return await parts.memories.search(query, user_id=user_id, limit=limit)

    async def get_memory(self, memory_id: uuid.UUID | str) -> MemoryEntry | None:
        """The memory entry with that id, or None."""
        async with self._operation("get_memory") as parts:
            return await parts.memories.get(memory_id)

    async def update_memory(self, memory_entry: MemoryEntry) -> MemoryEntry:
        """Replace a stored entry's content and metadata; returns it as stored."""
        async with self._operation("update_memory") as parts:
            return await parts.memories.update(memory_entry)

    async def delete_memory(self, memory_id: str) -> None:
        """Delete a memory entry; raises MemoryNotFoundError when there is none."""
        async with self._operation("delete_memory") as parts:
            await parts.memories.delete(memory_id)

    # -- sessions and context --------------------------------------------------------------

    async def create_session(
        self, user_id: str, metadata: dict[str, Any] | None = None
    ) -> SessionContext:
        """Start a session, with a new conversation, for the user."""
        async with self._operation("create_session") as parts:
            return await parts.sessions.create(user_id, metadata)

    async def get_session(self, session_id: str) -> SessionContext | None:
        """The session, or None when there is none with that id (or it expired)."""
        async with self._operation("get_session") as parts:
            return await parts.sessions.get(session_id)

    async def end_session(self, session_id: str) -> None:
        """End a session; raises SessionNotFoundError when there is none with that id."""
        async with self._operation("end_session") as parts:
            await parts.sessions.end(session_id)

    async def get_context(self, user_id: str, session_id: str | None = None) -> ConversationContext:
        """The user's conversation context: user, session and the recent message window.

        ``session_id`` may be a session id or a conversation id; without it, the user's
        latest active session is used. When none matches, a session is started. The window
        holds the last ``context_window`` messages, with earlier system messages in front.
        """
        async with self._operation("get_context") as parts:
            return await parts.sessions.context(user_id, session_id, self.settings.context_window)

    # -- users -----------------------------------------------------------------------------

    async def get_statistics(self, user_id: str) -> dict[str, Any]:
        """Counts of the user's messages (total and per role), conversations, sessions and
        memories, and the time of their first and last message."""
        async with self._operation("get_statistics") as parts:
            return await parts.users.statistics(user_id)

    async def delete_user(self, user_id: str) -> dict[str, int]:
        """Delete the user and all they own; returns what was deleted."""
        async with self._operation("delete_user") as parts:
            return await parts.users.delete(user_id)

    # -- expiry ----------------------------------------------------------------------------

    async def sweep_expired(self) -> int:
        """Unindex conversations that expired (the open backend also does it every
        ``sweep_interval_seconds``); returns how many were swept."""
        async with self._operation("sweep_expired") as parts:
            return await parts.sweeper.sweep()
