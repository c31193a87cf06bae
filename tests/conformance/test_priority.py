"""Prioritization: one score ranks memories everywhere; pruning archives by it, keeps
pinned memories and deletes nothing; a newer memory of a subject supersedes the older."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from bruno_core.models.memory import MemoryEntry, MemoryQuery

import bruno_memory.memory as facade
from bruno_memory import Capability, ConflictError, InvalidInputError, Memory
from tests.conformance.helpers import memory_entry

NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
DAY = dt.timedelta(days=1)

prunes = pytest.mark.requires(Capability.PRUNING)


def _aged(uid: str, content: str, days: float, **metadata: Any) -> MemoryEntry:
    entry = memory_entry(uid, content, **metadata)
    created = NOW - days * DAY
    return entry.model_copy(update={"created_at": created, "updated_at": created})


async def _contents(memory: Memory, uid: str, **query: Any) -> list[str]:
    found = await memory.retrieve_memories(MemoryQuery(user_id=uid, **query))
    return [entry.content for entry in found]


async def test_user_set_importance_wins_over_stored_importance(memory: Memory, uid: str) -> None:
    """custom_fields["user_importance"] outranks metadata.importance (the stored order would
    put the first memory first)."""
    await memory.store_memory(
        _aged(
            uid, "the bus leaves at nine", 1, importance=0.9, custom_fields={"user_importance": 0.0}
        )
    )
    await memory.store_memory(_aged(uid, "the train leaves at ten", 1, importance=0.5))
    assert await _contents(memory, uid) == ["the train leaves at ten", "the bus leaves at nine"]


async def test_recency_and_emotion_rank_before_stored_importance(memory: Memory, uid: str) -> None:
    """A month-old memory of higher stored importance ranks after a new one; a strongly felt
    memory before a neutral one of the same age and importance."""
    await memory.store_memory(_aged(uid, "the office is on floor three", 60, importance=0.6))
    await memory.store_memory(_aged(uid, "the printer is on floor two", 0, importance=0.5))
    await memory.store_memory(
        _aged(uid, "I absolutely love my wonderful dog, best friend ever!", 0.01, importance=0.5)
    )
    assert await _contents(memory, uid) == [
        "I absolutely love my wonderful dog, best friend ever!",
        "the printer is on floor two",
        "the office is on floor three",
    ]


async def test_frequent_access_ranks_first(memory: Memory, uid: str) -> None:
    """Of two equal memories, the one retrieved more often ranks first."""
    await memory.store_memory(_aged(uid, "tea is served at four", 1, access_count=50))
    await memory.store_memory(_aged(uid, "tea is served at five", 0.999))
    assert await _contents(memory, uid) == ["tea is served at four", "tea is served at five"]


async def test_a_limit_takes_the_best_scored(memory: Memory, uid: str) -> None:
    """The limit cuts the score's ranking, not the stored order."""
    await memory.store_memory(_aged(uid, "old important note", 90, importance=1.0))
    for n in range(3):
        await memory.store_memory(_aged(uid, f"fresh note {n}", 0, importance=0.8))
    assert "old important note" not in await _contents(memory, uid, limit=3)


@prunes
async def test_prune_archives_the_lowest_scored_and_deletes_nothing(
    memory: Memory, uid: str
) -> None:
    entries = [_aged(uid, f"note {n}", n * 10, importance=1 - n / 10) for n in range(5)]
    for entry in entries:
        await memory.store_memory(entry)

    assert await memory.prune_memories(uid, keep=2) == 3

    assert await _contents(memory, uid) == ["note 0", "note 1"]
    archived = await memory.archived_memories(uid)
    assert {entry.content for entry in archived} == {"note 2", "note 3", "note 4"}
    for entry in entries:
        assert await memory.get_memory(entry.id) is not None
    assert await memory.prune_memories(uid, keep=2) == 0


