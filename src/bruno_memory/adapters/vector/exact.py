"""The exact vector index: brute-force cosine over numpy matrices, kept in memory.

It is the reference implementation of :class:`~bruno_memory.ports.vector.VectorIndex`
(the oracle other indexes are tested against) and a fine index for small stores. Each model
has its own table: a float32 matrix of unit vectors that grows by doubling, row-aligned with
numpy columns for the filter fields, so a search is one matrix-vector product plus boolean
masks. Results are ordered by score, ties by ``(kind, item_id)``.

A caller that breaks the port's contract gets a ``ValueError`` (see the checks in
:mod:`bruno_memory.ports.vector`), and an upsert with one bad vector writes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bruno_memory.ports.vector import (
    ItemKind,
    Vector,
    VectorFilter,
    VectorMatch,
    VectorRecord,
    checked_vector,
    checked_vectors,
    epoch_micros,
    require_search,
)

__all__ = ["ExactVectorIndex"]

Mask = npt.NDArray[np.bool_]
Key = tuple[ItemKind, uuid.UUID]

_KINDS: tuple[ItemKind, ...] = ("memory", "message")  # sorted: codes order like names
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_NONE_CODE = -1  # a field that is None
_UNSEEN_CODE = -2  # a filter value no record has: equal to nothing
_INITIAL_CAPACITY = 64


class _Codes:
    """Integer codes for the strings of one table, so filters compare integer arrays."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}

    def add(self, value: str | None) -> int:
        """The code of ``value``, assigning a new one to a new string."""
        if value is None:
            return _NONE_CODE
        return self._codes.setdefault(value, len(self._codes))

    def get(self, value: str) -> int:
        """The code of ``value``, or a code no row has."""
        return self._codes.get(value, _UNSEEN_CODE)


