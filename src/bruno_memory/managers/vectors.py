"""Vectors kept in the SQL store's ``embeddings`` table, searched in the database's own way.

- PostgreSQL with pgvector: HNSW (cosine) for broad searches; a narrow filter (few matching
  vectors) is answered by an exact scan instead, and an HNSW search that the filter leaves
  short of ``limit`` is retried wider, then exactly, so a search returns ``limit`` results
  whenever that many match.
- SQLite, and PostgreSQL without pgvector: exact search in numpy over matrices kept in
  memory and current (:mod:`bruno_memory.managers.matrix`).

Writes go to the same table; deleting a message or memory deletes its vectors by foreign-key
cascade, so this index never holds orphans.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bruno_memory.db.engine import Database
from bruno_memory.db.vectors import HNSW_DIMENSIONS
from bruno_memory.errors import InvalidInputError
from bruno_memory.managers.matrix import MatrixSearch
from bruno_memory.ports.vector import (
    ItemKind,
    Vector,
    VectorFilter,
    VectorMatch,
    VectorRecord,
    checked_vector,
    checked_vectors,
    require_search,
)
from bruno_memory.uow import UnitOfWork

#: Filters matching at most this many vectors are answered exactly (fast and exact).
EXACT_SCAN_LIMIT = 5_000
#: HNSW candidates (and ef_search) tried, widening while the filter leaves fewer than
#: ``limit``, before falling back to an exact scan. 1000 is pgvector's largest ef_search.
EF_SEARCH_STEPS = (100, 200, 400, 1000)


class SqlVectorIndex:
    """The vector index of the SQL store itself."""

    name = "sql"

    def __init__(self, database: Database) -> None:
        self._database = database
        self._pgvector: bool | None = None
        self._dimensions: dict[str, int] = {}  # a model's vector size never changes
        self._matrix = MatrixSearch(database, database.settings.vector.cache_max_vectors)

    async def has_pgvector(self) -> bool:
        """True when the database has the pgvector column (PostgreSQL with the extension)."""
        if self._pgvector is None:
            async with UnitOfWork(self._database) as uow:
                self._pgvector = await uow.embeddings.has_pgvector_column()
        return self._pgvector

    # -- writes ------------------------------------------------------------------------------

    async def upsert(self, records: Sequence[VectorRecord]) -> None:
        """Store vectors of existing messages and memories (replacing a model's old vector)."""
        latest = list({(r.kind, r.item_id, r.model_key): r for r in records}.values())
        async with UnitOfWork(self._database, write=True) as uow:
            known = await uow.embeddings.dimensions({r.model_key for r in latest})
            checked = checked_vectors(latest, known)
            records = [replace(r, vector=v) for r, v in zip(latest, checked, strict=True)]
            stored = await write_vectors(uow, records, [""] * len(records))
            missing = [str(record.item_id) for record in records if record.item_id not in stored]
            if missing:
                raise InvalidInputError(
                    "vectors for items that are not stored", details={"ids": missing[:10]}
                )
            await uow.commit()

    async def delete_items(self, kind: ItemKind, item_ids: Sequence[uuid.UUID]) -> None:
        """Delete every vector of these items."""
        if item_ids:  # no ids: nothing to delete (not "no restriction")
            await self._delete(VectorFilter(kinds=(kind,)), item_ids)

    async def delete_where(self, where: VectorFilter) -> None:
        """Delete every vector matching the filter."""
        await self._delete(where, ())

    async def _delete(self, where: VectorFilter, item_ids: Sequence[uuid.UUID]) -> None:
        async with UnitOfWork(self._database, write=True) as uow:
            await uow.embeddings.delete(where, item_ids)
            await uow.commit()

    async def close(self) -> None:
        """Nothing to release: the store owns the connections."""

    # -- reads -------------------------------------------------------------------------------

    async def count(self, where: VectorFilter) -> int:
        """How many vectors match the filter."""
        async with UnitOfWork(self._database) as uow:
            return await uow.embeddings.count(where)

    async def search(self, query: Vector, where: VectorFilter, limit: int) -> list[VectorMatch]:
        """The ``limit`` vectors closest to ``query`` among those matching ``where``."""
        model_key = require_search(where, limit)
        dimension = self._dimensions.get(model_key)
        if dimension is None:
            async with UnitOfWork(self._database) as uow:
                dimension = (await uow.embeddings.dimensions({model_key})).get(model_key)
            if dimension is None:
                return []
            self._dimensions[model_key] = dimension
        query = checked_vector(query, dimension)
        if not await self.has_pgvector():
            return await self._matrix.search(query, where, limit)
        found = await self._search_pgvector(query, where, limit)
        return [
            VectorMatch(kind=kind, item_id=item_id, score=score)  # type: ignore[arg-type]
            for kind, item_id, score in found
        ]

    async def _search_pgvector(
        self, query: Vector, where: VectorFilter, limit: int
    ) -> list[tuple[str, uuid.UUID, float]]:
        narrow = where.user_id or where.conversation_id or where.since or where.until
        async with UnitOfWork(self._database) as uow:
            if int(query.shape[0]) in HNSW_DIMENSIONS and not (
                narrow
                and await uow.embeddings.count_up_to(where, EXACT_SCAN_LIMIT + 1)
                <= EXACT_SCAN_LIMIT
            ):
                # A filter keeps only part of the candidates: start wider than for none.
                for candidates in EF_SEARCH_STEPS[1:] if narrow else EF_SEARCH_STEPS:
                    if candidates < limit:
                        continue
                    await uow.embeddings.set_ef_search(candidates)
                    found = await uow.embeddings.nearest_pgvector(
                        query, where, limit, candidates=candidates
                    )
                    if len(found) >= limit:
                        return found
            return await uow.embeddings.nearest_pgvector(query, where, limit, candidates=None)


async def write_vectors(
    uow: UnitOfWork, records: Sequence[VectorRecord], content_hashes: Sequence[str]
) -> set[uuid.UUID]:
    """Upsert ``records`` (with the hashes of the texts they embed) inside ``uow``.

    Records of items that are not stored (deleted meanwhile) are skipped; returns the ids of
    the items whose vectors were written.
    """
    stored: set[uuid.UUID] = set()
    for kind in ("message", "memory"):
        chosen = [
            (record, content_hash)
            for record, content_hash in zip(records, content_hashes, strict=True)
            if record.kind == kind
        ]
        if not chosen:
            continue
        pks = await uow.embeddings.item_pks(kind, [record.item_id for record, _ in chosen])
        rows = [
            _row(record, pks[record.item_id], h) for record, h in chosen if record.item_id in pks
        ]
        if rows:
            await uow.embeddings.upsert(kind, rows)
        stored.update(pks)
    return stored


def _row(record: VectorRecord, item_pk: int, content_hash: str) -> dict[str, Any]:
    vector = np.asarray(record.vector, dtype=np.float32)
    return {
        "kind": record.kind,
        "item_id": record.item_id,
        "message_pk" if record.kind == "message" else "memory_pk": item_pk,
        "model_key": record.model_key,
        "content_hash": content_hash,
        "dimensions": int(vector.shape[0]),
        "vector": vector,
        "user_id": record.user_id,
        "conversation_id": record.conversation_id,
        "role": record.role,
        "timestamp": record.timestamp,
    }
