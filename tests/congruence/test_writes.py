"""Writes: upserts replace, deletions leave nothing behind, contract breaches are refused."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from bruno_memory.ports.vector import VectorFilter, VectorIndex, VectorRecord
from tests.congruence.conftest import Implementation
from tests.congruence.dataset import CLUSTERED, DIMENSION, FILTERS, MODELS, UNIFORM, Dataset, minute
from tests.congruence.reference import assert_congruent, keys, matches, nearest


async def assert_holds(
    index: VectorIndex,
    records: Sequence[VectorRecord],
    dataset: Dataset,
    implementation: Implementation,
) -> None:
    """``index`` holds exactly ``records``: same count, same full rankings per model."""
    assert await index.count(VectorFilter()) == len(records)
    limit = len(records) + 1
    for model_key in MODELS:
        where = VectorFilter(model_key=model_key)
        query = dataset.queries[model_key][0]
        actual = await index.search(query, where, limit)
        assert_congruent(actual, nearest(records, query, where, limit), implementation.min_recall)


@pytest.fixture
async def filled(index: VectorIndex, small_dataset: Dataset) -> VectorIndex:
    """``index`` holding the small dataset."""
    await index.upsert(small_dataset.records)
    return index


async def test_an_empty_index_has_nothing(index: VectorIndex, small_dataset: Dataset) -> None:
    query = small_dataset.queries[UNIFORM][0]
    assert await index.search(query, VectorFilter(model_key=UNIFORM), 10) == []
    assert await index.count(VectorFilter()) == 0
    assert await index.count(VectorFilter(model_key=UNIFORM)) == 0
    await index.delete_where(VectorFilter(user_id="u1"))
    await index.delete_items("message", [uuid.uuid4()])
    assert await index.count(VectorFilter()) == 0


async def test_an_unknown_model_has_nothing(filled: VectorIndex, small_dataset: Dataset) -> None:
    where = VectorFilter(model_key="never-used")
    assert await filled.search(small_dataset.queries[UNIFORM][0], where, 10) == []
    assert await filled.count(where) == 0


async def test_search_needs_a_model_and_a_positive_limit(
    filled: VectorIndex, small_dataset: Dataset
) -> None:
    query = small_dataset.queries[UNIFORM][0]
    with pytest.raises(ValueError, match="model_key"):
        await filled.search(query, VectorFilter(user_id="u1"), 10)
    with pytest.raises(ValueError, match="limit"):
        await filled.search(query, VectorFilter(model_key=UNIFORM), 0)


async def test_a_models_dimension_is_fixed_by_its_vectors(
    filled: VectorIndex, small_dataset: Dataset, implementation: Implementation
) -> None:
    wrong = np.ones(DIMENSION + 1, dtype=np.float32)
    with pytest.raises(ValueError, match="dimension"):
        await filled.upsert([replace(small_dataset.records[0], vector=wrong)])
    with pytest.raises(ValueError, match="dimension"):
        await filled.search(wrong, VectorFilter(model_key=UNIFORM), 10)
    await assert_holds(filled, small_dataset.records, small_dataset, implementation)


@pytest.mark.parametrize(
    "vector", [np.zeros(DIMENSION), np.full(DIMENSION, np.nan)], ids=["zero", "nan"]
)
async def test_vectors_without_a_direction_are_refused(
    index: VectorIndex, small_dataset: Dataset, vector: np.ndarray
) -> None:
    with pytest.raises(ValueError, match="finite and non-zero"):
        await index.upsert([replace(small_dataset.records[0], vector=vector)])
    assert await index.count(VectorFilter()) == 0


async def test_upsert_replaces_an_item(
    filled: VectorIndex, small_dataset: Dataset, implementation: Implementation
) -> None:
    old = small_dataset.of_model(UNIFORM)[0]
    new = replace(old, vector=-old.vector, user_id="u-new")
    await filled.upsert([new])

    top = await filled.search(new.vector, VectorFilter(model_key=UNIFORM), 1)
    assert keys(top) == [(old.kind, old.item_id)]
    assert top[0].score == pytest.approx(1.0, abs=1e-5)
    moved = await filled.search(new.vector, VectorFilter(model_key=UNIFORM, user_id="u-new"), 10)
    assert keys(moved) == [(old.kind, old.item_id)]
    records = [new if record is old else record for record in small_dataset.records]
    await assert_holds(filled, records, small_dataset, implementation)


async def test_the_last_of_one_items_records_in_a_batch_wins(
    index: VectorIndex, small_dataset: Dataset, implementation: Implementation
) -> None:
    first = small_dataset.of_model(UNIFORM)[0]
    last = replace(first, vector=-first.vector, role="changed")
    await index.upsert([first, last])
    await assert_holds(index, [last], small_dataset, implementation)


async def test_delete_items_removes_every_models_vectors(
    filled: VectorIndex, small_dataset: Dataset, implementation: Implementation
) -> None:
    messages = [record.item_id for record in small_dataset.records if record.kind == "message"]
    doomed = set(messages[::5])  # items of one model, of the other, and of both
    await filled.delete_items("message", list(doomed))
    kept = [
        record
        for record in small_dataset.records
        if not (record.kind == "message" and record.item_id in doomed)
    ]
    assert len(kept) < len(small_dataset.records)
    await assert_holds(filled, kept, small_dataset, implementation)


async def test_delete_items_of_another_kind_removes_nothing(
    filled: VectorIndex, small_dataset: Dataset, implementation: Implementation
) -> None:
    messages = [record.item_id for record in small_dataset.records if record.kind == "message"]
    await filled.delete_items("memory", messages)
    await filled.delete_items("message", [])
    await assert_holds(filled, small_dataset.records, small_dataset, implementation)


@pytest.mark.parametrize("model_key", [None, CLUSTERED])
@pytest.mark.parametrize("where", FILTERS.values(), ids=FILTERS.keys())
async def test_delete_where_removes_exactly_the_matches(
    filled: VectorIndex,
    small_dataset: Dataset,
    implementation: Implementation,
    where: VectorFilter,
    model_key: str | None,
) -> None:
    scoped = replace(where, model_key=model_key)
    await filled.delete_where(scoped)
    assert await filled.count(scoped) == 0
    kept = [record for record in small_dataset.records if not matches(record, scoped)]
    await assert_holds(filled, kept, small_dataset, implementation)


async def test_since_is_inclusive_and_until_exclusive_to_the_microsecond(
    index: VectorIndex, small_dataset: Dataset
) -> None:
    bound = minute(61) + dt.timedelta(microseconds=123_457)
    before, at, after = (
        replace(record, timestamp=bound + dt.timedelta(microseconds=offset))
        for record, offset in zip(small_dataset.of_model(UNIFORM)[:3], (-1, 0, 1), strict=True)
    )
    await index.upsert([before, at, after])
    query = small_dataset.queries[UNIFORM][0]

    async def found(
        since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> set[tuple[str, uuid.UUID]]:
        where = VectorFilter(model_key=UNIFORM, since=since, until=until)
        return set(keys(await index.search(query, where, 10)))

    assert await found(since=bound) == set(keys_of(at, after))
    assert await found(until=bound) == set(keys_of(before))
    assert await found(since=bound, until=bound + dt.timedelta(microseconds=1)) == set(keys_of(at))


def keys_of(*records: VectorRecord) -> list[tuple[str, uuid.UUID]]:
    """The ``(kind, item_id)`` of each record."""
    return [(record.kind, record.item_id) for record in records]


async def test_deleted_items_can_come_back(
    filled: VectorIndex, small_dataset: Dataset, implementation: Implementation
) -> None:
    await filled.delete_where(VectorFilter(kinds=("memory",)))
    await filled.upsert([record for record in small_dataset.records if record.kind == "memory"])
    await assert_holds(filled, small_dataset.records, small_dataset, implementation)
