"""The storage port: what a system of record does, and nothing more.

The facade (:class:`~bruno_memory.memory.Memory`) validates every input, checks ownership
and capabilities, runs the ``get_context`` flow and translates errors, once, above this
port; a storage receives values that are already valid (ids checked, limits positive,
cursors parsed, queries parsed into :class:`~bruno_memory.db.fulltext.FullTextQuery`) and
only stores and reads. Three storages implement it: SQL (unit of work and repositories, see
:mod:`bruno_memory.backends.sql`), Redis (Lua scripts, :mod:`bruno_memory.backends.redis`) and
the in-memory reference (plain Python, :mod:`bruno_memory.backends.memory`).

Optional features are sub-ports (``retrieval``, ``schema``, ``expiry``, ``summaries``,
``branching``, ``archival``, ``pruning``, ``user_listing``, ``transfer``, ``analytics``)
that are None
where the storage lacks them; ``capabilities`` names what is there.

Listings are keyset pages (``page_*``): up to ``limit`` items strictly after the cursor
``after`` (the key of the last item of the previous page; None: from the start), in the
listing's order, and fewer than ``limit`` only when nothing is left; a cursor needs no item
to exist any more. Users, conversations and sessions are listed by id (byte order; on
PostgreSQL the database's collation), memories by creation time then id, messages by
position (``page_messages``). A storage reads one page at a time, by an index (never a
scan of the keyspace), and lists only what it confirms: hints it keeps about an item that
is gone are skipped, never counted. The facade builds iterators over these pages.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bruno_core.models.context import SessionContext, UserContext
from bruno_core.models.memory import MemoryEntry, MemoryQuery
from bruno_core.models.message import Message

from bruno_memory.capabilities import Capability

if TYPE_CHECKING:
    from bruno_memory.analytics.model import Figures, TextKey, Window
    from bruno_memory.branches import Branch
    from bruno_memory.context.summaries import Summary
    from bruno_memory.db.fulltext import FullTextQuery
    from bruno_memory.listing import ConversationInfo
    from bruno_memory.ports.cache import CacheStats
    from bruno_memory.ports.events import EventStream
    from bruno_memory.ports.scope import SearchScope
    from bruno_memory.ports.vector import ItemKind
    from bruno_memory.results import SearchHit, SearchMode
    from bruno_memory.transfer.records import Record
    from bruno_memory.transfer.reports import LoadCounts
    from bruno_memory.user_context import UserContextPatch


#: The order in which a storage lists memories (``select_memories``, ``search_memories``):
#: by each key in turn, highest first. With a text query the best match leads; without one
#: the most important; ties go to the newest created, then to the newest stored. Each
#: storage maps the keys to its own columns or fields, and the keys are all it is told.
#: It is the order the facade reads a pool in: the ranking callers see is the priority
#: score's (:mod:`bruno_memory.priority`), computed once, above this port.
MEMORY_ORDER_BY_RELEVANCE = ("relevance", "stored")
MEMORY_ORDER = ("importance", "created", "stored")

#: The key of a memory in its user's listing (``page_memories``): its creation time, then
#: its id.
MemoryCursor = tuple[dt.datetime, uuid.UUID]


@dataclass(frozen=True)
class ContextParts:
    """What a storage reads for ``get_context``: the session found, its user's context and
    the conversation's window (chronological, earlier system messages pinned in front)."""

    session: SessionContext
    user: UserContext
    messages: list[Message]


class Retrieval(Protocol):
    """Ranked search over messages and memories (``Capability.RETRIEVAL``)."""

    async def search(
        self,
        query: str,
        *,
        scope: SearchScope,
        limit: int,
        mode: SearchMode,
        kinds: tuple[ItemKind, ...],
    ) -> list[SearchHit]:
        """Hits for ``query`` within ``scope``, best first."""
        ...

    async def wait_for_embeddings(self) -> None:
        """Return once everything stored is embedded (no-op without an embedder)."""
        ...

    async def embedding_backlog(self) -> int:
        """How many items wait to be embedded."""
        ...

    async def drop_other_embeddings(self) -> dict[str, int]:
        """Delete the vectors of every model but the embedder's, once it has embedded every
        item; the vectors deleted per model key."""
        ...

    @property
    def semantic_fallbacks(self) -> int:
        """Rankings that fell back to full text because the embedder failed."""
        ...


