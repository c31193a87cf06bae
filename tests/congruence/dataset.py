"""Synthetic records: two models over partly shared items, every filter field varied.

``UNIFORM`` vectors are uniform on the sphere; ``CLUSTERED`` ones are gaussian clusters (the
shape real embeddings have, where recall of an approximate index means something). The first
sixth of the items exists only in ``UNIFORM``, the last sixth only in ``CLUSTERED``.
Timestamps fall on whole minutes, so filter bounds land exactly on records.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from bruno_memory.ports.vector import ItemKind, VectorFilter, VectorRecord

DIMENSION = 64
UNIFORM = "uniform-64"
CLUSTERED = "acme/clustered:64@v1"  # characters no collection name may hold, on purpose
MODELS = (UNIFORM, CLUSTERED)
CLUSTERS = 50
CLUSTER_SPREAD = 0.08

T0 = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
MINUTES = 240
USERS = ("u0", "u1", "u2", "u3")
CONVERSATIONS = tuple(f"c{number:02d}" for number in range(24))
MESSAGE_ROLES = ("user", "assistant", "system")
MEMORY_ROLES = ("fact", "preference", None)


def minute(number: int) -> dt.datetime:
    """The timestamp ``number`` minutes after ``T0``."""
    return T0 + dt.timedelta(minutes=number)


# One search or deletion scope per entry, without model (tests add it).
FILTERS = {
    "model-only": VectorFilter(),
    "messages": VectorFilter(kinds=("message",)),
    "memories": VectorFilter(kinds=("memory",)),
    "both-kinds": VectorFilter(kinds=("message", "memory")),
    "user": VectorFilter(user_id="u1"),
    "unknown-user": VectorFilter(user_id="nobody"),
    "conversation": VectorFilter(conversation_id="c05"),
    "since": VectorFilter(since=minute(180)),
    "until": VectorFilter(until=minute(60)),
    "window": VectorFilter(since=minute(100), until=minute(130)),
    "empty-window": VectorFilter(since=minute(100), until=minute(100)),
    "exclude-system": VectorFilter(exclude_roles=("system",)),
    "exclude-several": VectorFilter(exclude_roles=("user", "assistant", "fact")),
    "combined": VectorFilter(
        kinds=("message",),
        user_id="u2",
        since=minute(30),
        until=minute(200),
        exclude_roles=("system",),
    ),
    "combined-memories": VectorFilter(
        kinds=("memory",), user_id="u0", conversation_id="c08", exclude_roles=("fact",)
    ),
}

Matrix = npt.NDArray[np.float32]
T = TypeVar("T")


@dataclass(frozen=True)
class Dataset:
    """Records of both models and a few queries per model."""

    records: list[VectorRecord]
    queries: dict[str, Matrix]

    def of_model(self, model_key: str) -> list[VectorRecord]:
        """The records of one model."""
        return [record for record in self.records if record.model_key == model_key]


def make_dataset(items: int, queries: int = 4, seed: int = 7) -> Dataset:
    """``items`` items, about five sixths of them embedded by each model."""
    rng = np.random.default_rng(seed)
    share = items // 6
    uniform = [_record(rng) for _ in range(items)]
    centers = _unit_rows(rng.standard_normal((CLUSTERS, DIMENSION)))
    clustered = [
        replace(record, model_key=CLUSTERED, vector=vector)
        for record, vector in zip(
            uniform[share:], _clustered(rng, centers, items - share), strict=True
        )
    ]
    return Dataset(
        records=uniform[: items - share] + clustered,
        queries={
            UNIFORM: _unit_rows(rng.standard_normal((queries, DIMENSION))),
            CLUSTERED: _clustered(rng, centers, queries),
        },
    )


def _record(rng: np.random.Generator) -> VectorRecord:
    """An item of random kind and fields, embedded by ``UNIFORM``."""
    kind: ItemKind = "message" if rng.random() < 0.7 else "memory"
    conversation = int(rng.integers(len(CONVERSATIONS)))
    user_id: str | None
    role: str | None
    if kind == "message":
        # Every sixth conversation has no owner yet.
        user_id = USERS[conversation % len(USERS)] if conversation % 6 else None
        conversation_id: str | None = CONVERSATIONS[conversation]
        role = _pick(rng, MESSAGE_ROLES)
    else:
        user_id = _pick(rng, USERS)
        conversation_id = CONVERSATIONS[conversation] if rng.random() < 0.5 else None
        role = _pick(rng, MEMORY_ROLES)
    return VectorRecord(
        kind=kind,
        item_id=uuid.UUID(bytes=rng.bytes(16)),
        model_key=UNIFORM,
        vector=_unit_rows(rng.standard_normal((1, DIMENSION)))[0],
        user_id=user_id,
        conversation_id=conversation_id,
        timestamp=minute(int(rng.integers(MINUTES))),
        role=role,
    )


def _clustered(rng: np.random.Generator, centers: Matrix, count: int) -> Matrix:
    """``count`` unit vectors, each near a random center."""
    labels = rng.integers(len(centers), size=count)
    noise = CLUSTER_SPREAD * rng.standard_normal((count, DIMENSION))
    return _unit_rows(centers[labels] + noise)


def _unit_rows(matrix: npt.NDArray[np.float64]) -> Matrix:
    unit: Matrix = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
    return unit


def _pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    return options[int(rng.integers(len(options)))]
