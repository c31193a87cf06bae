"""The in-memory storage's candidate source: ranked retrieval's reads (see
:mod:`bruno_memory.ports.retrieval`) over its records.

Every read checks the whole scope on the records themselves (owner, conversation, time,
metadata: :meth:`~bruno_memory.repositories.scope.SearchScope.admits`) and leaves expired
memories out. A step's reads run without an ``await`` between them and the records, so no
write lands inside one read; writes between steps are seen by the next step, as with the
SQL storage's one transaction per step.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

from bruno_core.models.memory import MemoryEntry
from bruno_core.models.message import Message

from bruno_memory.backends._memory.fulltext import best
from bruno_memory.backends._memory.memories import ordered
from bruno_memory.backends._memory.tables import (
    StoredMessage,
    Tables,
    admits_memory,
    admits_message,
)
from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.db.types import as_utc, utc_now
from bruno_memory.ports.retrieval import Candidate, CandidateReader, MemoryStub, MessageStub
from bruno_memory.ports.scope import SearchScope

if TYPE_CHECKING:
    from bruno_memory.ports.vector import ItemKind


class InMemoryCandidates:
    """Candidates from one storage's tables."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def reader(self) -> AbstractAsyncContextManager[CandidateReader]:
        return self._reading()

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[CandidateReader]:
        yield _Reader(self._tables)


class _Reader:
    """One step's reads."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def fulltext(
        self, kind: ItemKind, query: FullTextQuery, scope: SearchScope, limit: int
    ) -> list[Candidate]:
        if kind == "message":
            messages = (stored for _, stored in self._tables.messages_in(scope))
            return [
                Candidate(s.message.id, s.message.content) for s in best(messages, query, limit)
            ]
        memories = ordered(self._tables.memories_in(scope, utc_now()), query, limit)
        return [Candidate(m.entry.id, m.entry.content) for m in memories]

    async def message_stubs(
        self, ids: Sequence[uuid.UUID], scope: SearchScope
    ) -> dict[uuid.UUID, MessageStub]:
        found = (self._in_scope(message_id, scope) for message_id in ids)
        return {stub.id: stub for stub in found if stub is not None}

    async def stubs_at(
        self, positions: Mapping[str, Iterable[int]], scope: SearchScope
    ) -> list[MessageStub]:
        stubs = []
        for conversation_id, seqs in positions.items():
            conversation = self._tables.conversations.get(conversation_id)
            if conversation is None:
                continue
            for seq in sorted(set(seqs)):
                stored = conversation.messages.get(seq)
                if stored is not None and admits_message(
                    scope, conversation_id, conversation.owner, stored
                ):
                    stubs.append(_stub(conversation_id, stored))
        return stubs

    async def memory_stubs(
        self, ids: Sequence[uuid.UUID], scope: SearchScope, now: dt.datetime
    ) -> dict[uuid.UUID, MemoryStub]:
        stubs = {}
        for memory_id in ids:
            stored = self._tables.memories.get(memory_id)
            if stored is not None and admits_memory(scope, stored, now):
                entry = stored.entry
                stubs[memory_id] = MemoryStub(
                    memory_id, as_utc(entry.created_at), entry.metadata.importance
                )
        return stubs

    async def messages(
        self, ids: Sequence[uuid.UUID], scope: SearchScope
    ) -> dict[uuid.UUID, Message]:
        found = {}
        for message_id in ids:
            if self._in_scope(message_id, scope) is not None:
                located = self._tables.message(message_id)
                assert located is not None
                found[message_id] = located[1].message.model_copy(deep=True)
        return found

    async def memories(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, MemoryEntry]:
        return {
            memory_id: self._tables.memories[memory_id].entry.model_copy(deep=True)
            for memory_id in ids
            if memory_id in self._tables.memories
        }

    def _in_scope(self, message_id: uuid.UUID, scope: SearchScope) -> MessageStub | None:
        located = self._tables.message(message_id)
        if located is None:
            return None
        conversation_id, stored = located
        owner = self._tables.conversations[conversation_id].owner
        if not admits_message(scope, conversation_id, owner, stored):
            return None
        return _stub(conversation_id, stored)


def _stub(conversation_id: str, stored: StoredMessage) -> MessageStub:
    return MessageStub(
        stored.message.id, conversation_id, stored.seq, as_utc(stored.message.timestamp)
    )