class Schema(Protocol):
    """A versioned schema (``Capability.MIGRATIONS``)."""

    async def migrate(self, revision: str) -> None:
        """Upgrade the schema to ``revision``."""
        ...


class Expiry(Protocol):
    """Conversations that expire (``Capability.EXPIRY``)."""

    async def sweep_expired(self) -> int:
        """Unindex what expired; how many conversations went."""
        ...


class Archival(Protocol):
    """Archived messages (``Capability.ARCHIVE``): out of the default reads, the window,
    search and context; kept, listed on request and restorable."""

    async def archive(self, conversation_id: str, before: dt.datetime) -> int:
        """Archive the conversation's own messages timestamped before ``before`` (never its
        system messages); how many were archived."""
        ...

    async def restore(self, conversation_id: str, after: dt.datetime | None) -> int:
        """Restore the conversation's archived messages (those at or after ``after``, all
        when None); how many were restored."""
        ...


class Pruning(Protocol):
    """Archived memories (``Capability.PRUNING``): out of the default reads, search and
    context; kept, listed on request and restorable. Storing a memory with a subject links
    it to the older ones of its subject (:func:`~bruno_memory.priority.supersession`), in
    the same write; an update keeps the links (:func:`~bruno_memory.priority.keep_links`)."""

    async def archive_memories(self, user_id: str, memory_ids: Sequence[uuid.UUID]) -> int:
        """Archive those of the user's memories that are not archived and not pinned
        (:func:`~bruno_memory.priority.is_pinned`), in one write; how many."""
        ...

    async def restore_memories(self, user_id: str, memory_ids: Sequence[uuid.UUID] | None) -> int:
        """Restore the user's archived memories (those of ``memory_ids``, all when None);
        how many were restored."""
        ...

    async def archived_memories(self, user_id: str) -> list[MemoryEntry]:
        """The user's archived memories, the most recently archived first."""
        ...


class Branching(Protocol):
    """Branches of conversations (``Capability.BRANCHING``): a branch is a conversation that
    inherits its parent's history up to a message; every message read of a branch reads
    that history, then the branch's own messages."""

    async def fork(self, conversation_id: str, at_message_id: uuid.UUID, branch_id: str) -> None:
        """Create the conversation ``branch_id`` (owned as ``conversation_id`` is) sharing the
        history of ``conversation_id`` up to and including ``at_message_id``; nothing is
        copied. MessageNotFoundError when the message is not in that history."""
        ...

    async def branches(self, conversation_id: str) -> list[Branch]:
        """The branches forked from the conversation's own messages, oldest first."""
        ...


class Summaries(Protocol):
    """Summaries of conversation spans (``Capability.COMPRESSION``); the rules of what to
    summarize are :mod:`bruno_memory.context.compression`'s."""

    async def list_summaries(self, conversation_id: str, *, covered: bool) -> list[Summary]:
        """The conversation's summaries, chronologically (by the position of their first
        message, the higher level first); those covered by a higher level only when
        ``covered``. Without them: the frontier, disjoint spans oldest first."""
        ...

    async def add_summary(self, summary: Summary) -> bool:
        """Store ``summary`` and mark its sources covered by it (level > 0), in one
        transaction. False, and nothing stored, when its span is no longer there (its first
        or last message is gone), a summary of its level already starts at its first
        message, or one of its sources is already covered: another run got there first."""
        ...


