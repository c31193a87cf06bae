"""The candidate source port: what a storage gives ranked retrieval.

The ranking rule (stop words, dates, fusion, boosts, neighbours, the result cache; see
:mod:`bruno_memory.retrieval.ranking`) is written once, over this port. A storage implements
it with its own engines: the SQL storage with its repositories and full-text indexes
(:mod:`bruno_memory.managers.retriever`), the Redis storage with RediSearch or its inverted
index (:mod:`bruno_memory.backends._redis.candidates`), the in-memory storage by scanning its
records (:mod:`bruno_memory.backends._memory.candidates`). Semantic candidates come from the
vector index port through :class:`~bruno_memory.retrieval.semantic.SemanticSearch`, where a
storage has one.

Every read honours the whole :class:`~bruno_memory.ports.scope.SearchScope` (user,
conversation, time range, metadata) and never returns an expired memory; a storage that
cannot honour a field raises :class:`~bruno_memory.errors.UnsupportedOperationError` rather
than ignore it. A ranking reads through one :class:`CandidateReader` per step (candidates,
then scope checks and loading), which a storage may back with one transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bruno_core.models.memory import MemoryEntry
from bruno_core.models.message import Message

if TYPE_CHECKING:
    from bruno_memory.db.fulltext import FullTextQuery
    from bruno_memory.ports.scope import SearchScope
    from bruno_memory.ports.vector import ItemKind


@dataclass(frozen=True)
class MessageStub:
    """Where a message is in its conversation and when it was sent, without its content."""

    id: uuid.UUID
    conversation_id: str
    seq: int
    timestamp: dt.datetime


@dataclass(frozen=True)
class Candidate:
    """An item a full-text search found, with its text (exact mode compares it) and, for a
    message the storage read it with, its stub (the search was in scope, so the ranking
    need not read the stub again)."""

    item_id: uuid.UUID
    content: str
    stub: MessageStub | None = None


@dataclass(frozen=True)
class MemoryStub:
    """What ranking needs of a memory in scope: when it was created, how important it is."""

    id: uuid.UUID
    created_at: dt.datetime
    importance: float


class CandidateReader(Protocol):
    """One step's reads (see :meth:`CandidateSource.reader`)."""

    async def fulltext(
        self, kind: ItemKind, query: FullTextQuery, scope: SearchScope, limit: int
    ) -> list[Candidate]:
        """Up to ``limit`` items of ``kind`` in scope matching ``query`` (a non-empty query,
        every word or any word as its mode says), best match first."""
        ...

    async def message_stubs(
        self, ids: Sequence[uuid.UUID], scope: SearchScope
    ) -> dict[uuid.UUID, MessageStub]:
        """The stubs of the messages with these ids that are in scope."""
        ...

    async def stubs_at(
        self, positions: Mapping[str, Iterable[int]], scope: SearchScope
    ) -> list[MessageStub]:
        """The stubs of the messages in scope at these positions of these conversations."""
        ...

    async def memory_stubs(
        self, ids: Sequence[uuid.UUID], scope: SearchScope, now: dt.datetime
    ) -> dict[uuid.UUID, MemoryStub]:
        """The stubs of the memories with these ids that are in scope and unexpired at
        ``now``."""
        ...

    async def messages(
        self, ids: Sequence[uuid.UUID], scope: SearchScope
    ) -> dict[uuid.UUID, Message]:
        """The messages with these ids that are in scope."""
        ...

    async def memories(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, MemoryEntry]:
        """The entries of memories this reader's :meth:`memory_stubs` returned (reading
        them is not an access)."""
        ...


class CandidateSource(Protocol):
    """A storage's side of ranked retrieval."""

    def reader(self) -> AbstractAsyncContextManager[CandidateReader]:
        """A reader for one step of a ranking."""
        ...
