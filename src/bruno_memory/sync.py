"""The sync twin: :class:`SyncMemory`, the facade's methods as blocking calls.

For scripts, Flask or Django views and notebooks::

    with create_memory_sync("sqlite+aiosqlite:///memory.db") as memory:
        memory.store_message(message, "conversation-1")
        context = memory.get_context("alice", "conversation-1")

It owns one event loop, running in a daemon thread of its own, and every call runs there.
Calling ``asyncio.run`` once per call instead would give each call a new loop while pooled
connections stay bound to the first one (on PostgreSQL: "Event loop is closed"); running the
loop in the caller's thread would fail where a loop already runs (notebooks, async servers).
Calls from several threads are safe: they queue on that loop.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from bruno_core.events.bus import EventBus
from bruno_core.interfaces.embedding import EmbeddingInterface
from bruno_core.interfaces.llm import LLMInterface
from bruno_core.models.context import ConversationContext, SessionContext, UserContext
from bruno_core.models.memory import MemoryEntry, MemoryQuery
from bruno_core.models.message import Message

from bruno_memory.analytics.model import Analytics
from bruno_memory.branches import Branch
from bruno_memory.capabilities import Capability
from bruno_memory.context.compression import CompressionPolicy, CompressionReport
from bruno_memory.context.summaries import Summary
from bruno_memory.context.window import ContextStrategy, ContextWindow
from bruno_memory.errors import ConfigurationError
from bruno_memory.listing import ConversationInfo
from bruno_memory.memory import Memory
from bruno_memory.ports.scope import MetadataValue
from bruno_memory.ports.vector import ItemKind, VectorIndex
from bruno_memory.priority import Weights
from bruno_memory.results import SearchHit, SearchMode
from bruno_memory.transfer.export import CsvTable, Progress
from bruno_memory.transfer.jsonl import Destination
from bruno_memory.transfer.load import BATCH_SIZE
from bruno_memory.transfer.records import Record
from bruno_memory.transfer.reports import ExportReport, ImportReport
from bruno_memory.wiring import DefaultEmbedder

if TYPE_CHECKING:
    from bruno_memory.ports.cache import CacheStats

T = TypeVar("T")


class SyncMemory:
    """:class:`~bruno_memory.memory.Memory` with blocking methods of the same names,
    arguments and results. Use it as a ``with`` block, or call :meth:`close` at the end."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="bruno-memory-sync", daemon=True
        )
        self._thread.start()
        self._lock = threading.Lock()
        self._closed = False

    def _run(self, call: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            call.close()
            raise ConfigurationError("SyncMemory was called from its own event loop: use Memory")
        if self.closed:
            call.close()
            raise ConfigurationError("this SyncMemory is closed")
        return asyncio.run_coroutine_threadsafe(call, self._loop).result()

    @property
    def closed(self) -> bool:
        """Whether this twin, or one sharing its loop (:meth:`for_user`), was closed."""
        return self._closed or not self._thread.is_alive()

    @property
    def priority(self) -> Weights:
        """The weights of the score memories are ranked and pruned by."""
        return self._memory.priority

    @property
    def memory(self) -> Memory:
        """The async facade this twin runs."""
        return self._memory

    @property
    def backend(self) -> str:
        """``"sqlite"``, ``"postgresql"`` or ``"redis"``."""
        return self._memory.backend

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the storage offers."""
        return self._memory.capabilities

    @property
    def context_window(self) -> int:
        """Messages in ``get_context``'s window."""
        return self._memory.context_window

    @property
    def semantic_fallbacks(self) -> int:
        """Rankings that fell back to full text because the embedder failed."""
        return self._memory.semantic_fallbacks

    @property
    def cache_stats(self) -> CacheStats | None:
        """Counters of the cache, if the storage has one."""
        return self._memory.cache_stats

    # -- lifecycle -------------------------------------------------------------------------

    def open(self) -> None:
        """Connect and check (or upgrade) the schema. Idempotent."""
        self._run(self._memory.open())

    def close(self) -> None:
        """Close the memory and stop the twin's event loop. Idempotent; the twin is then
        unusable (open a new one)."""
        with self._lock:
            if self.closed:
                return
            try:
                self._run(self._memory.close())
            finally:
                self._closed = True
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join()
                self._loop.close()

    def __enter__(self) -> SyncMemory:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision``."""
        self._run(self._memory.migrate(revision))

    def for_user(self, user_id: str) -> SyncMemory:
        """This twin as one user writes it (:meth:`Memory.for_user`), on the same loop
        (closing either closes both)."""
        view = copy.copy(self)
        view._memory = self._memory.for_user(user_id)
        return view

    # -- messages --------------------------------------------------------------------------

    def store_message(self, message: Message, conversation_id: str) -> None:
        """Append a message to a conversation (created on first use)."""
        self._run(self._memory.store_message(message, conversation_id))

    def store_messages(
        self, messages: Sequence[Message], conversation_id: str, *, user_id: str | None = None
    ) -> None:
        """Append messages to a conversation in one write: all land, or none."""
        self._run(self._memory.store_messages(messages, conversation_id, user_id=user_id))

    def retrieve_messages(self, conversation_id: str, limit: int | None = None) -> list[Message]:
        """The conversation's messages, most recent first; all of them when ``limit`` is None."""
        return self._run(self._memory.retrieve_messages(conversation_id, limit))

    def list_messages(
        self,
        conversation_id: str,
        *,
        before: uuid.UUID | str | None = None,
        after: uuid.UUID | str | None = None,
        limit: int = 50,
        include_archived: bool = False,
    ) -> list[Message]:
        """A page of the conversation, oldest first, by keyset on message-id cursors."""
        return self._run(
            self._memory.list_messages(
                conversation_id,
                before=before,
                after=after,
                limit=limit,
                include_archived=include_archived,
            )
        )

    def search_messages(
        self, query: str, user_id: str | None = None, limit: int = 10
    ) -> list[Message]:
        """Messages containing every word of ``query``, best match first."""
        return self._run(self._memory.search_messages(query, user_id, limit))

    def retrieve_context(self, user_id: str, query: str, limit: int = 5) -> list[Message]:
        """The user's messages most relevant to ``query`` (any of its words), best first."""
        return self._run(self._memory.retrieve_context(user_id, query, limit))

    def clear_history(self, conversation_id: str, keep_system_messages: bool = True) -> None:
        """Delete a conversation's messages, keeping its system messages unless told not to."""
        self._run(self._memory.clear_history(conversation_id, keep_system_messages))

    def clear_conversation(self, conversation_id: str) -> None:
        """Delete every message of a conversation, system messages included."""
        self._run(self._memory.clear_conversation(conversation_id))

    # -- memories --------------------------------------------------------------------------

    def store_memory(self, memory_entry: MemoryEntry) -> None:
        """Store a new memory entry; an existing id raises ConflictError."""
        self._run(self._memory.store_memory(memory_entry))

    def retrieve_memories(self, query: MemoryQuery) -> list[MemoryEntry]:
        """Memory entries matching every filter of ``query`` (each counts one access)."""
        return self._run(self._memory.retrieve_memories(query))

    def search_memories(
        self, query: str, user_id: str | None = None, limit: int = 10
    ) -> list[MemoryEntry]:
        """Unexpired memory entries containing every word of ``query``, best first."""
        return self._run(self._memory.search_memories(query, user_id, limit))

    def get_memory(self, memory_id: uuid.UUID | str) -> MemoryEntry | None:
        """The memory entry with that id, or None."""
        return self._run(self._memory.get_memory(memory_id))

    def update_memory(self, memory_entry: MemoryEntry) -> MemoryEntry:
        """Replace a stored entry's content and metadata; returns it as stored."""
        return self._run(self._memory.update_memory(memory_entry))

    def delete_memory(self, memory_id: str) -> None:
        """Delete a memory entry; raises MemoryNotFoundError when there is none."""
        self._run(self._memory.delete_memory(memory_id))

    # -- sessions and context --------------------------------------------------------------

    def create_session(
        self, user_id: str, metadata: dict[str, Any] | None = None
    ) -> SessionContext:
        """Start a session, with a new conversation, for the user."""
        return self._run(self._memory.create_session(user_id, metadata))

    def start_session(
        self,
        user_id: str,
        *,
        session_id: str | None = None,
        conversation_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> SessionContext:
        """Start a session for the user with the ids given (an import)."""
        return self._run(
            self._memory.start_session(
                user_id,
                session_id=session_id,
                conversation_id=conversation_id,
                metadata=metadata,
            )
        )

    def get_session(self, session_id: str) -> SessionContext | None:
        """The session, or None when there is none with that id."""
        return self._run(self._memory.get_session(session_id))

    def end_session(self, session_id: str) -> None:
        """End a session; raises SessionNotFoundError when there is none with that id."""
        self._run(self._memory.end_session(session_id))

    def get_context(self, user_id: str, session_id: str | None = None) -> ConversationContext:
        """The user's conversation context (see :meth:`Memory.get_context`)."""
        return self._run(self._memory.get_context(user_id, session_id))

    def build_context(
        self,
        user_id: str,
        conversation_id: str | None = None,
        *,
        query: str | None = None,
        max_tokens: int = 4096,
        strategy: ContextStrategy = "hybrid",
        reserve_tokens: int = 0,
    ) -> ContextWindow:
        """The next turn's context within a token budget (see :meth:`Memory.build_context`)."""
        return self._run(
            self._memory.build_context(
                user_id,
                conversation_id,
                query=query,
                max_tokens=max_tokens,
                strategy=strategy,
                reserve_tokens=reserve_tokens,
            )
        )

    # -- listings ----------------------------------------------------------------------------

    def list_users(self) -> Iterator[UserContext]:
        """Every user, by id (``Capability.USER_LISTING``); each page is read when needed."""
        return self._iterate(self._memory.list_users())

    def list_conversations(self, user_id: str) -> Iterator[ConversationInfo]:
        """The conversations the user owns, by id."""
        return self._iterate(self._memory.list_conversations(user_id))

    def list_sessions(
        self, user_id: str, *, active: bool | None = None
    ) -> Iterator[SessionContext]:
        """The user's sessions (open or ended only, by ``active``), by id."""
        return self._iterate(self._memory.list_sessions(user_id, active=active))

    def iter_messages(
        self, conversation_id: str, *, include_archived: bool = False
    ) -> Iterator[Message]:
        """Every message of the conversation, oldest first."""
        return self._iterate(
            self._memory.iter_messages(conversation_id, include_archived=include_archived)
        )

    def iter_memories(
        self, user_id: str, *, include_archived: bool = False
    ) -> Iterator[MemoryEntry]:
        """Every memory of the user, by creation time then id."""
        return self._iterate(self._memory.iter_memories(user_id, include_archived=include_archived))

    def _iterate(self, items: AsyncIterator[T]) -> Iterator[T]:
        """The items of one of the memory's async iterators, each page read on the twin's
        loop when needed; leaving early closes it there."""
        try:
            while not isinstance(item := self._run(_next(items)), _End):
                yield item
        finally:
            close = getattr(items, "aclose", None)
            if close is not None and not self.closed:
                self._run(close())

    # -- export and import -----------------------------------------------------------------

    def export_records(
        self, *, since: dt.datetime | None = None, embeddings: bool = False
    ) -> Iterator[Record]:
        """Every stored row as an export record, from one snapshot (see
        :meth:`Memory.export_records`)."""
        return self._iterate(self._memory.export_records(since=since, embeddings=embeddings))

    def export(
        self,
        target: Destination,
        *,
        since: dt.datetime | None = None,
        embeddings: bool = False,
        anonymize: bool = False,
        progress: Progress | None = None,
    ) -> ExportReport:
        """Write the store to a JSON Lines file (see :meth:`Memory.export`)."""
        return self._run(
            self._memory.export(
                target, since=since, embeddings=embeddings, anonymize=anonymize, progress=progress
            )
        )

    def export_csv(
        self,
        target: Destination,
        table: CsvTable = "messages",
        *,
        since: dt.datetime | None = None,
        progress: Progress | None = None,
    ) -> ExportReport:
        """Write the messages or memories as CSV (see :meth:`Memory.export_csv`)."""
        return self._run(self._memory.export_csv(target, table, since=since, progress=progress))

    def import_file(
        self,
        source: Destination,
        *,
        batch_size: int = BATCH_SIZE,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import a JSON Lines export exactly and idempotently (see :meth:`Memory.import_file`)."""
        return self._run(self._memory.import_file(source, batch_size=batch_size, progress=progress))

    def import_records(
        self,
        records: Iterable[Record],
        *,
        batch_size: int = BATCH_SIZE,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import records (see :meth:`Memory.import_records`)."""
        return self._run(
            self._memory.import_records(records, batch_size=batch_size, progress=progress)
        )

    # -- archive -----------------------------------------------------------------------------

    def archive(self, conversation_id: str, *, before: dt.datetime) -> int:
        """Archive the conversation's older messages (see :meth:`Memory.archive`)."""
        return self._run(self._memory.archive(conversation_id, before=before))

    def restore(self, conversation_id: str, *, after: dt.datetime | None = None) -> int:
        """Restore archived messages (see :meth:`Memory.restore`)."""
        return self._run(self._memory.restore(conversation_id, after=after))

    # -- prioritization ----------------------------------------------------------------------

    def prune_memories(self, user_id: str, *, keep: int) -> int:
        """Archive the user's lowest-scored memories beyond ``keep`` (see
        :meth:`Memory.prune_memories`)."""
        return self._run(self._memory.prune_memories(user_id, keep=keep))

    def restore_memories(
        self, user_id: str, memory_ids: Sequence[uuid.UUID | str] | None = None
    ) -> int:
        """Restore archived memories (see :meth:`Memory.restore_memories`)."""
        return self._run(self._memory.restore_memories(user_id, memory_ids))

    def archived_memories(self, user_id: str) -> list[MemoryEntry]:
        """The user's archived memories (see :meth:`Memory.archived_memories`)."""
        return self._run(self._memory.archived_memories(user_id))

    # -- branches ----------------------------------------------------------------------------

    def fork_conversation(
        self,
        conversation_id: str,
        at_message_id: uuid.UUID | str,
        *,
        branch_id: str | None = None,
    ) -> str:
        """Start a branch of the conversation (see :meth:`Memory.fork_conversation`)."""
        return self._run(
            self._memory.fork_conversation(conversation_id, at_message_id, branch_id=branch_id)
        )

    def list_branches(self, conversation_id: str) -> list[Branch]:
        """The conversation's branches (see :meth:`Memory.list_branches`)."""
        return self._run(self._memory.list_branches(conversation_id))

    # -- compression -------------------------------------------------------------------------

    def compress(
        self,
        conversation_id: str,
        *,
        llm: LLMInterface | None = None,
        policy: CompressionPolicy | None = None,
    ) -> CompressionReport:
        """Summarize the conversation's older messages (see :meth:`Memory.compress`)."""
        return self._run(self._memory.compress(conversation_id, llm=llm, policy=policy))

    def wait_for_compression(self) -> None:
        """Wait for background compressions (see :meth:`Memory.wait_for_compression`)."""
        self._run(self._memory.wait_for_compression())

    def list_summaries(
        self, conversation_id: str, *, include_covered: bool = True
    ) -> list[Summary]:
        """The conversation's summaries (see :meth:`Memory.list_summaries`)."""
        return self._run(
            self._memory.list_summaries(conversation_id, include_covered=include_covered)
        )

    # -- retrieval ---------------------------------------------------------------------------

    def search(
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
        """Messages and memory entries relevant to ``query`` (see :meth:`Memory.search`)."""
        return self._run(
            self._memory.search(
                query,
                user_id=user_id,
                conversation_id=conversation_id,
                limit=limit,
                mode=mode,
                since=since,
                until=until,
                filters=filters,
                kinds=kinds,
            )
        )

    def wait_for_embeddings(self) -> None:
        """Return once every stored message and memory is embedded."""
        self._run(self._memory.wait_for_embeddings())

    def embedding_backlog(self) -> int:
        """How many messages and memories wait to be embedded."""
        return self._run(self._memory.embedding_backlog())

    def drop_other_embeddings(self) -> dict[str, int]:
        """Delete other embedding models' vectors (see :meth:`Memory.drop_other_embeddings`)."""
        return self._run(self._memory.drop_other_embeddings())

    # -- users and storage extras -------------------------------------------------------------

    def get_user_context(self, user_id: str) -> UserContext:
        """The user's stored context (see :meth:`Memory.get_user_context`)."""
        return self._run(self._memory.get_user_context(user_id))

    def update_user_context(
        self,
        user_id: str,
        *,
        name: str | None = None,
        profile: dict[str, Any] | None = None,
        preferences: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> UserContext:
        """Change the user's context (see :meth:`Memory.update_user_context`)."""
        return self._run(
            self._memory.update_user_context(
                user_id, name=name, profile=profile, preferences=preferences, metadata=metadata
            )
        )

    def get_statistics(self, user_id: str) -> dict[str, Any]:
        """Counts of the user's messages, conversations, sessions and memories."""
        return self._run(self._memory.get_statistics(user_id))

    def analytics(
        self,
        user_id: str | None = None,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Analytics:
        """Growth, conversation patterns, topics, usage and latencies
        (``Capability.ANALYTICS``)."""
        return self._run(self._memory.analytics(user_id, since=since, until=until))

    def delete_user(self, user_id: str) -> dict[str, int]:
        """Delete the user and all they own; returns what was deleted, per kind."""
        return self._run(self._memory.delete_user(user_id))

    def sweep_expired(self) -> int:
        """Unindex conversations that expired (``Capability.EXPIRY``)."""
        return self._run(self._memory.sweep_expired())


class _End:
    """The end of an async iterator, as :func:`_next` reports it."""


async def _next(items: AsyncIterator[T]) -> T | _End:
    try:
        return await items.__anext__()
    except StopAsyncIteration:
        return _End()


def create_memory_sync(
    url: str | Sequence[str] | None = None,
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None = DefaultEmbedder.LOCAL,
    vector_index: VectorIndex | None = None,
    event_bus: EventBus | None = None,
    **options: Any,
) -> SyncMemory:
    """The blocking twin of :func:`~bruno_memory.create_memory` (same arguments). The
    ``event_bus``'s subscribers run on the twin's event loop, in its thread."""
    memory = Memory(
        url, embedder=embedder, vector_index=vector_index, event_bus=event_bus, **options
    )
    return SyncMemory(memory)
