"""The facade: :class:`Memory`, one class over every storage.

Every rule a storage must not decide on its own is written here, once: input validation,
limit semantics, ownership of sessions, the ``get_context`` flow, capability checks and
error translation. Storages (:mod:`bruno_memory.ports.storage`) only store and read.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
import uuid
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from bruno_core.events.bus import EventBus
from bruno_core.interfaces.embedding import EmbeddingInterface
from bruno_core.interfaces.llm import LLMInterface
from bruno_core.interfaces.memory import MemoryInterface
from bruno_core.models.context import ConversationContext, SessionContext, UserContext
from bruno_core.models.memory import MemoryEntry, MemoryQuery
from bruno_core.models.message import Message

from bruno_memory.analytics.keywords import sample_topics
from bruno_memory.analytics.latency import LatencyRecorder
from bruno_memory.analytics.model import Analytics, Window
from bruno_memory.bootstrap import build_storage
from bruno_memory.branches import Branch
from bruno_memory.bus import CoreEvents
from bruno_memory.capabilities import Capability
from bruno_memory.context.background import BackgroundCompression
from bruno_memory.context.budget import ContextBudget
from bruno_memory.context.builder import SHARES, assemble
from bruno_memory.context.compression import CompressionPolicy, CompressionReport, Compressor
from bruno_memory.context.sources import default_query, first_read, gather, read_history
from bruno_memory.context.summaries import Summary
from bruno_memory.context.tokens import TokenCounter, default_counter
from bruno_memory.context.window import ContextStrategy, ContextWindow
from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.db.types import as_utc, utc_now
from bruno_memory.errors import (
    AccessDeniedError,
    ConfigurationError,
    InvalidInputError,
    MemoryNotFoundError,
    SessionNotFoundError,
    StorageError,
    UnsupportedOperationError,
    translate_errors,
)
from bruno_memory.listing import ConversationInfo
from bruno_memory.ports.scope import MetadataValue, SearchScope
from bruno_memory.ports.storage import (
    Archival,
    Branching,
    ContextParts,
    Pruning,
    Retrieval,
    Storage,
    Summaries,
    Transfer,
)
from bruno_memory.ports.vector import ItemKind, VectorIndex
from bruno_memory.priority import (
    DEFAULT_WEIGHTS,
    Pruner,
    Weights,
    best_of,
    pool_size,
    ranked,
)
from bruno_memory.results import SearchHit, SearchMode
from bruno_memory.retrieval.stopwords import content_words
from bruno_memory.transfer.export import (
    CSV_COLUMNS,
    CsvTable,
    Progress,
    watermark,
    write_csv,
    write_jsonl,
)
from bruno_memory.transfer.jsonl import Destination
from bruno_memory.transfer.load import BATCH_SIZE, import_file, import_records
from bruno_memory.transfer.records import Header, Record
from bruno_memory.transfer.redact import anonymized, new_anonymizer
from bruno_memory.transfer.reports import ExportReport, ImportReport
from bruno_memory.user_context import UserContextPatch
from bruno_memory.validation import (
    batch_user,
    optional_id,
    optional_uuid,
    parse_uuid,
    require_id,
    require_json_object,
    require_limit,
    require_query,
    require_text,
    require_timestamp,
    valid_memory,
    valid_message,
)
from bruno_memory.wiring import DefaultEmbedder

if TYPE_CHECKING:
    from bruno_memory.adapters.events.consumer import RedisEventStream
    from bruno_memory.ports.cache import CacheStats

_Part = TypeVar("_Part")
_Item = TypeVar("_Item")
_Key = TypeVar("_Key")

#: How often ``get_context`` looks again when a session appears or vanishes meanwhile.
CONTEXT_ATTEMPTS = 3
#: Memories ``prune_memories`` archives at a time (at most).
PRUNE_BATCH = 1_000
#: Items the listings (``list_users`` ... ``iter_memories``) read at a time: one keyset page
#: per read, so a listing holds at most this many at any size.
LIST_PAGE = 500
#: Rows an export reads per statement (one snapshot holds them all).
DUMP_PAGE = 2_000


class Memory(MemoryInterface):
    """Conversation history, sessions, user context and long-term memory.

    Implements every method of bruno-core's ``MemoryInterface`` with its signature and
    documented behaviour, plus the methods bruno-core's own callers look for
    (``retrieve_context``, ``search_memories``, ``clear_conversation``) and batch, paging,
    retrieval and erasure operations, on any storage (SQLite, PostgreSQL, Redis, in memory).
    Use it as ``async with create_memory(url) as memory: ...``; it also opens itself on first
    use.
    Every error is a :class:`~bruno_memory.errors.BrunoMemoryError`.

    ``Memory(url, **options)`` builds its storage like :func:`~bruno_memory.create_memory`
    (so bruno-core's ``MemoryBackendRegistry`` can instantiate it); ``storage=`` wraps one
    already built; a sequence of URLs is a fallback chain, whose storage is chosen when the
    memory opens (:mod:`bruno_memory.backends.fallback`). ``event_bus=`` (a bruno-core
    ``EventBus``) hears each committed change (:mod:`bruno_memory.bus`); :meth:`for_user`
    is the memory bruno-core's ``ContextManager`` should be given.
    """

    def __init__(
        self,
        url: str | Sequence[str] | None = None,
        *,
        storage: Storage | None = None,
        embedder: EmbeddingInterface | DefaultEmbedder | None = DefaultEmbedder.LOCAL,
        vector_index: VectorIndex | None = None,
        token_counter: TokenCounter | None = None,
        llm: LLMInterface | None = None,
        compression: CompressionPolicy | None = None,
        auto_compress: bool = False,
        context_budget: ContextBudget | None = None,
        event_bus: EventBus | None = None,
        priority: Weights | None = None,
        **options: Any,
    ) -> None:
        if context_budget is not None and not isinstance(context_budget, ContextBudget):
            raise ConfigurationError("context_budget must be a ContextBudget")
        if storage is None:
            storage = build_storage(url, embedder=embedder, vector_index=vector_index, **options)
        self._storage = storage
        self._given_counter = token_counter
        self._llm = llm
        self._compression = compression or CompressionPolicy()
        self._context_budget = context_budget
        self._weights = priority or DEFAULT_WEIGHTS
        if auto_compress and llm is None:
            raise ConfigurationError("auto_compress needs an llm= to summarize with")
        if auto_compress:
            self._require(Capability.COMPRESSION, "auto_compress")
        self._background = BackgroundCompression(self.compress) if auto_compress else None
        self._owner: str | None = None  # the user of a for_user view
        self._events = CoreEvents(event_bus)
        self._latencies = LatencyRecorder()  # shared with for_user views

    @property
    def _counter(self) -> TokenCounter:
        """How :meth:`build_context` counts tokens (cl100k_base unless one was given)."""
        return self._given_counter or default_counter()

    @property
    def priority(self) -> Weights:
        """The weights of the score memories are ranked and pruned by."""
        return self._weights

    @property
    def storage(self) -> Storage:
        """The storage behind the facade (for diagnostics and tests)."""
        return self._storage

    @property
    def backend(self) -> str:
        """``"sqlite"``, ``"postgresql"``, ``"redis"`` or ``"memory"``."""
        return self._storage.backend

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the storage offers; calls needing anything else raise
        :class:`~bruno_memory.errors.UnsupportedOperationError`."""
        return self._storage.capabilities

    @property
    def context_window(self) -> int:
        """Messages in ``get_context``'s window."""
        return self._storage.context_window

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and check (or upgrade) the schema. Idempotent."""
        with translate_errors("open"):
            await self._storage.open()

    async def close(self) -> None:
        """Stop background work and release every connection. The memory can reopen."""
        if self._background is not None:
            await self._background.drain()
        with translate_errors("close"):
            await self._storage.close()

    async def __aenter__(self) -> Memory:
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
    async def _operation(self, name: str) -> AsyncIterator[Storage]:
        """The open storage, errors translated and the time taken recorded as ``name``'s."""
        started = time.perf_counter()
        try:
            with translate_errors(name):
                await self._storage.open()
                yield self._storage
        finally:
            self._latencies.record(name, time.perf_counter() - started)

    def _require(self, capability: Capability, operation: str) -> None:
        if capability not in self._storage.capabilities:
            raise UnsupportedOperationError(operation, capability.value, self.backend)

    def _part(self, capability: Capability, operation: str, part: _Part | None) -> _Part:
        """The storage's sub-port for ``capability``, or the typed refusal naming it (a
        storage offers the capability exactly when the sub-port is there)."""
        self._require(capability, operation)
        assert part is not None
        return part

    async def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision`` (``Capability.MIGRATIONS``)."""
        schema = self._part(Capability.MIGRATIONS, "migrate", self._storage.schema)
        with translate_errors("migrate"):
            await schema.migrate(require_text(revision, "revision"))

    # -- messages --------------------------------------------------------------------------

    def for_user(self, user_id: str) -> Memory:
        """This memory as one user writes it: the same storage, whose ``store_message`` and
        ``store_messages`` own the conversation by ``user_id`` (as ``user_id=`` does). Give
        it to bruno-core's ``ContextManager``, which stores without naming the user::

            manager = ContextManager(memory=memory.for_user("alice"))

        Everything else is the memory's own (closing either closes both)."""
        view = copy.copy(self)
        view._owner = require_id(user_id, "user_id")
        return view

    async def store_message(self, message: Message, conversation_id: str) -> None:
        """Append a message to a conversation (created on first use); who owns it is
        :meth:`store_messages`'s rule."""
        await self.store_messages([message], conversation_id)

    async def store_messages(
        self, messages: Sequence[Message], conversation_id: str, *, user_id: str | None = None
    ) -> None:
        """Append messages to a conversation in one write: all land, or none.

        The conversation belongs to ``user_id`` (else the user of :meth:`for_user`, else
        the one the messages name in ``metadata['user_id']``): a new or unowned one becomes
        theirs, one of another user raises :class:`~bruno_memory.errors.AccessDeniedError`.
        With no user at all, a new conversation stays unowned until a session claims it.
        """
        require_id(conversation_id, "conversation_id")
        if isinstance(messages, (str, Message)) or not isinstance(messages, Sequence):
            raise InvalidInputError("messages must be a sequence of Message objects")
        batch = [valid_message(message, conversation_id) for message in messages]
        if not batch:
            return
        user_id = batch_user(batch, user_id or self._owner)
        async with self._operation("store_messages") as storage:
            owner = await storage.append_messages(conversation_id, batch, user_id)
        await self._events.context_updated(conversation_id, owner, batch)
        if self._background is not None:
            self._background.schedule(conversation_id)

    async def retrieve_messages(
        self, conversation_id: str, limit: int | None = None
    ) -> list[Message]:
        """The conversation's messages, most recent first; all of them when ``limit`` is None."""
        require_id(conversation_id, "conversation_id")
        if limit == 0 and not isinstance(limit, bool):
            return []
        wanted = None if limit is None else require_limit(limit)
        async with self._operation("retrieve_messages") as storage:
            return await storage.latest_messages(conversation_id, wanted)

    async def list_messages(
        self,
        conversation_id: str,
        *,
        before: uuid.UUID | str | None = None,
        after: uuid.UUID | str | None = None,
        limit: int = 50,
        include_archived: bool = False,
    ) -> list[Message]:
        """A page of the conversation, oldest first, by keyset on message-id cursors.

        ``after=id`` gives the messages following that one, ``before=id`` those preceding
        it; with neither, the conversation's first messages. Archived messages are left
        out unless ``include_archived``.
        """
        require_id(conversation_id, "conversation_id")
        cursors = optional_uuid(after, "after"), optional_uuid(before, "before")
        wanted = require_limit(limit)
        async with self._operation("list_messages") as storage:
            return await storage.page_messages(
                conversation_id,
                after=cursors[0],
                before=cursors[1],
                limit=wanted,
                include_archived=include_archived,
            )

    async def search_messages(
        self, query: str, user_id: str | None = None, limit: int = 10
    ) -> list[Message]:
        """Messages containing every word of ``query``, best match first.

        Query text is searched as words: operators, quotes and wildcards have no effect.
        An empty query raises :class:`~bruno_memory.errors.InvalidQueryError`.
        """
        parsed, owner, wanted = _text_query(query, MatchMode.ALL, user_id, limit)
        if parsed.is_empty:
            return []
        async with self._operation("search_messages") as storage:
            return await storage.search_messages(parsed, user_id=owner, limit=wanted)

    async def retrieve_context(self, user_id: str, query: str, limit: int = 5) -> list[Message]:
        """The user's messages most relevant to ``query`` (any of its words), best first.

        bruno-core's ``ContextManager`` calls this with the last user message.
        """
        require_id(user_id, "user_id")
        parsed, owner, wanted = _text_query(query, MatchMode.ANY, user_id, limit)
        if parsed.is_empty:
            return []
        async with self._operation("retrieve_context") as storage:
            return await storage.search_messages(parsed, user_id=owner, limit=wanted)

    async def clear_history(self, conversation_id: str, keep_system_messages: bool = True) -> None:
        """Delete a conversation's messages, keeping its system messages unless told not to."""
        require_id(conversation_id, "conversation_id")
        keep = bool(keep_system_messages)
        async with self._operation("clear_history") as storage:
            await storage.clear_messages(conversation_id, keep_system=keep)
        await self._events.context_cleared(conversation_id, kept_system=keep)

    async def clear_conversation(self, conversation_id: str) -> None:
        """Delete every message of a conversation, system messages included."""
        await self.clear_history(conversation_id, keep_system_messages=False)

    # -- memories --------------------------------------------------------------------------

    async def store_memory(self, memory_entry: MemoryEntry) -> None:
        """Store a new memory entry; an existing id raises ConflictError."""
        entry = valid_memory(memory_entry)
        async with self._operation("store_memory") as storage:
            await storage.put_memory(entry)

    async def retrieve_memories(self, query: MemoryQuery) -> list[MemoryEntry]:
        """Memory entries matching every filter of ``query``.

        They are ranked by the priority score (:mod:`bruno_memory.priority`: recency, access
        frequency, importance, emotional significance and, with ``query_text``, relevance:
        semantic where the storage has an embedder, full text otherwise). Archived memories
        are left out. Each returned entry counts one access (retrieval is use;
        :meth:`get_memory` is not).
        """
        if not isinstance(query, MemoryQuery):
            raise InvalidInputError("query must be a bruno-core MemoryQuery")
        require_id(query.user_id, "user_id")
        require_limit(query.limit)
        text = None
        if (
            query.query_text is not None
            and require_text(query.query_text, "query_text", allow_blank=True).strip()
        ):
            text = content_words(query.query_text)
            if text.is_empty:
                return []
        async with self._operation("retrieve_memories") as storage:
            return await ranked(storage, query, text, self._weights)

    async def search_memories(
        self, query: str, user_id: str | None = None, limit: int = 10
    ) -> list[MemoryEntry]:
        """Unexpired, unarchived memory entries containing every word of ``query``, best
        first by the priority score (relevance included); each counts one access."""
        parsed, owner, wanted = _text_query(query, MatchMode.ALL, user_id, limit)
        if parsed.is_empty:
            return []
        async with self._operation("search_memories") as storage:
            pool = await storage.search_memories(parsed, user_id=owner, limit=pool_size(wanted))
            return await best_of(storage, pool, wanted, by_relevance=True, weights=self._weights)

    async def get_memory(self, memory_id: uuid.UUID | str) -> MemoryEntry | None:
        """The memory entry with that id (archived or not), or None."""
        key = parse_uuid(memory_id, "memory_id")
        async with self._operation("get_memory") as storage:
            return await storage.get_memory(key)

    async def update_memory(self, memory_entry: MemoryEntry) -> MemoryEntry:
        """Replace a stored entry's content and metadata; returns it as stored."""
        entry = valid_memory(memory_entry)
        async with self._operation("update_memory") as storage:
            return await storage.update_memory(entry)

    async def delete_memory(self, memory_id: str) -> None:
        """Delete a memory entry; raises MemoryNotFoundError when there is none."""
        key = parse_uuid(memory_id, "memory_id")
        async with self._operation("delete_memory") as storage:
            if not await storage.drop_memory(key):
                raise MemoryNotFoundError(f"no memory {key}", details={"memory_id": str(key)})

    # -- sessions and context --------------------------------------------------------------

    async def create_session(
        self, user_id: str, metadata: dict[str, Any] | None = None
    ) -> SessionContext:
        """Start a session, with a new conversation, for the user."""
        return await self.start_session(user_id, metadata=metadata)

    async def start_session(
        self,
        user_id: str,
        *,
        session_id: str | None = None,
        conversation_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> SessionContext:
        """Start a session for the user with the ids given, as an import does (what is not
        given is new: :meth:`create_session` gives neither).

        ``conversation_id`` names its conversation (created, or one the user owns or nobody
        does; another user's raises :class:`~bruno_memory.errors.AccessDeniedError`), so a
        conversation can take several sessions; ``session_id`` is its id (one already taken
        raises :class:`~bruno_memory.errors.ConflictError`, and nothing is written)."""
        require_id(user_id, "user_id")
        if metadata is not None:
            require_json_object(metadata, "session metadata")
        sid = optional_id(session_id, "session_id")
        cid = optional_id(conversation_id, "conversation_id") or str(uuid.uuid4())
        async with self._operation("create_session") as storage:
            session = await storage.start_session(
                user_id, cid, metadata, reuse=False, session_id=sid
            )
        if session is None:
            raise StorageError("a new conversation already had a session")
        await self._events.session_started(session)
        return session

    async def get_session(self, session_id: str) -> SessionContext | None:
        """The session, or None when there is none with that id."""
        require_id(session_id, "session_id")
        async with self._operation("get_session") as storage:
            return await storage.get_session(session_id)

    async def end_session(self, session_id: str) -> None:
        """End a session; raises SessionNotFoundError when there is none with that id."""
        require_id(session_id, "session_id")
        async with self._operation("end_session") as storage:
            if not await storage.end_session(session_id, utc_now()):
                raise SessionNotFoundError(
                    f"no session {session_id!r}", details={"session_id": session_id}
                )
            ended = await storage.get_session(session_id) if self._events.enabled else None
        if ended is not None:
            await self._events.session_ended(ended)

    async def get_context(self, user_id: str, session_id: str | None = None) -> ConversationContext:
        """The user's conversation context: user, session and the recent message window.

        ``session_id`` may be a session id or a conversation id (bruno-core's assistant
        passes the latter); without it, the user's latest active session is used. When none
        matches, a session is started (in that conversation, if one was named), so an
        assistant can always proceed. The window holds the last ``context_window``
        messages, chronologically, with earlier system messages kept in front. A session of
        another user raises :class:`~bruno_memory.errors.AccessDeniedError`.

        With a ``context_budget`` (:class:`~bruno_memory.context.budget.ContextBudget`) the
        context is :meth:`build_context`'s within that budget instead: its messages are
        ``ContextWindow.to_messages()`` (notes of summaries, memories and recalled messages
        included), so bruno-core's assistant sends them as they are.
        """
        if self._context_budget is not None:
            budget = self._context_budget
            built = await self.build_context(
                user_id,
                session_id,
                max_tokens=budget.max_tokens,
                reserve_tokens=budget.reserve_tokens,
                strategy=budget.strategy,
            )
            return built.to_conversation_context()
        require_id(user_id, "user_id")
        wanted = optional_id(session_id, "session_id")
        window = self.context_window
        async with self._operation("get_context") as storage:
            parts, started = await _find_or_start(storage, user_id, wanted, window)
        if started:
            await self._events.session_started(parts.session)
        return ConversationContext(
            conversation_id=parts.session.conversation_id,
            user=parts.user,
            session=parts.session,
            messages=parts.messages,
            max_messages=window,
        )

    async def build_context(
        self,
        user_id: str,
        conversation_id: str | None = None,
        *,
        query: str | None = None,
        max_tokens: int = 4096,
        strategy: ContextStrategy = "hybrid",
        reserve_tokens: int = 0,
    ) -> ContextWindow:
        """The context of the user's next turn, within ``max_tokens - reserve_tokens``
        tokens (counted as :mod:`bruno_memory.context.tokens` documents).

        ``conversation_id`` may be a conversation or a session id, found or started as
        :meth:`get_context` does. ``query`` (default: the newest user message) ranks the
        memories and the older messages recalled. ``strategy``: ``"recent"`` (the newest
        messages only), ``"semantic"`` (relevant memories and messages first),
        ``"importance"`` (the most important memories first) or ``"hybrid"`` (a share of
        the budget for each). The rules are in :mod:`bruno_memory.context.builder`.
        """
        require_id(user_id, "user_id")
        wanted = optional_id(conversation_id, "conversation_id")
        budget = _context_budget(max_tokens, reserve_tokens)
        if strategy not in SHARES:
            raise InvalidInputError(
                f"strategy must be one of {sorted(SHARES)}", details={"strategy": strategy}
            )
        if query is not None:
            require_text(query, "query", allow_blank=True)
        async with self._operation("build_context") as storage:
            asked = first_read(budget)
            parts, started = await _find_or_start(storage, user_id, wanted, asked)
            cid = parts.session.conversation_id
            history = await read_history(
                storage, cid, parts.messages, asked, budget=budget, counter=self._counter
            )
            candidates = await gather(
                storage,
                history,
                user_id=user_id,
                conversation_id=cid,
                query=query if query is not None else default_query(history),
                strategy=strategy,
                budget=budget,
                weights=self._weights,
            )
        if started:
            await self._events.session_started(parts.session)
        chosen = assemble(candidates, budget=budget, counter=self._counter, strategy=strategy)
        return ContextWindow(
            conversation_id=cid,
            session=parts.session,
            user_context=parts.user,
            messages=chosen.window,
            recalled=sorted(chosen.recalled, key=lambda m: m.timestamp),
            memories=chosen.memories,
            summaries=chosen.summaries,
            token_count=chosen.token_count,
            max_tokens=max_tokens,
            reserve_tokens=reserve_tokens,
            strategy=strategy,
            omitted=chosen.omitted,
            cut=chosen.cut,
        )

    # -- listings ----------------------------------------------------------------------------

    def list_users(self) -> AsyncIterator[UserContext]:
        """Every user with a stored record, by id (``Capability.USER_LISTING``).

        Like every listing, an async iterator reading :data:`LIST_PAGE` items at a time by
        keyset (memory bounded at any size); each page is read when the previous one is
        used up, so an item written or deleted meanwhile may or may not come, and none comes
        twice. Errors are raised when it is called (invalid input, a missing capability) or
        by the read of a page."""
        listing = self._part(Capability.USER_LISTING, "list_users", self._storage.user_listing)
        return self._pages(
            "list_users",
            lambda after, limit: listing.page_users(after=after, limit=limit),
            lambda user: user.user_id,
        )

    def list_conversations(self, user_id: str) -> AsyncIterator[ConversationInfo]:
        """The conversations the user owns (branches included), by id, as
        :class:`~bruno_memory.listing.ConversationInfo` (paged as :meth:`list_users`)."""
        owner = require_id(user_id, "user_id")
        return self._pages(
            "list_conversations",
            lambda after, limit: self._storage.page_conversations(owner, after=after, limit=limit),
            lambda conversation: conversation.conversation_id,
        )

    def list_sessions(
        self, user_id: str, *, active: bool | None = None
    ) -> AsyncIterator[SessionContext]:
        """The user's sessions, by id: all of them, only the open ones (``active=True``) or
        only the ended ones (``active=False``); paged as :meth:`list_users`."""
        owner = require_id(user_id, "user_id")
        if active is not None and not isinstance(active, bool):
            raise InvalidInputError(
                "active must be True, False or None", details={"active": active}
            )
        return self._pages(
            "list_sessions",
            lambda after, limit: self._storage.page_sessions(
                owner, active=active, after=after, limit=limit
            ),
            lambda session: session.session_id,
        )

    def iter_messages(
        self, conversation_id: str, *, include_archived: bool = False
    ) -> AsyncIterator[Message]:
        """Every message of the conversation in conversation order, oldest first (a
        branch's history: the inherited messages, then its own), archived ones only with
        ``include_archived``; paged as :meth:`list_users`, by :meth:`list_messages`'
        cursors: deleting the last message read before the next page is read raises
        :class:`~bruno_memory.errors.MessageNotFoundError`."""
        cid = require_id(conversation_id, "conversation_id")
        archived = bool(include_archived)
        return self._pages(
            "iter_messages",
            lambda after, limit: self._storage.page_messages(
                cid, after=after, before=None, limit=limit, include_archived=archived
            ),
            lambda message: message.id,
        )

    def iter_memories(
        self, user_id: str, *, include_archived: bool = False
    ) -> AsyncIterator[MemoryEntry]:
        """Every memory of the user (expired ones too), by creation time then id; archived
        ones (``Capability.PRUNING``) only with ``include_archived``, as an export wants
        them. Reading them is not an access; paged as :meth:`list_users`."""
        owner = require_id(user_id, "user_id")
        archived = bool(include_archived)
        return self._pages(
            "iter_memories",
            lambda after, limit: self._storage.page_memories(
                owner, after=after, limit=limit, include_archived=archived
            ),
            lambda entry: (as_utc(entry.created_at), entry.id),
        )

    async def _pages(
        self,
        name: str,
        read: Callable[[_Key | None, int], Awaitable[list[_Item]]],
        key: Callable[[_Item], _Key],
    ) -> AsyncIterator[_Item]:
        """The items of keyset pages of ``LIST_PAGE``, each read in an operation of its
        own once the previous page is used up (nothing is held open between pages)."""
        limit = LIST_PAGE
        after: _Key | None = None
        while True:
            async with self._operation(name):
                page = await read(after, limit)
            for item in page:
                yield item
            if len(page) < limit:
                return
            after = key(page[-1])

    # -- export and import -----------------------------------------------------------------

    def _transfer(self, operation: str) -> Transfer:
        return self._part(Capability.TRANSFER, operation, self._storage.transfer)

    def export_records(
        self, *, since: dt.datetime | None = None, embeddings: bool = False
    ) -> AsyncIterator[Record]:
        """Every stored row as an export record (:mod:`bruno_memory.transfer.records`), kind
        by kind in the order an import needs, all read from one consistent snapshot held
        while the iterator runs (``Capability.TRANSFER``); only rows changed at or after
        ``since`` when given; vectors with ``embeddings``."""
        transfer = self._transfer("export_records")
        start = _bound(since, "since")
        return self._streamed(
            "export_records",
            lambda: transfer.dump(since=start, embeddings=bool(embeddings), page_size=DUMP_PAGE),
        )

    async def export(
        self,
        target: Destination,
        *,
        since: dt.datetime | None = None,
        embeddings: bool = False,
        anonymize: bool = False,
        progress: Progress | None = None,
    ) -> ExportReport:
        """Write the store to a JSON Lines file (a path, ``.gz`` compressed, or a text
        stream) that :meth:`import_file` reads back exactly; streamed, in bounded memory.
        ``since`` (a previous export's ``exported_at``) exports what changed since then.
        ``anonymize`` replaces names, emails, phone numbers, addresses and other personal
        data, and string ids, by tokens consistent across the file
        (:mod:`bruno_memory.transfer.redact`; the ``anonymize`` extra); it takes no vectors."""
        if anonymize and embeddings:
            raise InvalidInputError("an anonymized export has no embeddings (they tell the text)")
        header = Header(
            exported_at=watermark(),
            since=_bound(since, "since"),
            source_backend=self.backend,
            embeddings=bool(embeddings),
            anonymized=bool(anonymize),
        )
        records = self.export_records(since=since, embeddings=embeddings)
        if anonymize:
            records = anonymized(records, new_anonymizer())
        with translate_errors("export"):
            return await write_jsonl(records, target, header, progress=progress)

    async def export_csv(
        self,
        target: Destination,
        table: CsvTable = "messages",
        *,
        since: dt.datetime | None = None,
        progress: Progress | None = None,
    ) -> ExportReport:
        """Write the messages or the memories as CSV, for spreadsheets (one row each; JSON
        Lines is the export that imports back)."""
        if table not in CSV_COLUMNS:
            raise InvalidInputError(
                f"table must be one of {sorted(CSV_COLUMNS)}", details={"table": table}
            )
        records = self.export_records(since=since)
        with translate_errors("export_csv"):
            return await write_csv(records, target, table, progress=progress)

    async def import_file(
        self,
        source: Destination,
        *,
        batch_size: int = BATCH_SIZE,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import a JSON Lines export exactly (ids, timestamps, positions, branches,
        summaries), in batches of one transaction each; importing the same file again
        changes nothing, and an interrupted import resumes when run again. A bad line
        raises :class:`~bruno_memory.errors.ImportFormatError` naming it."""
        transfer = self._transfer("import_file")
        size = require_limit(batch_size)
        async with self._operation("import_file"):
            return await import_file(transfer, source, batch_size=size, progress=progress)

    async def import_records(
        self,
        records: AsyncIterable[Record] | Iterable[Record],
        *,
        batch_size: int = BATCH_SIZE,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import records (another store's :meth:`export_records`), as :meth:`import_file`."""
        transfer = self._transfer("import_records")
        size = require_limit(batch_size)
        async with self._operation("import_records"):
            return await import_records(transfer, records, batch_size=size, progress=progress)

    async def _streamed(
        self, name: str, produce: Callable[[], AsyncIterator[_Item]]
    ) -> AsyncIterator[_Item]:
        """The items of ``produce()``, its errors translated."""
        async with self._operation(name):
            async for item in produce():
                yield item

    # -- archive -----------------------------------------------------------------------------

    def _archival(self, operation: str) -> Archival:
        return self._part(Capability.ARCHIVE, operation, self._storage.archival)

    async def archive(self, conversation_id: str, *, before: dt.datetime) -> int:
        """Archive the conversation's messages timestamped before ``before`` (its system
        messages stay): they leave the window, ``retrieve_messages``, ``list_messages``,
        search and every context, and are kept (``list_messages(include_archived=True)``,
        export) until :meth:`restore`. How many were archived (``Capability.ARCHIVE``)."""
        cid = require_id(conversation_id, "conversation_id")
        moment = require_timestamp(before, "before")
        archival = self._archival("archive")
        async with self._operation("archive"):
            return await archival.archive(cid, moment)

    async def restore(self, conversation_id: str, *, after: dt.datetime | None = None) -> int:
        """Bring the conversation's archived messages back (those timestamped at or after
        ``after``; all when None); how many were restored (``Capability.ARCHIVE``)."""
        cid = require_id(conversation_id, "conversation_id")
        moment = None if after is None else require_timestamp(after, "after")
        archival = self._archival("restore")
        async with self._operation("restore"):
            return await archival.restore(cid, moment)

    # -- prioritization ----------------------------------------------------------------------

    def _pruning(self, operation: str) -> Pruning:
        return self._part(Capability.PRUNING, operation, self._storage.pruning)

    async def prune_memories(self, user_id: str, *, keep: int) -> int:
        """Keep the user's ``keep`` best memories by the priority score and archive the
        rest; pinned ones (``custom_fields["pinned"] is True``) are never archived and
        count toward ``keep``. Nothing is deleted: archived memories leave retrieval,
        search and context, and come back with :meth:`restore_memories`. How many were
        archived (``Capability.PRUNING``). The memories are read as :meth:`iter_memories`
        reads them and archived in batches of :data:`PRUNE_BATCH` (memory bounded by
        ``keep`` at any size): an interrupted prune has archived part of what it would
        archive, and running it again finishes."""
        owner = require_id(user_id, "user_id")
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise InvalidInputError("keep must be a non-negative int", details={"keep": keep})
        pruning = self._pruning("prune_memories")
        pruner = Pruner(keep, self._weights)
        archived, out = 0, []
        async for entry in self.iter_memories(owner):
            out += pruner.offer([entry])
            if len(out) >= PRUNE_BATCH:
                archived += await self._archive_pruned(pruning, owner, out)
                out = []
        return archived + await self._archive_pruned(pruning, owner, [*out, *pruner.finish()])

    async def _archive_pruned(self, pruning: Pruning, user_id: str, ids: list[uuid.UUID]) -> int:
        """Archive ``ids`` of the user's memories (pruning's batches); how many."""
        if not ids:
            return 0
        async with self._operation("prune_memories"):
            return await pruning.archive_memories(user_id, ids)

    async def restore_memories(
        self, user_id: str, memory_ids: Sequence[uuid.UUID | str] | None = None
    ) -> int:
        """Bring the user's archived memories back (those of ``memory_ids``; all when None);
        how many were restored (``Capability.PRUNING``)."""
        owner = require_id(user_id, "user_id")
        if isinstance(memory_ids, (str, uuid.UUID)):
            raise InvalidInputError("memory_ids must be a sequence of ids")
        ids = None if memory_ids is None else [parse_uuid(i, "memory_ids") for i in memory_ids]
        pruning = self._pruning("restore_memories")
        async with self._operation("restore_memories"):
            return await pruning.restore_memories(owner, ids)

    async def archived_memories(self, user_id: str) -> list[MemoryEntry]:
        """The user's archived memories, the most recently archived first
        (``Capability.PRUNING``)."""
        owner = require_id(user_id, "user_id")
        pruning = self._pruning("archived_memories")
        async with self._operation("archived_memories"):
            return await pruning.archived_memories(owner)

    # -- branches ----------------------------------------------------------------------------

    def _branching(self, operation: str) -> Branching:
        return self._part(Capability.BRANCHING, operation, self._storage.branching)

    async def fork_conversation(
        self,
        conversation_id: str,
        at_message_id: uuid.UUID | str,
        *,
        branch_id: str | None = None,
    ) -> str:
        """Start a branch sharing the conversation's history up to and including
        ``at_message_id``; its id (``branch_id``, or a new one) is a conversation id
        everywhere: messages stored into it are its own and never change the parent, and
        every read of it is one linear history (the inherited messages, then its own). A
        fork writes one row and copies no message (``Capability.BRANCHING``)."""
        cid = require_id(conversation_id, "conversation_id")
        at = parse_uuid(at_message_id, "at_message_id")
        new_id = optional_id(branch_id, "branch_id") or str(uuid.uuid4())
        branching = self._branching("fork_conversation")
        async with self._operation("fork_conversation"):
            await branching.fork(cid, at, new_id)
        return new_id

    async def list_branches(self, conversation_id: str) -> list[Branch]:
        """The branches forked from the conversation's own messages, oldest first."""
        cid = require_id(conversation_id, "conversation_id")
        branching = self._branching("list_branches")
        async with self._operation("list_branches"):
            return await branching.branches(cid)

    # -- compression -------------------------------------------------------------------------

    def _summaries(self, operation: str) -> Summaries:
        return self._part(Capability.COMPRESSION, operation, self._storage.summaries)

    async def compress(
        self,
        conversation_id: str,
        *,
        llm: LLMInterface | None = None,
        policy: CompressionPolicy | None = None,
    ) -> CompressionReport:
        """Summarize the conversation's older messages with ``llm`` (default: the memory's
        ``llm=``), as ``policy`` says (default: the memory's ``compression=``, else
        :class:`CompressionPolicy`'s defaults). Messages are never changed or deleted; each
        summary lands in one transaction, and a failure (a
        :class:`~bruno_memory.errors.CompressionError`) leaves the store as it was before
        the failed step. A run with nothing new does nothing. The rules are
        :mod:`bruno_memory.context.compression`'s (``Capability.COMPRESSION``)."""
        cid = require_id(conversation_id, "conversation_id")
        summaries = self._summaries("compress")
        chosen = llm or self._llm
        if chosen is None:
            raise ConfigurationError(
                "compress needs an LLM: pass llm= to compress() or to create_memory()"
            )
        async with self._operation("compress") as storage:
            compressor = Compressor(
                storage,
                summaries,
                cid,
                llm=chosen,
                policy=policy or self._compression,
                counter=self._counter,
            )
            report = await compressor.run()
        await self._events.compression_triggered(report)
        return report

    async def wait_for_compression(self) -> None:
        """Wait for the background compressions in flight (``auto_compress=True``)."""
        if self._background is not None:
            await self._background.drain()

    async def list_summaries(
        self, conversation_id: str, *, include_covered: bool = True
    ) -> list[Summary]:
        """The conversation's summaries, chronologically (a higher level before the
        summaries it covers); ``include_covered=False`` leaves only the frontier: the
        summaries no higher level took in, which together cover every summarized message
        once (``Capability.COMPRESSION``)."""
        cid = require_id(conversation_id, "conversation_id")
        summaries = self._summaries("list_summaries")
        async with self._operation("list_summaries"):
            return await summaries.list_summaries(cid, covered=include_covered)

    # -- retrieval ---------------------------------------------------------------------------

    def _retrieval(self, operation: str) -> Retrieval:
        return self._part(Capability.RETRIEVAL, operation, self._storage.retrieval)

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
        """Messages and memory entries relevant to ``query``, best first
        (``Capability.RETRIEVAL``; ``mode="semantic"`` needs ``Capability.SEMANTIC``).

        ``mode``: ``"exact"`` (the query as a phrase), ``"fulltext"``, ``"semantic"`` (needs
        an embedder) or ``"hybrid"`` (both fused; full-text alone without an embedder).
        ``since`` (inclusive) and ``until`` (exclusive) bound message timestamps and memory
        creation times; ``filters`` match top-level metadata values (a memory's custom
        fields). Each hit carries the item, its score and the signals that matched.
        """
        if mode == "semantic":
            self._require(Capability.SEMANTIC, "search(mode='semantic')")
        retrieval = self._retrieval("search")
        require_query(query)
        if isinstance(kinds, str):
            raise InvalidInputError("kinds must be a sequence of 'message' and/or 'memory'")
        scope = SearchScope(
            user_id=optional_id(user_id, "user_id"),
            conversation_id=optional_id(conversation_id, "conversation_id"),
            since=_bound(since, "since"),
            until=_bound(until, "until"),
            metadata=dict(require_json_object(dict(filters or {}), "filters")),
        )
        async with self._operation("search"):
            return await retrieval.search(
                query, scope=scope, limit=require_limit(limit), mode=mode, kinds=tuple(kinds)
            )

    async def wait_for_embeddings(self) -> None:
        """Return once every stored message and memory is embedded (no-op without embedder).

        Embeds what is queued in this task, retries included; raises the embedder's error
        (an :class:`~bruno_memory.errors.EmbeddingError`) if it fails.
        """
        retrieval = self._storage.retrieval
        if retrieval is not None:
            async with self._operation("wait_for_embeddings"):
                await retrieval.wait_for_embeddings()

    @property
    def semantic_fallbacks(self) -> int:
        """How many rankings (hybrid ``search``, ranked ``retrieve_memories``) fell back to
        full text because the embedder failed (each also logs a warning)."""
        retrieval = self._storage.retrieval
        return 0 if retrieval is None else retrieval.semantic_fallbacks

    async def embedding_backlog(self) -> int:
        """How many messages and memories wait to be embedded (0 without embedder)."""
        retrieval = self._storage.retrieval
        if retrieval is None:
            return 0
        async with self._operation("embedding_backlog"):
            return await retrieval.embedding_backlog()

    async def drop_other_embeddings(self) -> dict[str, int]:
        """Delete the vectors of every embedding model but this memory's embedder's, in one
        transaction (``Capability.SEMANTIC``); the vectors deleted per model key.

        Only once the embedder has embedded every item (``embedding_backlog() == 0``), else
        an :class:`~bruno_memory.errors.EmbeddingError` and nothing is dropped. The models
        dropped are forgotten: one configured again later embeds everything anew.
        """
        self._require(Capability.SEMANTIC, "drop_other_embeddings")
        retrieval = self._retrieval("drop_other_embeddings")
        async with self._operation("drop_other_embeddings"):
            return await retrieval.drop_other_embeddings()

    # -- users -----------------------------------------------------------------------------

    async def get_user_context(self, user_id: str) -> UserContext:
        """The user's name, profile, preferences and metadata (empty for a user never
        written), as ``get_context`` and ``build_context`` carry them."""
        require_id(user_id, "user_id")
        async with self._operation("get_user_context") as storage:
            return await storage.get_user(user_id) or UserContext(user_id=user_id)

    async def update_user_context(
        self,
        user_id: str,
        *,
        name: str | None = None,
        profile: dict[str, Any] | None = None,
        preferences: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> UserContext:
        """Change the user's context; returns it as stored.

        ``name`` replaces the name; ``profile``, ``preferences`` and ``metadata`` are merged
        into what is stored as JSON merge patches (RFC 7386): a key set to None is removed,
        nested dicts merge. Concurrent updates of different keys all land.
        """
        require_id(user_id, "user_id")
        if name is not None:
            require_text(name, "name")
        for value, field in (
            (profile, "profile"),
            (preferences, "preferences"),
            (metadata, "metadata"),
        ):
            if value is not None:
                require_json_object(value, field)
        patch = UserContextPatch(name, profile, preferences, metadata)
        async with self._operation("update_user_context") as storage:
            return await storage.update_user(user_id, patch)

    async def get_statistics(self, user_id: str) -> dict[str, Any]:
        """Counts of the user's messages (total and per role), conversations, sessions and
        memories, and the time of their first and last message."""
        require_id(user_id, "user_id")
        async with self._operation("get_statistics") as storage:
            return await storage.statistics(user_id)

    async def delete_user(self, user_id: str) -> dict[str, int]:
        """Delete the user and all they own; returns what was deleted, per kind."""
        require_id(user_id, "user_id")
        async with self._operation("delete_user") as storage:
            return await storage.erase_user(user_id)

    # -- analytics -------------------------------------------------------------------------

    async def analytics(
        self,
        user_id: str | None = None,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Analytics:
        """Growth per day, conversation patterns (lengths, turn-taking, active hours), the
        top keywords of the newest messages, LLM usage (the summaries' calls) and embedding
        usage of one user (everyone when None), from ``since`` (inclusive) until ``until``
        (exclusive); with the latencies of the operations this memory ran (p50, p95, p99).
        Aggregated by the storage: memory is bounded at any size
        (``Capability.ANALYTICS``)."""
        analysis = self._part(Capability.ANALYTICS, "analytics", self._storage.analytics)
        window = Window(
            user_id=optional_id(user_id, "user_id"),
            since=_bound(since, "since"),
            until=_bound(until, "until"),
        )
        async with self._operation("analytics"):
            figures = await analysis.figures(window)
            topics = await sample_topics(analysis, window)
        return Analytics(
            **dict(figures),
            window=window,
            generated_at=utc_now(),
            topics=topics,
            latencies=self._latencies.snapshot(),
        )

    # -- storage extras ------------------------------------------------------------------------

    @property
    def cache_stats(self) -> CacheStats | None:
        """Hits, misses, errors and fallbacks of the cache, if the storage has one."""
        return self._storage.cache_stats

    def event_stream(self) -> RedisEventStream:
        """Follow the events (messages stored, sessions started and ended) live, or
        through consumer groups for at-least-once delivery (``Capability.EVENT_STREAMS``)::

            async with memory.event_stream() as stream:
                async for item in stream.follow_group("indexers", "worker-1", user_id="alice"):
                    ...
                    await item.ack()
        """
        stream = self._part(Capability.EVENT_STREAMS, "event_stream", self._storage.event_stream())
        return cast("RedisEventStream", stream)  # the only event stream there is

    async def sweep_expired(self) -> int:
        """Unindex conversations that expired (``Capability.EXPIRY``; the open storage also
        does it periodically); returns how many were swept."""
        expiry = self._part(Capability.EXPIRY, "sweep_expired", self._storage.expiry)
        async with self._operation("sweep_expired"):
            return await expiry.sweep_expired()


async def _find_or_start(
    storage: Storage, user_id: str, wanted: str | None, window: int
) -> tuple[ContextParts, bool]:
    """The context of the session ``wanted`` names, starting one when none matches; a
    session someone else starts meanwhile is used (never two for one conversation).
    Whether the session is the one this call started."""
    for _ in range(CONTEXT_ATTEMPTS):
        started = None
        parts = await storage.read_context(user_id, wanted, window)
        if parts is None:
            started = await storage.start_session(
                user_id, wanted or str(uuid.uuid4()), None, reuse=True
            )
            if started is None:
                continue
            parts = await storage.read_context(user_id, started.session_id, window)
        if parts is None:
            continue
        if parts.session.user_id != user_id:
            raise AccessDeniedError(
                "the session belongs to another user",
                details={"session_id": wanted, "user_id": user_id},
            )
        return parts, started is not None and started.session_id == parts.session.session_id
    raise StorageError("a session kept appearing and vanishing while starting one")


def _text_query(
    query: str, mode: MatchMode, user_id: str | None, limit: int
) -> tuple[FullTextQuery, str | None, int]:
    """A word query, its user scope and its limit, validated."""
    parsed = FullTextQuery.parse(query, mode)
    return parsed, optional_id(user_id, "user_id"), require_limit(limit)


def _context_budget(max_tokens: int, reserve_tokens: int) -> int:
    """Tokens a context may hold: ``max_tokens`` less the reply's reserve."""
    for value, name in ((max_tokens, "max_tokens"), (reserve_tokens, "reserve_tokens")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInputError(f"{name} must be a non-negative int", details={name: value})
    if max_tokens - reserve_tokens <= 0:
        raise InvalidInputError(
            "reserve_tokens leaves nothing of max_tokens",
            details={"max_tokens": max_tokens, "reserve_tokens": reserve_tokens},
        )
    return max_tokens - reserve_tokens


def _bound(value: dt.datetime | None, name: str) -> dt.datetime | None:
    return None if value is None else as_utc(require_timestamp(value, name))
