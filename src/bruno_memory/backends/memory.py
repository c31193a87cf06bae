"""The in-memory storage: the storage port in plain Python, the reference for fast tests.

::

    async with create_memory("memory://") as memory:
        session = await memory.create_session("alice")

Like langgraph's ``InMemorySaver``: dicts and lists in one process, gone with the object;
each instance is a database of its own. It keeps the contract of the other storages (the
conformance suite runs on it unchanged), including ranked ``search()`` by full text through
the shared ranking (:mod:`bruno_memory.retrieval.ranking`) over its own candidate source.
It has no embedder, no schema, no expiry, no cache and no event streams.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from bruno_core.models.context import SessionContext, UserContext
from bruno_core.models.memory import MemoryEntry, MemoryQuery
from bruno_core.models.message import Message, MessageRole
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bruno_memory.backends._memory.analytics import InMemoryAnalysis
from bruno_memory.backends._memory.candidates import InMemoryCandidates
from bruno_memory.backends._memory.fulltext import best
from bruno_memory.backends._memory.memories import accessed, copies, ordered, selected
from bruno_memory.backends._memory.tables import (
    Conversation,
    StoredMemory,
    StoredMessage,
    Tables,
    normalized_memory,
    normalized_message,
    through_json,
)
from bruno_memory.capabilities import Capability
from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.db.types import as_utc, utc_now
from bruno_memory.errors import (
    AccessDeniedError,
    ConfigurationError,
    ConflictError,
    MemoryNotFoundError,
    MessageNotFoundError,
)
from bruno_memory.listing import ConversationInfo
from bruno_memory.mapping import new_session_row, session_from_row
from bruno_memory.ports.cache import CacheStats
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
from bruno_memory.priority import (
    is_pinned,
    is_superseded,
    keep_links,
    linked,
    replaced_by,
    subject_of,
    supersession,
)
from bruno_memory.retrieval.options import retrieval_settings
from bruno_memory.retrieval.ranking import FullTextRetrieval, Retriever
from bruno_memory.settings import SearchOptions, nest_shortcuts
from bruno_memory.terms import term
from bruno_memory.user_context import UserContextPatch, apply_patch
from bruno_memory.window import context_window

#: The one URL of the storage.
MEMORY_URL = "memory://"


class InMemorySettings(BaseModel):
    """What the in-memory storage takes: the context window and how ``search()`` ranks (the
    ``search`` section, as for the other storages: ``search={...}`` or ``search_<field>=``).
    Any other option is refused. Nothing is read from the environment."""

    model_config = ConfigDict(extra="forbid")

    context_window: int = Field(
        default=20, ge=1, le=1000, description="Messages in the window get_context returns."
    )
    search: SearchOptions = Field(default_factory=SearchOptions)

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, data: Any) -> Any:
        return nest_shortcuts(data, {"search": SearchOptions}) if isinstance(data, dict) else data


class InMemoryStorage:
    """Conversations, sessions, memories and users in dicts of one process.

    Atomicity: every operation runs to completion without an ``await`` between its first
    read and its last write, so on the event loop no other operation interleaves with it
    (a lock would guard nothing more); and everything that can fail (normalizing, finding
    a conflict or a foreign owner) happens before the first change, so a refused write
    changes nothing. Use one instance from one event loop (the sync twin's is one).
    """

    backend = "memory"
    schema: Schema | None = None
    expiry: Expiry | None = None
    cache_stats: CacheStats | None = None
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.FULL_TEXT,
            Capability.RETRIEVAL,
            Capability.PRUNING,
            Capability.USER_LISTING,
            Capability.ANALYTICS,
        }
    )

    def __init__(
        self, url: str = MEMORY_URL, *, settings: InMemorySettings | None = None, **options: Any
    ) -> None:
        _check_url(url)
        base = settings.model_dump() if settings is not None else {}
        try:
            self.settings = InMemorySettings(**{**base, **options})
        except ValidationError as exc:
            raise ConfigurationError(
                f"invalid in-memory storage settings: {exc}", cause=exc
            ) from exc
        self.context_window = self.settings.context_window
        self._tables = Tables()
        source = InMemoryCandidates(self._tables)
        self._retriever = Retriever(source, retrieval_settings(self.settings.search), None)
        self.retrieval: Retrieval | None = FullTextRetrieval(self._retriever)
        self.summaries: Summaries | None = None
        self.branching: Branching | None = None
        self.archival: Archival | None = None
        self.pruning: Pruning | None = self
        self.user_listing: UserListing | None = self
        self.transfer: Transfer | None = None
        self.analytics: Analysis | None = InMemoryAnalysis(self._tables)

    def _written(self) -> None:
        """After every write: cached search results are stale."""
        self._retriever.invalidate()

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Load the stemmer, so a missing one fails here rather than mid-write. Idempotent."""
        term("open")

    async def close(self) -> None:
        """Nothing to release; what is stored stays until the object goes (it can reopen)."""

    async def ping(self) -> None:
        """Nothing to reach: the storage is this process's memory."""

    def event_stream(self) -> None:
        """The in-memory storage publishes no event streams."""
        return

    # -- messages --------------------------------------------------------------------------

    async def append_messages(
        self, conversation_id: str, messages: Sequence[Message], user_id: str | None
    ) -> str | None:
        """Normalize and index the batch, check ids and owner, then write it all."""
        batch = [normalized_message(message, conversation_id) for message in messages]
        taken = next((m.id for m in batch if m.id in self._tables.homes), None)
        if taken is not None:
            raise ConflictError(
                f"a message with id {taken} already exists", details={"id": str(taken)}
            )
        first = self._writable(conversation_id, user_id) + 1
        records = [self._tables.new_message(m, first + n) for n, m in enumerate(batch)]
        conversation = self._open_conversation(conversation_id, user_id)
        for stored in records:
            conversation.messages[stored.seq] = stored
            self._tables.homes[stored.message.id] = (conversation_id, stored.seq)
        conversation.last_seq = records[-1].seq
        conversation.updated_at = utc_now()
        self._touch_sessions(conversation_id, utc_now())
        self._written()
        return conversation.owner

    async def latest_messages(self, conversation_id: str, limit: int | None) -> list[Message]:
        conversation = self._tables.conversations.get(conversation_id)
        newest = list(conversation.messages.values())[::-1] if conversation else []
        return _copies(newest if limit is None else newest[:limit])

    async def page_messages(
        self,
        conversation_id: str,
        *,
        after: uuid.UUID | None,
        before: uuid.UUID | None,
        limit: int,
        include_archived: bool = False,
    ) -> list[Message]:
        """Positions strictly between the cursors; with only ``before``, the page ends just
        before it, otherwise it starts just after ``after`` (or at the beginning)."""
        low = self._position(conversation_id, after, "after")
        high = self._position(conversation_id, before, "before")
        conversation = self._tables.conversations.get(conversation_id)
        between = [
            stored
            for stored in (conversation.messages.values() if conversation else ())
            if (low is None or stored.seq > low) and (high is None or stored.seq < high)
        ]
        return _copies(between[-limit:] if high is not None and low is None else between[:limit])

    async def clear_messages(self, conversation_id: str, *, keep_system: bool) -> int:
        conversation = self._tables.conversations.get(conversation_id)
        if conversation is None:
            return 0
        gone = [
            stored
            for stored in conversation.messages.values()
            if not (keep_system and MessageRole(stored.message.role) is MessageRole.SYSTEM)
        ]
        for stored in gone:
            del conversation.messages[stored.seq]
            del self._tables.homes[stored.message.id]
        self._written()
        return len(gone)

    async def search_messages(
        self, query: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[Message]:
        found = (stored for _, stored in self._tables.messages_in(SearchScope(user_id=user_id)))
        return _copies(best(found, query, limit))

    def _position(self, conversation_id: str, cursor: uuid.UUID | None, name: str) -> int | None:
        """The position of a cursor in the conversation; MessageNotFoundError if not there."""
        if cursor is None:
            return None
        home = self._tables.homes.get(cursor)
        if home is None or home[0] != conversation_id:
            raise MessageNotFoundError(
                f"the {name!r} message is not in this conversation",
                details={"conversation_id": conversation_id, name: str(cursor)},
            )
        return home[1]

    def _writable(self, conversation_id: str, user_id: str | None) -> int:
        """The conversation's last position (0 when new), once ``user_id`` may write into it:
        AccessDeniedError when another user owns it (``user_id=None`` writes as the owner)."""
        conversation = self._tables.conversations.get(conversation_id)
        if conversation is None:
            return 0
        if user_id is not None and conversation.owner not in (None, user_id):
            raise AccessDeniedError(
                "the conversation belongs to another user",
                details={"conversation_id": conversation_id, "user_id": user_id},
            )
        return conversation.last_seq

    def _open_conversation(self, conversation_id: str, user_id: str | None) -> Conversation:
        """The conversation, created for ``user_id`` or claimed by it when unowned (its
        messages follow: a message's user is its conversation's owner). Call
        :meth:`_writable` first."""
        conversation = self._tables.conversations.setdefault(
            conversation_id, Conversation(owner=user_id)
        )
        if user_id is not None:
            conversation.owner = user_id
            self._tables.ensure_user(user_id)
        return conversation

    def _touch_sessions(self, conversation_id: str, now: dt.datetime) -> None:
        """Record activity in the open sessions of the conversation."""
        for session in self._tables.sessions_of(conversation_id):
            if session.is_active:
                session.last_activity = now

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
        if reuse and self._tables.sessions_of(conversation_id):
            return None
        if session_id in self._tables.sessions:
            raise ConflictError(
                f"a session with id {session_id!r} already exists", details={"id": session_id}
            )
        self._writable(conversation_id, user_id)
        row = new_session_row(user_id=user_id, conversation_id=conversation_id, metadata=metadata)
        if session_id is not None:
            row.id = session_id
        session = through_json(session_from_row(row))
        self._open_conversation(conversation_id, user_id)
        self._tables.sessions[session.session_id] = session
        self._written()  # the conversation and its messages may have been claimed
        return session.model_copy(deep=True)

    async def get_session(self, session_id: str) -> SessionContext | None:
        session = self._tables.sessions.get(session_id)
        return None if session is None else session.model_copy(deep=True)

    async def end_session(self, session_id: str, now: dt.datetime) -> bool:
        session = self._tables.sessions.get(session_id)
        if session is None:
            return False
        if session.is_active:
            session.is_active = False
            session.ended_at = session.last_activity = now
        return True

    async def read_context(
        self, user_id: str, wanted: str | None, window: int
    ) -> ContextParts | None:
        session = self._latest_open(user_id) if wanted is None else self._named(wanted)
        if session is None:
            return None
        user = self._tables.users.get(session.user_id) or UserContext(user_id=session.user_id)
        return ContextParts(
            session=session.model_copy(deep=True),
            user=user.model_copy(deep=True),
            messages=self._window(session.conversation_id, window),
        )

    async def page_sessions(
        self, user_id: str, *, active: bool | None, after: str | None, limit: int
    ) -> list[SessionContext]:
        found = [
            s
            for s in self._tables.sessions.values()
            if s.user_id == user_id
            and (active is None or s.is_active is active)
            and (after is None or s.session_id > after)
        ]
        found.sort(key=lambda s: s.session_id)
        return [s.model_copy(deep=True) for s in found[:limit]]

    async def page_conversations(
        self, user_id: str, *, after: str | None, limit: int
    ) -> list[ConversationInfo]:
        found = sorted(
            (cid, c)
            for cid, c in self._tables.conversations.items()
            if c.owner == user_id and (after is None or cid > after)
        )
        return [
            ConversationInfo(
                conversation_id=cid,
                user_id=user_id,
                created_at=c.created_at,
                updated_at=c.updated_at,
            )
            for cid, c in found[:limit]
        ]

    def _latest_open(self, user_id: str) -> SessionContext | None:
        """The user's most recently active open session (ties: the newest started)."""
        mine = [s for s in self._tables.sessions.values() if s.user_id == user_id and s.is_active]
        return max(reversed(mine), key=lambda s: as_utc(s.last_activity), default=None)

    def _named(self, wanted: str) -> SessionContext | None:
        """The session with id ``wanted``, else the latest session of the conversation with
        that id, open ones first."""
        if wanted in self._tables.sessions:
            return self._tables.sessions[wanted]
        return max(
            reversed(self._tables.sessions_of(wanted)),
            key=lambda s: (s.is_active, as_utc(s.last_activity)),
            default=None,
        )

    def _window(self, conversation_id: str, size: int) -> list[Message]:
        """The conversation's context window (:func:`~bruno_memory.window.context_window`)."""
        conversation = self._tables.conversations.get(conversation_id)
        stored = list(conversation.messages.values()) if conversation else []
        recent = stored[-size:]
        if not recent:
            return []
        earlier = [s for s in stored[: -len(recent)] if _is_system(s)][-size:]
        chosen = context_window(
            recent, earlier, size, is_system=_is_system, position=lambda s: s.seq
        )
        return _copies(chosen)

    # -- memories --------------------------------------------------------------------------

    async def put_memory(self, entry: MemoryEntry) -> None:
        if entry.id in self._tables.memories:
            raise ConflictError(
                f"a memory with id {entry.id} already exists", details={"id": str(entry.id)}
            )
        stored = self._tables.new_memory(normalized_memory(entry))
        self._link(stored)
        self._tables.ensure_user(entry.user_id)
        self._tables.memories[entry.id] = stored
        self._written()

    def _link(self, new: StoredMemory) -> None:
        """Link a new record to the heads of its subject
        (:func:`~bruno_memory.priority.supersession`)."""
        entry = new.entry
        subject = subject_of(entry)
        if subject is None:
            return
        heads = [
            m.entry
            for m in self._tables.memories.values()
            if m.entry.user_id == entry.user_id
            and m.entry.metadata.category == entry.metadata.category
            and subject_of(m.entry) == subject
            and not is_superseded(m.entry.metadata.custom_fields)
        ]
        links = supersession(entry.created_at, [(head.id, head.created_at) for head in heads])
        entry.metadata.custom_fields = linked(entry.metadata.custom_fields, links)
        for head in heads:
            if head.id in links.replaced:
                head.metadata.custom_fields = replaced_by(head.metadata.custom_fields, entry.id)

    async def get_memory(self, memory_id: uuid.UUID) -> MemoryEntry | None:
        stored = self._tables.memories.get(memory_id)
        return None if stored is None else stored.entry.model_copy(deep=True)

    async def update_memory(self, entry: MemoryEntry) -> MemoryEntry:
        """Content and metadata from ``entry``; creation, access and write order kept."""
        stored = self._tables.memories.get(entry.id)
        if stored is None:
            raise MemoryNotFoundError(f"no memory {entry.id}", details={"memory_id": str(entry.id)})
        if stored.entry.user_id != entry.user_id:
            raise AccessDeniedError(
                "a memory cannot move to another user",
                details={"memory_id": str(entry.id), "user_id": entry.user_id},
            )
        kept = stored.entry
        updated = normalized_memory(entry).model_copy(
            update={
                "created_at": kept.created_at,
                "last_accessed": kept.last_accessed,
                "updated_at": utc_now(),
            }
        )
        updated.metadata.access_count = kept.metadata.access_count
        fields = keep_links(kept.metadata.custom_fields, updated.metadata.custom_fields)
        updated.metadata.custom_fields = fields
        replacement = self._tables.new_memory(updated, stored.stored)
        replacement.archived_at = stored.archived_at
        self._tables.memories[entry.id] = replacement
        self._written()
        return updated.model_copy(deep=True)

    async def drop_memory(self, memory_id: uuid.UUID) -> bool:
        dropped = self._tables.memories.pop(memory_id, None) is not None
        self._written()
        return dropped

    async def select_memories(
        self, query: MemoryQuery, text: FullTextQuery | None
    ) -> list[MemoryEntry]:
        now = utc_now()
        pool = (m for m in self._tables.memories.values() if selected(m, query, now))
        return copies(ordered(pool, text, query.limit))

    async def search_memories(
        self, query: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[MemoryEntry]:
        pool = self._tables.memories_in(SearchScope(user_id=user_id), utc_now())
        return copies(ordered(pool, query, limit))

    async def touch_memories(self, entries: Sequence[MemoryEntry]) -> list[MemoryEntry]:
        stored = self._tables.memories
        found = [stored[entry.id] for entry in entries if entry.id in stored]
        return accessed(found, utc_now())

    async def page_memories(
        self,
        user_id: str,
        *,
        after: MemoryCursor | None,
        limit: int,
        include_archived: bool,
    ) -> list[MemoryEntry]:
        def key(stored: StoredMemory) -> tuple[dt.datetime, str]:
            return as_utc(stored.entry.created_at), str(stored.entry.id)

        start = None if after is None else (after[0], str(after[1]))
        found = [
            m
            for m in self._of_user(user_id)
            if (include_archived or m.archived_at is None) and (start is None or key(m) > start)
        ]
        found.sort(key=key)
        return copies(found[:limit])

    # -- pruning ---------------------------------------------------------------------------

    def _of_user(self, user_id: str) -> list[StoredMemory]:
        return [m for m in self._tables.memories.values() if m.entry.user_id == user_id]

    async def archive_memories(self, user_id: str, memory_ids: Sequence[uuid.UUID]) -> int:
        wanted = set(memory_ids)
        chosen = [
            m
            for m in self._of_user(user_id)
            if m.entry.id in wanted
            and m.archived_at is None
            and not is_pinned(m.entry.metadata.custom_fields)
        ]
        now = utc_now()
        for stored in chosen:
            stored.archived_at = now
        self._written()
        return len(chosen)

    async def restore_memories(self, user_id: str, memory_ids: Sequence[uuid.UUID] | None) -> int:
        wanted = None if memory_ids is None else set(memory_ids)
        chosen = [
            m
            for m in self._of_user(user_id)
            if m.archived_at is not None and (wanted is None or m.entry.id in wanted)
        ]
        for stored in chosen:
            stored.archived_at = None
        self._written()
        return len(chosen)

    async def archived_memories(self, user_id: str) -> list[MemoryEntry]:
        found = [m for m in self._of_user(user_id) if m.archived_at is not None]
        found.sort(key=lambda m: (m.archived_at, m.stored), reverse=True)
        return copies(found)

    # -- users -----------------------------------------------------------------------------

    async def page_users(self, *, after: str | None, limit: int) -> list[UserContext]:
        found = sorted(uid for uid in self._tables.users if after is None or uid > after)
        return [self._tables.users[uid].model_copy(deep=True) for uid in found[:limit]]

    async def get_user(self, user_id: str) -> UserContext | None:
        user = self._tables.users.get(user_id)
        return None if user is None else user.model_copy(deep=True)

    async def update_user(self, user_id: str, patch: UserContextPatch) -> UserContext:
        self._tables.ensure_user(user_id)
        updated = through_json(apply_patch(self._tables.users[user_id], patch))
        self._tables.users[user_id] = updated
        return updated.model_copy(deep=True)

    async def statistics(self, user_id: str) -> dict[str, Any]:
        owned = [c for c in self._tables.conversations.values() if c.owner == user_id]
        messages = [stored.message for c in owned for stored in c.messages.values()]
        by_role: dict[str, int] = {}
        for message in messages:
            role = MessageRole(message.role).value
            by_role[role] = by_role.get(role, 0) + 1
        times = [as_utc(message.timestamp) for message in messages]
        sessions = [s for s in self._tables.sessions.values() if s.user_id == user_id]
        memories = [m for m in self._tables.memories.values() if m.entry.user_id == user_id]
        return {
            "user_id": user_id,
            "total_messages": len(messages),
            "messages_by_role": by_role,
            "first_message_at": min(times, default=None),
            "last_message_at": max(times, default=None),
            "conversations": len(owned),
            "sessions": len(sessions),
            "active_sessions": sum(s.is_active for s in sessions),
            "memories": len(memories),
        }

    async def erase_user(self, user_id: str) -> dict[str, int]:
        tables = self._tables
        owned = [cid for cid, c in tables.conversations.items() if c.owner == user_id]
        messages = 0
        for conversation_id in owned:
            conversation = tables.conversations.pop(conversation_id)
            messages += len(conversation.messages)
            for stored in conversation.messages.values():
                del tables.homes[stored.message.id]
        sessions = [sid for sid, s in tables.sessions.items() if s.user_id == user_id]
        for session_id in sessions:
            del tables.sessions[session_id]
        memories = [mid for mid, m in tables.memories.items() if m.entry.user_id == user_id]
        for memory_id in memories:
            del tables.memories[memory_id]
        users = int(tables.users.pop(user_id, None) is not None)
        self._written()
        return {
            "messages": messages,
            "memories": len(memories),
            "sessions": len(sessions),
            "conversations": len(owned),
            "users": users,
        }


def _check_url(url: str) -> None:
    """``memory://`` alone: an instance is its own database, so the URL names nothing."""
    parts = urlsplit(url)
    if parts.scheme != "memory" or parts.netloc or parts.path or parts.query or parts.fragment:
        raise ConfigurationError(
            f"the in-memory storage's URL is {MEMORY_URL!r} alone, not {url!r}",
            details={"url": url},
        )


def _is_system(stored: StoredMessage) -> bool:
    return MessageRole(stored.message.role) is MessageRole.SYSTEM


def _copies(records: Sequence[StoredMessage]) -> list[Message]:
    return [stored.message.model_copy(deep=True) for stored in records]