class UserListing(Protocol):
    """An index of every user (``Capability.USER_LISTING``)."""

    async def page_users(self, *, after: str | None, limit: int) -> list[UserContext]:
        """A keyset page of the users (those with a stored record), by id."""
        ...


class Transfer(Protocol):
    """The store as export records, and records stored back (``Capability.TRANSFER``; the
    format is :mod:`bruno_memory.transfer.records`)."""

    def dump(
        self, *, since: dt.datetime | None, embeddings: bool, page_size: int
    ) -> AsyncIterator[Record]:
        """Every record (those changed at or after ``since`` when given), kind by kind in
        the load order, all read from one consistent snapshot, a page at a time."""
        ...

    async def load(self, records: Sequence[Record]) -> LoadCounts:
        """Store a batch of records of one kind in one transaction: absent ones inserted,
        identical ones left, others replaced unless the stored row changed later; a record
        that cannot be stored raises ImportRecordError and nothing of the batch lands."""
        ...


class Analysis(Protocol):
    """Aggregates of what the storage holds (``Capability.ANALYTICS``), computed where it is
    stored: nothing read grows with the data."""

    async def figures(self, window: Window) -> Figures:
        """Growth, conversation patterns and LLM and embedding usage of the window."""
        ...

    async def message_texts(
        self, window: Window, *, before: TextKey | None, limit: int
    ) -> list[tuple[TextKey, str]]:
        """A page of the window's messages, the newest first (by timestamp, then as
        stored): each one's key (the next page is ``before`` the last key) and its text."""
        ...


