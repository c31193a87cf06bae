"""Exact vector search in numpy over the SQL ``embeddings`` table, with an in-memory matrix.

Reading 100k vectors out of SQLite for every query costs ~0.4 s; multiplying them costs
~10 ms. So the vectors of a partition (one model, one user or all users) are loaded once
into a matrix and kept current cheaply: before each search a fingerprint query (row count
and largest key, answered from an index) tells whether rows were added (fetch only those)
or removed (reload). Keys only grow (``AUTOINCREMENT``) and vectors are never updated in
place, so the fingerprint cannot miss a change, whichever process made it.

Partitions larger than the cache budget are scanned in chunks instead (exact, bounded
memory, slower).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from bruno_memory.adapters.vector.exact import ExactVectorIndex
from bruno_memory.db.engine import Database
from bruno_memory.ports.vector import (
    Vector,
    VectorFilter,
    VectorMatch,
    VectorRecord,
    require_search,
)
from bruno_memory.repositories.embeddings import VectorRows
from bruno_memory.uow import UnitOfWork

#: Rows fetched per round trip when loading or scanning.
CHUNK = 8_192


@dataclass
class _Partition:
    """The vectors of one (model, user), in an exact in-memory index."""

    model_key: str
    index: ExactVectorIndex = field(default_factory=ExactVectorIndex)
    count: int = 0
    max_pk: int = 0

    async def append(self, rows: VectorRows) -> None:
        vectors = np.frombuffer(b"".join(rows.vectors), dtype="<f4").reshape(len(rows.pks), -1)
        await self.index.upsert(
            [
                VectorRecord(
                    kind=kind,
                    item_id=item_id,
                    model_key=self.model_key,
                    vector=vector,
                    user_id=user_id,
                    conversation_id=conversation_id,
                    timestamp=timestamp,
                    role=role,
                )
                for kind, item_id, user_id, conversation_id, timestamp, role, vector in zip(
                    rows.kinds,
                    rows.item_ids,
                    rows.user_ids,
                    rows.conversation_ids,
                    rows.timestamps,
                    rows.roles,
                    vectors,
                    strict=True,
                )
            ]
        )
        self.count += len(rows.pks)
        self.max_pk = max(self.max_pk, *rows.pks)

    async def search(self, query: Vector, where: VectorFilter, limit: int) -> list[VectorMatch]:
        return await self.index.search(query, where, limit) if self.count else []


class MatrixSearch:
    """Exact search with a bounded cache of partitions kept in numpy matrices."""

    def __init__(self, database: Database, max_cached_vectors: int) -> None:
        self._database = database
        self._budget = max_cached_vectors
        self._partitions: OrderedDict[tuple[str, str | None], _Partition] = OrderedDict()
        self._lock = asyncio.Lock()

    async def search(self, query: Vector, where: VectorFilter, limit: int) -> list[VectorMatch]:
        """The ``limit`` best matches of ``query`` within ``where`` (model_key required)."""
        model_key = require_search(where, limit)
        key = (model_key, where.user_id)
        async with self._lock, UnitOfWork(self._database) as uow:
            count, max_pk = await uow.embeddings.fingerprint(model_key, where.user_id)
            if count > self._budget:
                self._partitions.pop(key, None)
                return await self._scan(uow, query, where, limit)
            partition = await self._current(uow, key, count, max_pk)
        return await partition.search(query, where, limit)

    async def _current(
        self, uow: UnitOfWork, key: tuple[str, str | None], count: int, max_pk: int
    ) -> _Partition:
        model_key, user_id = key
        partition = self._partitions.pop(key, None)
        if partition is not None and partition.count == count and partition.max_pk == max_pk:
            self._partitions[key] = partition
            return partition
        if partition is None or count < partition.count:
            partition = _Partition(model_key)
        async for rows in uow.embeddings.vector_rows(
            model_key, user_id, after_pk=partition.max_pk, chunk_size=CHUNK
        ):
            await partition.append(rows)
        if partition.count != count:  # rows were removed as others were added: start over
            partition = _Partition(model_key)
            async for rows in uow.embeddings.vector_rows(
                model_key, user_id, after_pk=0, chunk_size=CHUNK
            ):
                await partition.append(rows)
        self._partitions[key] = partition
        self._evict()
        return partition

    def _evict(self) -> None:
        while sum(p.count for p in self._partitions.values()) > self._budget:
            self._partitions.popitem(last=False)

    @staticmethod
    async def _scan(
        uow: UnitOfWork, query: Vector, where: VectorFilter, limit: int
    ) -> list[VectorMatch]:
        """Stream the partition chunk by chunk, keeping only the running best ``limit``."""
        model_key = require_search(where, limit)
        best: list[VectorMatch] = []
        async for rows in uow.embeddings.vector_rows(
            model_key, where.user_id, after_pk=0, chunk_size=CHUNK
        ):
            chunk = _Partition(model_key)
            await chunk.append(rows)
            found = best + await chunk.search(query, where, limit)
            best = sorted(found, key=lambda match: -match.score)[:limit]
        return best
