"""Long-term memory entries: store, read, update, delete, query, search."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence

from bruno_core.models.memory import MemoryEntry, MemoryQuery

from bruno_memory.db import models
from bruno_memory.db.engine import Database
from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.db.scoping import DataScope
from bruno_memory.db.types import utc_now
from bruno_memory.errors import AccessDeniedError, EmbeddingError, MemoryNotFoundError
from bruno_memory.managers.changes import ChangeFeed
from bruno_memory.managers.indexer import EmbeddingIndexer
from bruno_memory.mapping import (
    apply_memory,
    counted,
    memory_from_row,
    memory_row,
)
from bruno_memory.ports.scope import SearchScope
from bruno_memory.ports.vector import VectorFilter
from bruno_memory.priority import (
    keep_links,
    linked,
    replaced_by,
    subject_of,
    supersession,
)
from bruno_memory.retrieval.semantic import SemanticSearch
from bruno_memory.uow import Change, UnitOfWork

#: Most candidates a semantic memory query considers.
MAX_SEMANTIC_POOL = 1000


logger = logging.getLogger(__name__)


class MemoryManager:
    """Memory-entry operations over one database.

    Reads are not accesses; :meth:`touch` counts one (it increments each entry's
    ``access_count`` and sets ``last_accessed``): the facade touches what it returns.
    """

    def __init__(
        self,
        database: Database,
        indexer: EmbeddingIndexer | None,
        semantic: SemanticSearch | None,
        changes: ChangeFeed,
    ) -> None:
        self._database = database
        self._indexer = indexer
        self._semantic = semantic
        self._changes = changes
        #: How many semantic rankings fell back to full text because the embedder failed.
        self.semantic_fallbacks = 0

    async def store(self, entry: MemoryEntry) -> None:
        """Store a new entry, linked to the older entries of its subject in the same
        transaction (:func:`~bruno_memory.priority.supersession`); an entry with the same
        id raises ConflictError."""
        row = memory_row(entry)
        async with UnitOfWork(self._database, write=True) as uow:
            await uow.users.ensure(row.user_id)
            await _link(uow, row, entry)
            await uow.memories.add(row)
            await self._enqueue(uow, row)
            uow.record(_memory_change("store_memory", entry))
            await uow.commit()
        self._notify()

    async def get(self, memory_id: uuid.UUID) -> MemoryEntry | None:
        """The entry, or None."""
        async with UnitOfWork(self._database) as uow:
            row = await uow.memories.get(memory_id)
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
            content_changed = row.content != entry.content
            links = dict(row.custom_fields)
            apply_memory(row, entry, updated_at=utc_now())
            row.custom_fields = keep_links(links, row.custom_fields)
            if content_changed:
                await self._enqueue(uow, row)
            uow.record(_memory_change("update_memory", entry))
            await uow.commit()
        self._notify()
        return memory_from_row(row)

    async def delete(self, memory_id: uuid.UUID) -> bool:
        """Delete the entry; whether there was one."""
        async with UnitOfWork(self._database, write=True) as uow:
            if not await uow.memories.delete(memory_id):
                return False
            uow.record(Change("delete_memory", item_ids=(str(memory_id),)))
            await uow.commit()
        await self._changes.memory_deleted(memory_id)
        return True

    async def query(self, query: MemoryQuery, text: FullTextQuery | None) -> list[MemoryEntry]:
        """Entries matching the query's filters, ranked by ``text`` (the parsed
        ``query_text``) when given.

        With an embedder, entries are ranked by semantic similarity (those at or above
        ``similarity_threshold``), followed by the full-text matches still waiting to be
        embedded, so a caller always finds what it has just stored. If the embedder fails,
        the ranking is full text alone (a warning, and ``semantic_fallbacks`` counts it).
        """
        if text is not None and query.query_text and self._semantic is not None:
            try:
                return await self._query_semantic(self._semantic, query, query.query_text, text)
            except EmbeddingError as exc:
                self.semantic_fallbacks += 1
                logger.warning("retrieve_memories ranks by full text: %s", exc)
        scope = DataScope(user_id=query.user_id)
        async with UnitOfWork(self._database, scope=scope) as uow:
            rows = await uow.memories.query(query, text=text, now=utc_now())
            return [memory_from_row(row) for row in rows]

    async def _query_semantic(
        self, semantic: SemanticSearch, query: MemoryQuery, text: str, words: FullTextQuery
    ) -> list[MemoryEntry]:
        pool = min(MAX_SEMANTIC_POOL, max(query.limit * 4, 50))
        matches = await semantic.nearest(
            text, VectorFilter(kinds=("memory",), user_id=query.user_id), pool
        )
        similarity = {m.item_id: m.score for m in matches if m.score >= query.similarity_threshold}
        now = utc_now()
        scope = DataScope(user_id=query.user_id)
        async with UnitOfWork(self._database, scope=scope) as uow:
            rows = []
            if similarity:
                candidates = query.model_copy(update={"limit": len(similarity)})
                rows = await uow.memories.query(
                    candidates, text=None, now=now, ids=list(similarity)
                )
                rows.sort(key=lambda row: -similarity[row.id])
            pending = await uow.memories.query(
                query, text=words, now=now, pending_for=semantic.model_key
            )
            rows += [row for row in pending if row.id not in similarity]
            return [memory_from_row(row) for row in rows[: query.limit]]

    async def search(
        self, query: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[MemoryEntry]:
        """Unexpired, unarchived entries matching ``query``, best first."""
        async with UnitOfWork(self._database) as uow:
            rows = await uow.memories.search(query, SearchScope(user_id=user_id), limit, utc_now())
            return [memory_from_row(row) for row in rows]

    async def touch(self, entries: Sequence[MemoryEntry]) -> list[MemoryEntry]:
        """Count one access of each entry (one UPDATE ... RETURNING, nothing read again);
        copies of the entries as counted, in order (those deleted meanwhile left out)."""
        if not entries:
            return []
        now = utc_now()
        async with UnitOfWork(self._database, write=True) as uow:
            counts = await uow.memories.record_access([entry.id for entry in entries], now)
            await uow.commit()
        return [counted(entry, counts[entry.id], now) for entry in entries if entry.id in counts]

    async def page(
        self,
        user_id: str,
        *,
        after: tuple[dt.datetime, uuid.UUID] | None,
        limit: int,
        include_archived: bool,
    ) -> list[MemoryEntry]:
        """A keyset page of the user's entries, by creation time then id."""
        async with UnitOfWork(self._database, scope=DataScope(user_id=user_id)) as uow:
            rows = await uow.memories.page_in_scope(
                after=after, limit=limit, include_archived=include_archived
            )
            return [memory_from_row(row) for row in rows]

    async def archived(self, user_id: str) -> list[MemoryEntry]:
        """The user's archived entries, the most recently archived first."""
        async with UnitOfWork(self._database, scope=DataScope(user_id=user_id)) as uow:
            return [memory_from_row(row) for row in await uow.memories.archived_of(user_id)]

    async def archive(self, user_id: str, memory_ids: Sequence[uuid.UUID]) -> int:
        """Archive the user's active, unpinned entries of ``memory_ids``; how many."""
        async with UnitOfWork(self._database, write=True) as uow:
            moved = await uow.memories.archive(user_id, memory_ids, utc_now())
            await uow.commit()
        return moved

    async def restore(self, user_id: str, memory_ids: Sequence[uuid.UUID] | None) -> int:
        """Restore the user's archived entries (of ``memory_ids``; all when None)."""
        async with UnitOfWork(self._database, write=True) as uow:
            moved = await uow.memories.restore(user_id, memory_ids)
            await uow.commit()
        return moved

    async def _enqueue(self, uow: UnitOfWork, row: models.Memory) -> None:
        if self._indexer is not None:
            await uow.embeddings.enqueue_memory(self._indexer.model_key, row.pk)

    def _notify(self) -> None:
        if self._indexer is not None:
            self._indexer.notify()

    @staticmethod
    async def _existing(uow: UnitOfWork, memory_id: uuid.UUID) -> models.Memory:
        """The row an update changes, locked: its links are those of the last commit."""
        row = await uow.memories.get(memory_id, for_update=True)
        if row is None:
            raise _not_found(memory_id)
        return row


async def _link(uow: UnitOfWork, row: models.Memory, entry: MemoryEntry) -> None:
    """Link a new row to the heads of its subject (:func:`~bruno_memory.priority.supersession`)."""
    subject = subject_of(entry)
    if subject is None:
        return
    heads = await uow.memories.heads(row.user_id, row.category, subject)
    links = supersession(row.created_at, [(head.id, head.created_at) for head in heads])
    row.custom_fields = linked(row.custom_fields, links)
    for head in heads:
        if head.id in links.replaced:
            head.custom_fields = replaced_by(head.custom_fields, row.id)


def _not_found(memory_id: uuid.UUID) -> MemoryNotFoundError:
    return MemoryNotFoundError(f"no memory {memory_id}", details={"memory_id": str(memory_id)})


def _memory_change(operation: str, entry: MemoryEntry) -> Change:
    return Change(
        operation,
        user_id=entry.user_id,
        conversation_id=entry.conversation_id,
        item_ids=(str(entry.id),),
    )