class Storage(Protocol):
    """A system of record for conversations, sessions, memories and users.

    Every write is all or nothing. Reads never fail because of something stored earlier.
    """

    #: ``"sqlite"``, ``"postgresql"``, ``"redis"`` or ``"memory"``.
    backend: str
    capabilities: frozenset[Capability]
    #: Messages in ``get_context``'s window (the storage's settings say how many).
    context_window: int
    retrieval: Retrieval | None
    schema: Schema | None
    expiry: Expiry | None
    summaries: Summaries | None
    branching: Branching | None
    archival: Archival | None
    pruning: Pruning | None
    user_listing: UserListing | None
    transfer: Transfer | None
    analytics: Analysis | None

    async def open(self) -> None:
        """Connect (and migrate, where the settings say so). Idempotent."""
        ...

    async def close(self) -> None:
        """Release every connection and background task; the storage can reopen."""
        ...

    async def ping(self) -> None:
        """One cheap round trip to the open storage (its health check); raises the typed
        error of the failure when it does not answer."""
        ...

    @property
    def cache_stats(self) -> CacheStats | None:
        """Counters of the cache in front of the storage, if any."""
        ...

    def event_stream(self) -> EventStream | None:
        """The storage's event streams (``Capability.EVENT_STREAMS``), or None."""
        ...

    # -- messages ----------------------------------------------------------------------------

    async def append_messages(
        self, conversation_id: str, messages: Sequence[Message], user_id: str | None
    ) -> str | None:
        """Append ``messages`` in order (a non-empty batch of distinct ids); ``user_id`` is
        the user they name, who must own (or then owns) the conversation. The
        conversation's owner once they landed (None: unowned)."""
        ...

    async def latest_messages(self, conversation_id: str, limit: int | None) -> list[Message]:
        """The conversation's last ``limit`` messages (all when None), most recent first."""
        ...

    async def page_messages(
        self,
        conversation_id: str,
        *,
        after: uuid.UUID | None,
        before: uuid.UUID | None,
        limit: int,
        include_archived: bool = False,
    ) -> list[Message]:
        """Up to ``limit`` messages strictly between two cursors, oldest first (archived ones
        only with ``include_archived``); a cursor that is not in the conversation raises
        MessageNotFoundError."""
        ...

    async def clear_messages(self, conversation_id: str, *, keep_system: bool) -> int:
        """Delete the conversation's messages (but its system messages if asked); how many."""
        ...

    async def search_messages(
        self, query: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[Message]:
        """Messages matching ``query`` (a non-empty query), best first."""
        ...

    # -- sessions ----------------------------------------------------------------------------

    async def start_session(
        self,
        user_id: str,
        conversation_id: str,
        metadata: dict[str, Any] | None,
        *,
        reuse: bool,
        session_id: str | None = None,
    ) -> SessionContext | None:
        """Start a session in the conversation (created or claimed for the user), with the
        id ``session_id`` (a new one when None; one already taken raises ConflictError and
        writes nothing). With ``reuse``, None when the conversation already has a session."""
        ...

    async def page_sessions(
        self, user_id: str, *, active: bool | None, after: str | None, limit: int
    ) -> list[SessionContext]:
        """A keyset page of the user's sessions, by id (only the open ones with
        ``active=True``, only the ended ones with False)."""
        ...

    async def page_conversations(
        self, user_id: str, *, after: str | None, limit: int
    ) -> list[ConversationInfo]:
        """A keyset page of the conversations the user owns (branches included), by id."""
        ...

    async def get_session(self, session_id: str) -> SessionContext | None:
        """The session, or None."""
        ...

    async def end_session(self, session_id: str, now: dt.datetime) -> bool:
        """Close the session (closing a closed one changes nothing); whether it exists."""
        ...

    async def read_context(
        self, user_id: str, wanted: str | None, window: int
    ) -> ContextParts | None:
        """The context of the session ``wanted`` names (a session id, else the latest session
        of a conversation with that id), or of the user's latest open session when None;
        None when there is no such session. The session may belong to another user: the
        caller checks."""
        ...

    # -- memories ----------------------------------------------------------------------------

    async def put_memory(self, entry: MemoryEntry) -> None:
        """Store a new entry; an existing id raises ConflictError."""
        ...

    async def get_memory(self, memory_id: uuid.UUID) -> MemoryEntry | None:
        """The entry, or None (reading it is not an access)."""
        ...

    async def update_memory(self, entry: MemoryEntry) -> MemoryEntry:
        """Replace the stored entry's content and metadata (same user); returns it."""
        ...

    async def drop_memory(self, memory_id: uuid.UUID) -> bool:
        """Delete the entry; whether there was one."""
        ...

    async def select_memories(
        self, query: MemoryQuery, text: FullTextQuery | None
    ) -> list[MemoryEntry]:
        """Entries matching the query's filters (archived ones never), ranked by ``text``
        when given (else by :data:`MEMORY_ORDER`); reading them is not an access."""
        ...

    async def search_memories(
        self, query: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[MemoryEntry]:
        """Unexpired, unarchived entries matching ``query``, best first; not an access."""
        ...

    async def touch_memories(self, entries: Sequence[MemoryEntry]) -> list[MemoryEntry]:
        """Count one access of each entry (as read from this storage); copies of them with
        their new access count and last access, in order (those gone meanwhile left out)."""
        ...

    async def page_memories(
        self,
        user_id: str,
        *,
        after: MemoryCursor | None,
        limit: int,
        include_archived: bool,
    ) -> list[MemoryEntry]:
        """A keyset page of the user's memories (expired ones too; archived ones only with
        ``include_archived``), by creation time then id; not an access."""
        ...

    # -- users -------------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> UserContext | None:
        """The user's stored context, or None when the user has none."""
        ...

    async def update_user(self, user_id: str, patch: UserContextPatch) -> UserContext:
        """Apply ``patch`` to the user's context (created if missing) with
        :func:`~bruno_memory.user_context.apply_patch`, atomically; the context stored."""
        ...

    async def statistics(self, user_id: str) -> dict[str, Any]:
        """Counts of the user's messages (total, per role), conversations, sessions and
        memories, and the time of their first and last message."""
        ...

    async def erase_user(self, user_id: str) -> dict[str, int]:
        """Delete the user and everything they own; what was deleted, per kind."""
        ...
