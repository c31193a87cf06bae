"""The vector-index port: what every vector store (exact, pgvector, Qdrant, ...) offers.

Vectors are float32, L2-normalized by the caller, and compared by cosine similarity
(the dot product of normalized vectors). Every record and every query names the embedding
model (``model_key``): an index never returns a vector of another model than the query's.
Items are messages or memories, identified by ``(kind, item_id)``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

ItemKind = Literal["message", "memory"]
Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class VectorRecord:
    """One item's vector and the fields searches filter on."""

    kind: ItemKind
    item_id: uuid.UUID
    model_key: str
    vector: Vector
    user_id: str | None
    conversation_id: str | None
    timestamp: dt.datetime  # aware UTC
    role: str | None = None  # message role, or memory type for memories


@dataclass(frozen=True)
class VectorFilter:
    """Which records a search or a deletion applies to; unset fields do not filter."""

    model_key: str | None = None
    kinds: tuple[ItemKind, ...] = ()
    user_id: str | None = None
    conversation_id: str | None = None
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive
    exclude_roles: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class VectorMatch:
    """A search result: the item and its cosine similarity to the query (higher is closer)."""

    kind: ItemKind
    item_id: uuid.UUID
    score: float


class VectorIndex(Protocol):
    """A store of vectors that answers k-nearest-neighbour queries with filters."""

    name: str

    async def upsert(self, records: Sequence[VectorRecord]) -> None:
        """Insert or replace records (same kind, item and model replaces)."""

    async def delete_items(self, kind: ItemKind, item_ids: Sequence[uuid.UUID]) -> None:
        """Remove every vector (of any model) of these items."""

    async def delete_where(self, where: VectorFilter) -> None:
        """Remove every vector matching the filter (e.g. a user's, a conversation's)."""

    async def search(self, query: Vector, where: VectorFilter, limit: int) -> list[VectorMatch]:
        """The ``limit`` records closest to ``query`` among those matching ``where``, best first.

        ``where.model_key`` is required. Exact indexes return the true top-k; approximate ones
        aim for recall >= 0.95 and still return ``limit`` results when enough records match.
        """
        ...

    async def count(self, where: VectorFilter) -> int:
        """How many records match the filter."""
        ...

    async def close(self) -> None:
        """Release connections and files."""


# -- contract checks every adapter applies ------------------------------------------------

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def require_search(where: VectorFilter, limit: int) -> str:
    """The model a search runs on; raises ``ValueError`` without one or for ``limit < 1``."""
    if where.model_key is None:
        raise ValueError("a vector search needs where.model_key")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    return where.model_key


def checked_vector(vector: Vector, dimension: int | None = None) -> Vector:
    """``vector`` as 1-D float32; raises ``ValueError`` if it cannot be compared by cosine.

    A vector must be one-dimensional, finite and non-zero, and have ``dimension`` components
    when a dimension is given (the model's, fixed by its first vector).
    """
    array = np.asarray(vector, dtype=np.float32)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"a vector must be one-dimensional and non-empty, got {array.shape}")
    if dimension is not None and array.size != dimension:
        raise ValueError(f"expected a vector of dimension {dimension}, got {array.size}")
    if not np.all(np.isfinite(array)) or not np.any(array):
        raise ValueError("a vector must be finite and non-zero")
    return array


def checked_vectors(records: Sequence[VectorRecord], dimensions: Mapping[str, int]) -> list[Vector]:
    """The records' vectors, checked by :func:`checked_vector` before anything is written.

    A model's dimension is its entry in ``dimensions`` (the vectors already stored) or else
    that of its first vector in ``records``.
    """
    fixed = dict(dimensions)
    vectors = []
    for record in records:
        vector = checked_vector(record.vector, fixed.get(record.model_key))
        fixed.setdefault(record.model_key, vector.size)
        vectors.append(vector)
    return vectors


def epoch_micros(timestamp: dt.datetime) -> int:
    """Microseconds since the Unix epoch; a naive timestamp is read as UTC."""
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=dt.timezone.utc)
    return (timestamp - _EPOCH) // dt.timedelta(microseconds=1)
