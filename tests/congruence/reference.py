"""The suite's own answers: filters read literally off VectorFilter, scores in float64.

This is deliberately not ``ExactVectorIndex`` (which is itself under test): a plain predicate
per record and a sort, slow and obviously right.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np

from bruno_memory.ports.vector import ItemKind, Vector, VectorFilter, VectorMatch, VectorRecord

SCORE_TOLERANCE = 1e-5

Key = tuple[ItemKind, uuid.UUID]


def matches(record: VectorRecord, where: VectorFilter) -> bool:
    """Whether ``record`` matches every field set in ``where``."""
    return (
        (where.model_key is None or record.model_key == where.model_key)
        and (not where.kinds or record.kind in where.kinds)
        and (where.user_id is None or record.user_id == where.user_id)
        and (where.conversation_id is None or record.conversation_id == where.conversation_id)
        and (where.since is None or record.timestamp >= where.since)
        and (where.until is None or record.timestamp < where.until)
        and record.role not in where.exclude_roles
    )


def matching(records: Sequence[VectorRecord], where: VectorFilter) -> list[VectorRecord]:
    """The records matching ``where``."""
    return [record for record in records if matches(record, where)]


def nearest(
    records: Sequence[VectorRecord], query: Vector, where: VectorFilter, limit: int
) -> list[VectorMatch]:
    """The true top ``limit`` by cosine, ties by ``(kind, item_id)``."""
    candidates = matching(records, where)
    scored = [
        VectorMatch(record.kind, record.item_id, _cosine(record.vector, query))
        for record in candidates
    ]
    scored.sort(key=lambda match: (-match.score, match.kind, match.item_id))
    return scored[:limit]


def keys(matches: Sequence[VectorMatch]) -> list[Key]:
    """The ``(kind, item_id)`` of each match, in order."""
    return [(match.kind, match.item_id) for match in matches]


def assert_congruent(
    actual: Sequence[VectorMatch], expected: Sequence[VectorMatch], min_recall: float
) -> None:
    """``actual`` answers like ``expected`` (the true top-k).

    An exact index (``min_recall == 1``) returns the same items in the same order with the
    same scores; an approximate one returns as many results, best first, with recall at
    least ``min_recall``.
    """
    assert len(actual) == len(expected)
    scores = [match.score for match in actual]
    assert scores == sorted(scores, reverse=True)
    if min_recall >= 1:
        assert keys(actual) == keys(expected)
        np.testing.assert_allclose(scores, [m.score for m in expected], atol=SCORE_TOLERANCE)
    elif expected:
        found = set(keys(actual)) & set(keys(expected))
        assert len(found) / len(expected) >= min_recall


def _cosine(a: Vector, b: Vector) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return float(a64 @ b64 / (np.linalg.norm(a64) * np.linalg.norm(b64)))
