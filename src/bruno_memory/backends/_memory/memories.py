"""Memory entries of the in-memory storage: the query filters and the memory order.

Entries are listed by the keys of :data:`~bruno_memory.ports.storage.MEMORY_ORDER` (no
text) or :data:`~bruno_memory.ports.storage.MEMORY_ORDER_BY_RELEVANCE` (a text query, scored
by :mod:`.fulltext`), each highest first, mapped here to the records' fields.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from bruno_core.models.memory import MemoryEntry, MemoryQuery, MemoryType

from bruno_memory.backends._memory.fulltext import scored
from bruno_memory.backends._memory.tables import StoredMemory
from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.db.types import as_utc
from bruno_memory.ports.storage import MEMORY_ORDER, MEMORY_ORDER_BY_RELEVANCE

Relevance = dict[uuid.UUID, float]

#: The value of each memory-order key of a record (``relevance``: its text score).
_ORDER_KEYS: dict[str, Callable[[StoredMemory, Relevance], Any]] = {
    "relevance": lambda stored, relevance: relevance[stored.entry.id],
    "importance": lambda stored, _: stored.entry.metadata.importance,
    "created": lambda stored, _: as_utc(stored.entry.created_at),
    "stored": lambda stored, _: stored.stored,
}


def ordered(
    records: Iterable[StoredMemory], text: FullTextQuery | None, limit: int
) -> list[StoredMemory]:
    """The first ``limit`` records in the memory order; with ``text``, only those matching
    it, best first."""
    pool = list(records)
    relevance: Relevance = {}
    keys: tuple[str, ...] = MEMORY_ORDER
    if text is not None:
        found = scored(pool, text)
        relevance = {stored.entry.id: score for score, stored in found}
        pool = [stored for _, stored in found]
        keys = MEMORY_ORDER_BY_RELEVANCE
    pool.sort(key=lambda stored: tuple(_ORDER_KEYS[k](stored, relevance) for k in keys))
    return pool[::-1][:limit]


def selected(stored: StoredMemory, query: MemoryQuery, now: dt.datetime) -> bool:
    """Whether a record passes every filter of ``query`` (user, types, categories, tags,
    minimum scores, expiry) and is not archived."""
    entry = stored.entry
    meta = entry.metadata
    return (
        entry.user_id == query.user_id
        and stored.archived_at is None
        and (not query.memory_types or MemoryType(entry.memory_type) in query.memory_types)
        and (not query.categories or meta.category in query.categories)
        and (not query.tags or any(tag in query.tags for tag in meta.tags))
        and meta.confidence >= query.min_confidence
        and meta.importance >= query.min_importance
        and (query.include_expired or stored.unexpired(now))
    )


def copies(records: Iterable[StoredMemory]) -> list[MemoryEntry]:
    """Copies of the records' entries (reading is not an access)."""
    return [stored.entry.model_copy(deep=True) for stored in records]


def accessed(records: list[StoredMemory], now: dt.datetime) -> list[MemoryEntry]:
    """Count one access of each record (retrieval is use); copies of the entries."""
    entries = []
    for stored in records:
        stored.entry.metadata.access_count += 1
        stored.entry.last_accessed = now
        entries.append(stored.entry.model_copy(deep=True))
    return entries
