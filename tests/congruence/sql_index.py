"""The SQL store's own vector index, made to take any record like the other indexes do.

Its vectors hang on stored messages and memories (foreign keys), so before upserting, the
items the records name are created: messages in a placeholder conversation, memories of a
placeholder user. The filter fields searched come from the records themselves (the index
stores them beside each vector), so the data the suite checks is the same as elsewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from bruno_core.models.memory import MemoryEntry, MemoryType
from bruno_core.models.message import Message, MessageRole

from bruno_memory import Memory
from bruno_memory.managers.vectors import SqlVectorIndex
from bruno_memory.ports.vector import (
    ItemKind,
    Vector,
    VectorFilter,
    VectorMatch,
    VectorRecord,
)


class StoredItemsIndex:
    """A :class:`SqlVectorIndex` over a store that creates the items records refer to."""

    name = "sql"

    def __init__(self, store: Memory) -> None:
        self._store = store
        self._index = SqlVectorIndex(store.storage.database)
        self._items: set[uuid.UUID] = set()

    async def upsert(self, records: Sequence[VectorRecord]) -> None:
        """Create the missing items, then store the vectors."""
        new = {r.item_id: r.kind for r in records if r.item_id not in self._items}
        messages = [
            Message(id=item_id, role=MessageRole.USER, content="item")
            for item_id, kind in new.items()
            if kind == "message"
        ]
        await self._store.store_messages(messages, "congruence")
        for item_id, kind in new.items():
            if kind == "memory":
                await self._store.store_memory(
                    MemoryEntry(
                        id=item_id, content="item", memory_type=MemoryType.FACT, user_id="owner"
                    )
                )
        self._items |= set(new)
        await self._index.upsert(records)

    async def delete_items(self, kind: ItemKind, item_ids: Sequence[uuid.UUID]) -> None:
        await self._index.delete_items(kind, item_ids)

    async def delete_where(self, where: VectorFilter) -> None:
        await self._index.delete_where(where)

    async def search(self, query: Vector, where: VectorFilter, limit: int) -> list[VectorMatch]:
        return await self._index.search(query, where, limit)

    async def count(self, where: VectorFilter) -> int:
        return await self._index.count(where)

    async def close(self) -> None:
        await self._store.close()
