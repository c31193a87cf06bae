"""The priority score: each factor in [0, 1], the score monotonic in each, user-set
importance winning, supersession penalised; pruning's choice; supersession's links."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from bruno_core.models.memory import MemoryEntry, MemoryMetadata, MemoryType
from hypothesis import given
from hypothesis import strategies as st

from bruno_memory import ConfigurationError
from bruno_memory.priority import (
    DEFAULT_WEIGHTS,
    SUPERSEDED_BY,
    Pruner,
    Weights,
    emotion,
    frequency,
    keep_links,
    rank,
    recency,
    score,
    supersession,
)

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.timezone.utc)
unit = st.floats(min_value=0, max_value=1)
ages = st.floats(min_value=0, max_value=3650)
counts = st.integers(min_value=0, max_value=10**6)


def _entry(
    content: str = "a note",
    *,
    age_days: float = 0,
    access_count: int = 0,
    importance: float = 0.5,
    **fields: object,
) -> MemoryEntry:
    created = NOW - dt.timedelta(days=age_days)
    return MemoryEntry(
        content=content,
        memory_type=MemoryType.FACT,
        user_id="u",
        created_at=created,
        metadata=MemoryMetadata(
            importance=importance, access_count=access_count, custom_fields=dict(fields)
        ),
    )


def _score(entry: MemoryEntry, relevance: float | None = None) -> float:
    return score(entry, now=NOW, relevance=relevance)


@given(ages, ages)
def test_recency_halves_every_half_life_and_falls_with_age(a: float, b: float) -> None:
    young, old = sorted((a, b))
    assert recency(NOW - dt.timedelta(days=young), NOW, 7) >= recency(
        NOW - dt.timedelta(days=old), NOW, 7
    )
    assert recency(NOW - dt.timedelta(days=7), NOW, 7) == pytest.approx(0.5)
    assert recency(NOW + dt.timedelta(days=1), NOW, 7) == 1.0


@given(counts, counts)
def test_frequency_grows_with_access_and_saturates(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert 0 <= frequency(low) <= frequency(high) <= 1
    assert frequency(0) == 0
    assert frequency(100) == 1


@given(ages, ages, counts, unit, unit, st.one_of(st.none(), unit))
def test_score_is_monotonic_in_age_access_and_importance(
    age_a: float, age_b: float, count: int, imp_a: float, imp_b: float, relevance: float | None
) -> None:
    young, old = sorted((age_a, age_b))
    low, high = sorted((imp_a, imp_b))
    base = _score(_entry(age_days=old, access_count=count, importance=low), relevance)
    assert 0 <= base <= 1
    assert _score(_entry(age_days=young, access_count=count, importance=low), relevance) >= base
    assert _score(_entry(age_days=old, access_count=count + 1, importance=low), relevance) >= base
    assert _score(_entry(age_days=old, access_count=count, importance=high), relevance) >= base


@given(unit, unit, ages)
def test_score_is_monotonic_in_relevance(a: float, b: float, age: float) -> None:
    low, high = sorted((a, b))
    entry = _entry(age_days=age)
    assert _score(entry, high) >= _score(entry, low)


def test_emotional_content_scores_higher() -> None:
    neutral, felt = "the meeting is on tuesday", "I love this, it is wonderful and amazing!"
    assert emotion(neutral) == 0
    assert emotion(felt) > 0.8
    assert emotion("I hate this, it is awful and horrible!") > 0.8  # significance, not polarity
    assert _score(_entry(felt)) > _score(_entry(neutral))


@given(unit, unit)
def test_user_importance_wins_over_stored_importance(stored: float, chosen: float) -> None:
    entry = _entry(importance=stored, user_importance=chosen)
    assert _score(entry) == pytest.approx(_score(_entry(importance=chosen)))


@pytest.mark.parametrize("invalid", [True, 2, -0.5, "high"])
def test_an_invalid_user_importance_is_ignored(invalid: object) -> None:
    assert _score(_entry(importance=0.3, user_importance=invalid)) == _score(_entry(importance=0.3))


def test_a_superseded_memory_ranks_after_its_successor() -> None:
    old = _entry("likes coffee black", age_days=1, importance=1.0, access_count=100)
    old.metadata.custom_fields[SUPERSEDED_BY] = str(uuid.uuid4())
    new = _entry("likes coffee with milk", importance=0.0)
    assert rank([old, new], by_relevance=True) == [new, old]


def test_rank_reads_relevance_from_the_given_order() -> None:
    first, second = _entry("one"), _entry("two")
    assert rank([first, second], by_relevance=True) == [first, second]
    assert rank([second, first], by_relevance=True) == [second, first]


def test_weights_are_checked_and_used() -> None:
    with pytest.raises(ConfigurationError):
        Weights(recency=-1)
    with pytest.raises(ConfigurationError):
        Weights(relevance=0, recency=0, frequency=0, importance=0, emotion=0)
    old_important = _entry(age_days=30, importance=1.0)
    new_unimportant = _entry(importance=0.0)
    recency_only = Weights(relevance=0, frequency=0, importance=0, emotion=0)
    both = [new_unimportant, old_important]
    assert rank(both, by_relevance=False, weights=DEFAULT_WEIGHTS)[0] is old_important
    assert rank(both[::-1], by_relevance=False, weights=recency_only)[0] is new_unimportant


def _pruned(batches: list[list[MemoryEntry]], keep: int) -> set[uuid.UUID]:
    pruner = Pruner(keep, now=NOW)
    out = {memory_id for batch in batches for memory_id in pruner.offer(batch)}
    return out | set(pruner.finish())


def test_pruning_keeps_pinned_and_the_best() -> None:
    pinned = _entry("pinned", age_days=900, importance=0.0, pinned=True)
    best = _entry("best", importance=1.0)
    worst = _entry("worst", age_days=100, importance=0.0)
    assert _pruned([[worst, pinned, best]], keep=2) == {worst.id}
    assert _pruned([[worst], [pinned], [best]], keep=2) == {worst.id}
    assert _pruned([[worst, pinned], [best]], keep=0) == {best.id, worst.id}
    assert _pruned([[worst, pinned, best]], keep=5) == set()


@given(
    st.lists(st.tuples(ages, unit, st.booleans()), max_size=40),
    st.integers(min_value=0, max_value=45),
    st.integers(min_value=1, max_value=7),
)
def test_pruning_in_batches_archives_what_ranking_everything_would(
    memories: list[tuple[float, float, bool]], keep: int, size: int
) -> None:
    """Offered in batches of any size, the pruner archives exactly the unpinned memories
    past the first ``keep - pinned`` of :func:`rank` over all of them (ties included:
    equal memories keep the order offered)."""
    entries = [_entry(age_days=age, importance=imp, pinned=pin) for age, imp, pin in memories]
    entries += entries[:3]  # the same memory twice: a tie
    entries = [e.model_copy(update={"id": uuid.uuid4()}) for e in entries]
    unpinned = [e for e in entries if not e.metadata.custom_fields.get("pinned")]
    slots = max(0, keep - (len(entries) - len(unpinned)))
    expected = {e.id for e in rank(unpinned, by_relevance=False, now=NOW)[slots:]}
    batches = [entries[start : start + size] for start in range(0, len(entries), size)]
    assert _pruned(batches, keep) == expected


def test_supersession_links_the_newer_to_the_older() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    links = supersession(NOW, [(a, NOW - dt.timedelta(days=2)), (b, NOW - dt.timedelta(days=1))])
    assert (links.supersedes, links.superseded_by, links.replaced) == (b, None, (a, b))
    late = supersession(NOW - dt.timedelta(days=3), [(a, NOW)])
    assert (late.supersedes, late.superseded_by, late.replaced) == (None, a, ())


def test_an_update_keeps_the_stored_links() -> None:
    stored = {"subject": "x", "superseded_by": "id-1"}
    assert keep_links(stored, {"subject": "x", "note": 1}) == {**stored, "note": 1}
    assert keep_links(stored, {"superseded_by": "forged"}) == {"superseded_by": "id-1"}
