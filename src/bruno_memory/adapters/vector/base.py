"""The vector-index port: what every vector store (exact, pgvector, Qdrant, ...) offers.

Vectors are float32, L2-normalized by the caller, and compared by cosine similarity
(the dot product of normalized vectors). Every record and every query names the embedding
model (``model_key``): an index never returns a vector of another model than the query's.
Items are messages or memories, identified by ``(kind, item_id)``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
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
