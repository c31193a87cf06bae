"""Searches and counts answer like the reference, for every filter and both models."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bruno_memory.ports.vector import VectorFilter, VectorIndex
from tests.congruence.conftest import Implementation
from tests.congruence.dataset import CLUSTERED, FILTERS, MODELS, UNIFORM, Dataset
from tests.congruence.reference import assert_congruent, keys, matching, nearest

K = 10

pytestmark = pytest.mark.parametrize("where", FILTERS.values(), ids=FILTERS.keys())


@pytest.mark.parametrize("model_key", MODELS)
async def test_search_returns_the_true_top_k(
    loaded: VectorIndex,
    implementation: Implementation,
    dataset: Dataset,
    where: VectorFilter,
    model_key: str,
) -> None:
    scoped = replace(where, model_key=model_key)
    for query in dataset.queries[model_key]:
        actual = await loaded.search(query, scoped, K)
        assert_congruent(
            actual, nearest(dataset.records, query, scoped, K), implementation.min_recall
        )


@pytest.mark.parametrize("model_key", [*MODELS, None])
async def test_count_matches_the_reference(
    loaded: VectorIndex, dataset: Dataset, where: VectorFilter, model_key: str | None
) -> None:
    scoped = replace(where, model_key=model_key)
    assert await loaded.count(scoped) == len(matching(dataset.records, scoped))


async def test_limit_beyond_the_matches_returns_them_all(
    loaded: VectorIndex, dataset: Dataset, where: VectorFilter
) -> None:
    scoped = replace(where, model_key=CLUSTERED)
    expected = matching(dataset.records, scoped)
    actual = await loaded.search(dataset.queries[CLUSTERED][0], scoped, len(dataset.records))
    assert sorted(keys(actual)) == sorted((record.kind, record.item_id) for record in expected)


async def test_search_never_returns_another_models_vectors(
    loaded: VectorIndex, dataset: Dataset, where: VectorFilter
) -> None:
    # Query UNIFORM with a vector stored only in CLUSTERED: it must not come back with
    # a perfect score, and only UNIFORM's items may come back at all.
    clustered_only = dataset.of_model(CLUSTERED)[-1]
    scoped = replace(where, model_key=UNIFORM)
    actual = await loaded.search(clustered_only.vector, scoped, len(dataset.records))
    uniform_keys = {(record.kind, record.item_id) for record in dataset.of_model(UNIFORM)}
    assert set(keys(actual)) <= uniform_keys
    assert all(match.score < 1 - 1e-3 for match in actual)