@prunes
async def test_prune_in_batches_chooses_as_over_everything(
    memory: Memory, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read and archived two at a time, pruning keeps the same best memories (and the
    pinned one, which counts toward keep) as when every memory is read at once."""
    monkeypatch.setattr(facade, "PRUNE_BATCH", 2)
    monkeypatch.setattr(facade, "LIST_PAGE", 2)
    entries = [_aged(uid, f"note {n}", n * 10, importance=1 - n / 10) for n in range(7)]
    pinned = _aged(uid, "pinned note", 900, importance=0.0, custom_fields={"pinned": True})
    for entry in [*entries[::-1], pinned]:
        await memory.store_memory(entry)

    assert await memory.prune_memories(uid, keep=4) == 4

    assert await _contents(memory, uid) == ["note 0", "note 1", "note 2", "pinned note"]
    assert await memory.prune_memories(uid, keep=4) == 0


@prunes
async def test_pinned_memories_are_never_pruned(memory: Memory, uid: str) -> None:
    pinned = _aged(uid, "my blood type is O negative", 400, importance=0.0)
    pinned.metadata.custom_fields = {"pinned": True}
    await memory.store_memory(pinned)
    for n in range(3):
        await memory.store_memory(_aged(uid, f"note {n}", 0, importance=0.9))

    assert await memory.prune_memories(uid, keep=0) == 3

    assert await _contents(memory, uid) == ["my blood type is O negative"]
    assert await memory.prune_memories(uid, keep=0) == 0


@prunes
async def test_archived_memories_leave_search_and_context_and_restore(
    memory: Memory, uid: str, word: str
) -> None:
    kept = _aged(uid, f"{word} kept memory", 0, importance=1.0)
    gone = _aged(uid, f"{word} archived memory", 30, importance=0.1)
    await memory.store_memory(kept)
    await memory.store_memory(gone)
    assert await memory.prune_memories(uid, keep=1) == 1

    assert [e.id for e in await memory.search_memories(word, user_id=uid)] == [kept.id]
    context = await memory.build_context(uid, query=word, strategy="importance")
    assert [e.id for e in context.memories] == [kept.id]
    if Capability.RETRIEVAL in memory.capabilities:
        hits = await memory.search(word, user_id=uid, kinds=("memory",))
        assert [hit.memory.id for hit in hits if hit.memory is not None] == [kept.id]

    assert await memory.restore_memories(uid, [str(gone.id)]) == 1
    assert await memory.archived_memories(uid) == []
    found = {e.id for e in await memory.search_memories(word, user_id=uid)}
    assert found == {kept.id, gone.id}
    assert await memory.restore_memories(uid) == 0


@prunes
async def test_a_newer_memory_of_a_subject_supersedes_the_older(memory: Memory, uid: str) -> None:
    """The older is kept and linked both ways; the newer ranks first even when the older
    was more important; an update of the older keeps the links."""
    fields = {"subject": "coffee"}
    old = _aged(
        uid, "likes coffee black", 2, category="taste", importance=1.0, custom_fields=fields
    )
    new = _aged(
        uid, "likes coffee with milk", 0, category="taste", importance=0.3, custom_fields=fields
    )
    other = _aged(uid, "likes tea", 1, category="drinks", importance=0.2, custom_fields=fields)
    for entry in (old, new, other):
        await memory.store_memory(entry)

    stored_old = await memory.get_memory(old.id)
    stored_new = await memory.get_memory(new.id)
    assert stored_old is not None
    assert stored_new is not None
    assert stored_old.metadata.custom_fields["superseded_by"] == str(new.id)
    assert stored_new.metadata.custom_fields["supersedes"] == str(old.id)
    unrelated = await memory.get_memory(other.id)
    assert unrelated is not None
    assert unrelated.metadata.custom_fields == fields
    found = await _contents(memory, uid, categories=["taste"])
    assert found == ["likes coffee with milk", "likes coffee black"]

    await memory.update_memory(old.model_copy(update={"content": "likes coffee very black"}))
    updated = await memory.get_memory(old.id)
    assert updated is not None
    assert updated.metadata.custom_fields == {"subject": "coffee", "superseded_by": str(new.id)}


@prunes
async def test_a_refused_write_links_nothing(memory: Memory, uid: str) -> None:
    """Linking is part of the write: a store that conflicts leaves the older memory as it was."""
    old = _aged(uid, "lives in Paris", 1, custom_fields={"subject": "home"})
    await memory.store_memory(old)
    clash = _aged(uid, "lives in Rome", 0, custom_fields={"subject": "home"})
    with pytest.raises(ConflictError):
        await memory.store_memory(clash.model_copy(update={"id": old.id}))
    stored = await memory.get_memory(old.id)
    assert stored is not None
    assert stored.metadata.custom_fields == {"subject": "home"}


@prunes
async def test_prune_checks_its_budget(memory: Memory, uid: str) -> None:
    for keep in (-1, True, 2.5):
        with pytest.raises(InvalidInputError):
            await memory.prune_memories(uid, keep=keep)  # type: ignore[arg-type]