class _Table:
    """The vectors of one model, row-aligned with the fields searches filter on."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.size = 0
        self.keys: list[Key] = []
        self._rows: dict[Key, int] = {}
        self._codes = _Codes()
        self._columns: dict[str, npt.NDArray[Any]] = {
            "vector": np.empty((_INITIAL_CAPACITY, dimension), np.float32),
            "kind": np.empty(_INITIAL_CAPACITY, np.int8),
            "item": np.empty(_INITIAL_CAPACITY, "S16"),  # UUID bytes, for tie-breaking
            "user": np.empty(_INITIAL_CAPACITY, np.int32),
            "conversation": np.empty(_INITIAL_CAPACITY, np.int32),
            "role": np.empty(_INITIAL_CAPACITY, np.int32),
            "time": np.empty(_INITIAL_CAPACITY, np.int64),
        }

    def column(self, name: str) -> npt.NDArray[Any]:
        """The live rows of a column."""
        return self._columns[name][: self.size]

    def put(self, record: VectorRecord, unit: Vector) -> None:
        """Write ``record`` (with its unit vector) into its row, appending a row if it is new."""
        key: Key = (record.kind, record.item_id)
        row = self._rows.get(key)
        if row is None:
            row = self._append(key)
        values = {
            "vector": unit,
            "kind": _KINDS.index(record.kind),
            "item": record.item_id.bytes,
            "user": self._codes.add(record.user_id),
            "conversation": self._codes.add(record.conversation_id),
            "role": self._codes.add(record.role),
            "time": epoch_micros(record.timestamp),
        }
        for name, value in values.items():
            self._columns[name][row] = value

    def keep(self, kept: Mask) -> None:
        """Keep only the rows where ``kept`` is true (a mask over the live rows)."""
        count = int(kept.sum())
        for column in self._columns.values():
            column[:count] = column[: self.size][kept]
        self.keys = [key for key, keep in zip(self.keys, kept.tolist(), strict=True) if keep]
        self._rows = {key: row for row, key in enumerate(self.keys)}
        self.size = count

    def matching(self, where: VectorFilter) -> Mask:
        """Which live rows match every field set in ``where`` (its model is this table's)."""
        mask = np.ones(self.size, dtype=np.bool_)
        if where.kinds:
            mask &= np.isin(self.column("kind"), [_KINDS.index(kind) for kind in where.kinds])
        if where.user_id is not None:
            mask &= self.column("user") == self._codes.get(where.user_id)
        if where.conversation_id is not None:
            mask &= self.column("conversation") == self._codes.get(where.conversation_id)
        if where.since is not None:
            mask &= self.column("time") >= epoch_micros(where.since)
        if where.until is not None:
            mask &= self.column("time") < epoch_micros(where.until)
        if where.exclude_roles:
            excluded = [self._codes.get(role) for role in where.exclude_roles]
            mask &= ~np.isin(self.column("role"), excluded)
        return mask

    def nearest(self, unit: Vector, where: VectorFilter, limit: int) -> list[VectorMatch]:
        """The ``limit`` best matching rows, by score then ``(kind, item_id)``."""
        rows = np.flatnonzero(self.matching(where))
        scores = (self.column("vector") @ unit)[rows]
        if limit < rows.size:
            # Keep every row tied with the k-th score, so the tie-break below decides.
            kept = scores >= np.partition(scores, -limit)[-limit]
            rows, scores = rows[kept], scores[kept]
        best = np.lexsort((self.column("item")[rows], self.column("kind")[rows], -scores))[:limit]
        return [
            VectorMatch(kind, item_id, float(score))
            for (kind, item_id), score in zip(
                [self.keys[row] for row in rows[best].tolist()], scores[best].tolist(), strict=True
            )
        ]

    def _append(self, key: Key) -> int:
        if self.size == len(self._columns["vector"]):
            self._grow()
        self._rows[key] = self.size
        self.keys.append(key)
        self.size += 1
        return self.size - 1

    def _grow(self) -> None:
        for name, column in self._columns.items():
            grown = np.empty((2 * len(column), *column.shape[1:]), column.dtype)
            grown[: self.size] = column[: self.size]
            self._columns[name] = grown


class ExactVectorIndex:
    """An in-memory :class:`~bruno_memory.ports.vector.VectorIndex` with exact results.

    Vectors are normalized again on the way in, so scores are true cosine similarities. Each
    model's dimension is fixed by its first vector; a vector of another dimension for that
    model raises ``ValueError``.
    """

    name = "exact"

    def __init__(self) -> None:
        self._tables: dict[str, _Table] = {}

    async def upsert(self, records: Sequence[VectorRecord]) -> None:
        """Insert or replace records (same kind, item and model replaces); all or nothing."""
        dimensions = {model_key: table.dimension for model_key, table in self._tables.items()}
        vectors = checked_vectors(records, dimensions)
        for record, vector in zip(records, vectors, strict=True):
            if record.model_key not in self._tables:
                self._tables[record.model_key] = _Table(vector.size)
            self._tables[record.model_key].put(record, _unit(vector))

    async def delete_items(self, kind: ItemKind, item_ids: Sequence[uuid.UUID]) -> None:
        """Remove every vector (of any model) of these items."""
        doomed = {(kind, item_id) for item_id in item_ids}
        for table in self._tables.values():
            table.keep(np.array([key not in doomed for key in table.keys], dtype=np.bool_))

    async def delete_where(self, where: VectorFilter) -> None:
        """Remove every vector matching the filter."""
        for table in self._selected(where):
            table.keep(~table.matching(where))

    async def search(self, query: Vector, where: VectorFilter, limit: int) -> list[VectorMatch]:
        """The ``limit`` records closest to ``query`` among those matching ``where``, best first.

        Raises ``ValueError`` without ``where.model_key``, for ``limit < 1`` or for a query
        whose dimension is not the model's.
        """
        table = self._tables.get(require_search(where, limit))
        if table is None:
            return []
        return table.nearest(_unit(checked_vector(query, table.dimension)), where, limit)

    async def count(self, where: VectorFilter) -> int:
        """How many records match the filter."""
        return sum(int(table.matching(where).sum()) for table in self._selected(where))

    async def close(self) -> None:
        """Forget every vector."""
        self._tables.clear()

    def _selected(self, where: VectorFilter) -> list[_Table]:
        """The tables ``where`` applies to: its model's, or all of them."""
        if where.model_key is None:
            return list(self._tables.values())
        table = self._tables.get(where.model_key)
        return [] if table is None else [table]


def _unit(vector: Vector) -> Vector:
    unit: Vector = vector / np.linalg.norm(vector)
    return unit
