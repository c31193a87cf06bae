"""Long-term memory entries: store, read, update, delete, query, search."""

from __future__ import annotations

import uuid

from bruno_core.models.memory import MemoryEntry, MemoryQuery

from bruno_memory.db import models
from bruno_memory.db.engine import Database
from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.db.types import utc_now
from bruno_memory.errors import AccessDeniedError, MemoryNotFoundError
from bruno_memory.mapping import (
    apply_memory,
    memory_from_row,
    memory_row,
    parse_uuid,
    require_id,
    require_limit,
)
from bruno_memory.uow import UnitOfWork


class MemoryManager:
    """Memory-entry operations over one database.

    Retrieval (:meth:`query`, :meth:`search`) counts as an access: it increments each
    returned entry's ``access_count`` and sets ``last_accessed``. :meth:`get` does not.
    """

    def __init__(self, database: Database) -> None:
        self._database = database

    async def store(self, entry: MemoryEntry) -> None:
        """Store a new entry; an entry with the same id raises ConflictError."""
        row = memory_row(entry)
        async with UnitOfWork(self._database, write=True) as uow:
            await uow.users.ensure(row.user_id)
            await uow.memories.add(row)
            await uow.commit()

    async def get(self, memory_id: uuid.UUID | str) -> MemoryEntry | None:
        """The entry, or None."""
        key = parse_uuid(memory_id, "memory_id")
        async with UnitOfWork(self._database) as uow:
            row = await uow.memories.get(key)
            return None if row is None else memory_from_row(row)

    async def update(self, entry: MemoryEntry) -> MemoryEntry:
        """Replace the stored entry's content and metadata; returns it as stored."""
        async with UnitOfWork(self._database, write=True) as uow:
            row = await self._existing(uow, entry.id)
            if row.user_id != entry.user_id:
                raise AccessDeniedError(
                    "a memory cannot move to another user",
                    details={"memory_id": str(entry.id), "user_id": entry.user_id},
                )
            apply_memory(row, entry, updated_at=utc_now())
            await uow.commit()
            return memory_from_row(row)

    async def delete(self, memory_id: uuid.UUID | str) -> None:
        """Delete the entry; raises MemoryNotFoundError if there is none."""
        key = parse_uuid(memory_id, "memory_id")
        async with UnitOfWork(self._database, write=True) as uow:
            if not await uow.memories.delete(key):
                raise _not_found(key)
            await uow.commit()

    async def query(self, query: MemoryQuery) -> list[MemoryEntry]:
        """Entries matching the query's filters; ``query_text`` ranks by full-text match."""
        require_id(query.user_id, "user_id")
        text = (
            FullTextQuery.parse(query.query_text, MatchMode.ANY)
            if query.query_text is not None and query.query_text.strip()
            else None
        )
        if text is not None and text.is_empty:
            return []
        now = utc_now()
        async with UnitOfWork(self._database, write=True) as uow:
            rows = await uow.memories.query(query, text=text, now=now)
            return await self._accessed(uow, rows)

    async def search(self, query: str, *, user_id: str | None, limit: int) -> list[MemoryEntry]:
        """Unexpired entries containing every word of ``query``, best first."""
        parsed = FullTextQuery.parse(query, MatchMode.ALL)
        if user_id is not None:
            require_id(user_id, "user_id")
        require_limit(limit)
        if parsed.is_empty:
            return []
        async with UnitOfWork(self._database, write=True) as uow:
            rows = await uow.memories.search(parsed, user_id=user_id, limit=limit, now=utc_now())
            return await self._accessed(uow, rows)

    @staticmethod
    async def _accessed(uow: UnitOfWork, rows: list[models.Memory]) -> list[MemoryEntry]:
        now = utc_now()
        counts = await uow.memories.record_access([row.pk for row in rows], now)
        await uow.commit()
        entries = []
        for row in rows:
            entry = memory_from_row(row)
            entry.metadata.access_count = counts[row.pk]
            entry.last_accessed = now
            entries.append(entry)
        return entries

    @staticmethod
    async def _existing(uow: UnitOfWork, memory_id: uuid.UUID) -> models.Memory:
        row = await uow.memories.get(memory_id)
        if row is None:
            raise _not_found(memory_id)
        return row


def _not_found(memory_id: uuid.UUID) -> MemoryNotFoundError:
    return MemoryNotFoundError(f"no memory {memory_id}", details={"memory_id": str(memory_id)})
