"""The SQL storage's candidate source: ranked retrieval's reads over the repositories.

The ranking itself (:class:`~bruno_memory.retrieval.ranking.Retriever`) is shared by every
storage; here each step of it is one unit of work, full-text candidates come from the
dialect's index (FTS5 or ``tsvector``) and scope checks are SQL conditions
(:class:`~bruno_memory.ports.scope.SearchScope`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from bruno_core.models.memory import MemoryEntry
from bruno_core.models.message import Message

from bruno_memory.db.engine import Database
from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.db.models import Memory as MemoryRow
from bruno_memory.db.types import utc_now
from bruno_memory.mapping import memory_from_row, message_from_row
from bruno_memory.ports.retrieval import Candidate, CandidateReader, MemoryStub, MessageStub
from bruno_memory.ports.scope import SearchScope
from bruno_memory.ports.vector import ItemKind
from bruno_memory.retrieval.options import RetrievalSettings
from bruno_memory.retrieval.ranking import Retriever
from bruno_memory.uow import UnitOfWork

__all__ = ["RetrievalSettings", "Retriever", "SqlCandidates"]


class SqlCandidates:
    """Candidates from one SQL database (a read-only unit of work per step)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def reader(self) -> AbstractAsyncContextManager[CandidateReader]:
        return self._reading()

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[CandidateReader]:
        async with UnitOfWork(self._database) as uow:
            yield _SqlReader(uow)


class _SqlReader:
    """One unit of work's reads; memories whose stubs were read are kept for
    :meth:`memories`."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._memories: dict[uuid.UUID, MemoryRow] = {}

    async def fulltext(
        self, kind: ItemKind, query: FullTextQuery, scope: SearchScope, limit: int
    ) -> list[Candidate]:
        if kind == "message":
            messages = await self._uow.messages.candidates(query, scope, limit)
            return [Candidate(stub.id, content, stub) for stub, content in messages]
        memories = await self._uow.memories.candidates(query, scope, limit, utc_now())
        return [Candidate(row.id, row.content) for row in memories]

    async def message_stubs(
        self, ids: Sequence[uuid.UUID], scope: SearchScope
    ) -> dict[uuid.UUID, MessageStub]:
        return await self._uow.messages.stubs(ids, scope)

    async def stubs_at(
        self, positions: Mapping[str, Iterable[int]], scope: SearchScope
    ) -> list[MessageStub]:
        return await self._uow.messages.stubs_at(positions, scope)

    async def memory_stubs(
        self, ids: Sequence[uuid.UUID], scope: SearchScope, now: dt.datetime
    ) -> dict[uuid.UUID, MemoryStub]:
        rows = await self._uow.memories.by_ids(ids, scope, now)
        self._memories.update(rows)
        return {
            memory_id: MemoryStub(memory_id, row.created_at, row.importance)
            for memory_id, row in rows.items()
        }

    async def messages(
        self, ids: Sequence[uuid.UUID], scope: SearchScope
    ) -> dict[uuid.UUID, Message]:
        rows = await self._uow.messages.by_ids(ids, scope)
        return {message_id: message_from_row(row) for message_id, row in rows.items()}

    async def memories(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, MemoryEntry]:
        return {
            memory_id: memory_from_row(self._memories[memory_id])
            for memory_id in ids
            if memory_id in self._memories
        }
