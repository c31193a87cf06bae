"""What the in-memory storage holds: plain records in dicts, and the reads over them.

Records hold normalized copies of what was stored (validated as the SQL storage validates
it, metadata through JSON as its JSON columns keep it) and are never handed out: every read
returns copies, so a caller changing a returned model changes nothing stored. Each text is
turned into its index terms once, when written (:func:`bruno_memory.terms.document_terms`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from bruno_core.models.context import SessionContext, UserContext
from bruno_core.models.memory import MemoryEntry
from bruno_core.models.message import Message
from pydantic import BaseModel

from bruno_memory.db import models
from bruno_memory.db.types import as_utc, json_dumps, utc_now
from bruno_memory.mapping import memory_from_row, memory_row, message_from_row, message_row
from bruno_memory.ports.scope import SearchScope
from bruno_memory.terms import document_terms

Model = TypeVar("Model", bound=BaseModel)


def through_json(model: Model) -> Model:
    """``model`` as a JSON column gives it back (UUID, datetime and Decimal values in
    metadata become strings); a new object."""
    return type(model).model_validate_json(json_dumps(model.model_dump()))


def normalized_message(message: Message, conversation_id: str) -> Message:
    """``message`` as the SQL storage stores it, in ``conversation_id``."""
    row = message_row(message, conversation_id=conversation_id, user_id=None, seq=0, now=utc_now())
    return through_json(message_from_row(models.Message(**row)))


def normalized_memory(entry: MemoryEntry) -> MemoryEntry:
    """``entry`` as the SQL storage stores it, with aware UTC datetimes."""
    return through_json(memory_from_row(memory_row(entry)))


@dataclass
class StoredMessage:
    """A message, its position in its conversation and when it was stored (``stored``:
    the storage's write counter, which breaks ranking ties as the SQL key does)."""

    message: Message
    seq: int
    stored: int
    terms: dict[str, float]


@dataclass
class Conversation:
    """A conversation's owner (None until a user claims it) and its messages by position,
    in order. ``last_seq`` only grows, so positions are never reused after a clear."""

    owner: str | None
    last_seq: int = 0
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    created_at: dt.datetime = field(default_factory=utc_now)
    updated_at: dt.datetime = field(default_factory=utc_now)


@dataclass
class StoredMemory:
    """A memory entry, when it was stored (the ``stored`` key of the memory order) and
    when pruning archived it (None: active; archived memories are out of every read)."""

    entry: MemoryEntry
    stored: int
    terms: dict[str, float]
    archived_at: dt.datetime | None = None

    def unexpired(self, now: dt.datetime) -> bool:
        expires = self.entry.expires_at
        return expires is None or as_utc(expires) > now


class Tables:
    """Every record of one storage instance (nothing is shared between instances)."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        #: Where each stored message is: its conversation and position (ids are unique
        #: across conversations, as the SQL key makes them).
        self.homes: dict[uuid.UUID, tuple[str, int]] = {}
        self.sessions: dict[str, SessionContext] = {}
        self.memories: dict[uuid.UUID, StoredMemory] = {}
        self.users: dict[str, UserContext] = {}
        self._writes = itertools.count(1)

    def next_stored(self) -> int:
        return next(self._writes)

    def ensure_user(self, user_id: str) -> None:
        """Create the user's record if there is none (as the SQL storage's user row)."""
        self.users.setdefault(user_id, UserContext(user_id=user_id))

    def new_message(self, message: Message, seq: int) -> StoredMessage:
        return StoredMessage(message, seq, self.next_stored(), document_terms(message.content))

    def new_memory(self, entry: MemoryEntry, stored: int | None = None) -> StoredMemory:
        order = self.next_stored() if stored is None else stored
        return StoredMemory(entry, order, document_terms(entry.content))

    # -- reads -------------------------------------------------------------------------------

    def message(self, message_id: uuid.UUID) -> tuple[str, StoredMessage] | None:
        """The stored message with that id and its conversation, or None."""
        home = self.homes.get(message_id)
        if home is None:
            return None
        return home[0], self.conversations[home[0]].messages[home[1]]

    def messages_in(self, scope: SearchScope) -> Iterator[tuple[str, StoredMessage]]:
        """Every stored message in ``scope``, with its conversation."""
        for conversation_id, conversation in self.conversations.items():
            for stored in conversation.messages.values():
                if admits_message(scope, conversation_id, conversation.owner, stored):
                    yield conversation_id, stored

    def memories_in(self, scope: SearchScope, now: dt.datetime) -> Iterator[StoredMemory]:
        """Every stored memory in ``scope`` that is unexpired at ``now``."""
        return (m for m in self.memories.values() if admits_memory(scope, m, now))

    def sessions_of(self, conversation_id: str) -> list[SessionContext]:
        """The conversation's sessions, oldest started first."""
        return [s for s in self.sessions.values() if s.conversation_id == conversation_id]


def admits_message(
    scope: SearchScope, conversation_id: str, owner: str | None, stored: StoredMessage
) -> bool:
    """Whether a message (of ``conversation_id``, owned by ``owner``) is in ``scope``."""
    return scope.admits(
        user_id=owner,
        conversation_id=conversation_id,
        time=as_utc(stored.message.timestamp),
        document=stored.message.metadata,
    )


def admits_memory(scope: SearchScope, stored: StoredMemory, now: dt.datetime) -> bool:
    """Whether a memory is active, unexpired at ``now`` and in ``scope``."""
    entry = stored.entry
    return (
        stored.archived_at is None
        and stored.unexpired(now)
        and scope.admits(
            user_id=entry.user_id,
            conversation_id=entry.conversation_id,
            time=as_utc(entry.created_at),
            document=entry.metadata.custom_fields,
        )
    )
