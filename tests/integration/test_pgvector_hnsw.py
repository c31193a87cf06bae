"""pgvector's HNSW path agrees with exact search (recall@10 >= 0.95), filters included."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import numpy as np
import pytest

from bruno_memory import Memory, create_memory
from bruno_memory.adapters.vector.exact import ExactVectorIndex
from bruno_memory.managers import vectors as sql_vectors
from bruno_memory.managers.vectors import SqlVectorIndex
from bruno_memory.ports.vector import VectorFilter, VectorRecord
from tests.congruence.sql_index import StoredItemsIndex

pytestmark = pytest.mark.postgres_only

DIMENSION = 384  # the size the migration indexes with HNSW
ITEMS = 3_000
USERS = 6
MODEL = "hnsw-test@1:384"


def clustered(count: int, seed: int) -> np.ndarray:
    """Unit vectors around 30 shared centres (the shape of real embeddings)."""
    centres = np.random.default_rng(0).standard_normal((30, DIMENSION))
    rng = np.random.default_rng(seed)
    vectors = centres[rng.integers(0, 30, count)] + 0.4 * rng.standard_normal((count, DIMENSION))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
async def store(fresh_url: str) -> AsyncIterator[Memory]:
    async with create_memory(fresh_url, embedder=None) as opened:
        yield opened


async def test_hnsw_matches_exact_search(store: Memory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Top-10 by HNSW recalls >= 95% of the exact top-10, with and without a user filter,
    and a filtered search still returns 10 hits."""
    index = SqlVectorIndex(store.storage.database)
    if not await index.has_pgvector():
        pytest.skip("this PostgreSQL has no pgvector: search is exact here")
    monkeypatch.setattr(sql_vectors, "EXACT_SCAN_LIMIT", 0)  # always take the HNSW path
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    records = [
        VectorRecord("message", uuid.uuid4(), MODEL, vector, f"u{i % USERS}", "c", start, "user")
        for i, vector in enumerate(clustered(ITEMS, seed=1))
    ]
    await StoredItemsIndex(store).upsert(records)
    exact = ExactVectorIndex()
    await exact.upsert(records)
    for where in (VectorFilter(model_key=MODEL), VectorFilter(model_key=MODEL, user_id="u2")):
        recalls = []
        for query in clustered(40, seed=2):
            found = await index.search(query, where, 10)
            truth = await exact.search(query, where, 10)
            assert len(found) == 10
            recalls.append(len({m.item_id for m in found} & {m.item_id for m in truth}) / 10)
        assert np.mean(recalls) >= 0.95, (where, np.mean(recalls))
