"""MemoryInterface contract: long-term memory entries."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from bruno_core.models.memory import MemoryQuery, MemoryType

from bruno_memory import ConflictError, InvalidInputError, Memory, MemoryNotFoundError
from bruno_memory.errors import AccessDeniedError
from tests.conformance.helpers import memory_entry

UTC = dt.timezone.utc


HOUR = dt.timedelta(hours=1)


async def test_memory_round_trip_keeps_every_field(memory: Memory, uid: str) -> None:
    """Every MemoryEntry field, metadata included, comes back as stored."""
    related = uuid.uuid4()
    entry = memory_entry(
        uid,
        "User loves jazz",
        memory_type=MemoryType.FACT,
        conversation_id="conv-1",
        source="conversation",
        category="preference",
        tags=["music", "jazz"],
        confidence=0.9,
        importance=0.7,
        access_count=3,
        embedding=[0.25, -1.0, 0.5],
        related_memories=[related],
        custom_fields={"origin": "chat"},
        expires_at=dt.datetime(2099, 1, 1),
    )
    await memory.store_memory(entry)
    stored = await memory.get_memory(entry.id)
    assert stored is not None
    assert stored.model_dump() == entry.model_dump() | {
        "created_at": entry.created_at.replace(tzinfo=UTC),
        "updated_at": entry.updated_at.replace(tzinfo=UTC),
        "last_accessed": entry.last_accessed.replace(tzinfo=UTC),
        "expires_at": dt.datetime(2099, 1, 1, tzinfo=UTC),
    }


async def test_get_memory_missing_is_none(memory: Memory) -> None:
    """get_memory returns None for an unknown id (str or UUID)."""
    assert await memory.get_memory(uuid.uuid4()) is None
    assert await memory.get_memory(str(uuid.uuid4())) is None


async def test_duplicate_memory_is_a_conflict(memory: Memory, uid: str) -> None:
    """Storing an id twice raises ConflictError and keeps the first entry."""
    entry = memory_entry(uid, "first")
    await memory.store_memory(entry)
    with pytest.raises(ConflictError):
        await memory.store_memory(entry.model_copy(update={"content": "second"}))
    stored = await memory.get_memory(entry.id)
    assert stored is not None
    assert stored.content == "first"


async def test_retrieve_filters(memory: Memory, uid: str) -> None:
    """Type, category, tag, confidence and importance filters each narrow the result."""
    await memory.store_memory(memory_entry(uid, "a", memory_type=MemoryType.FACT, category="x"))
    await memory.store_memory(memory_entry(uid, "b", category="y", tags=["t1", "t2"]))
    await memory.store_memory(memory_entry(uid, "c", confidence=0.2, importance=0.3))
    await memory.store_memory(memory_entry(f"{uid}-other", "d"))

    async def contents(**filters: object) -> set[str]:
        found = await memory.retrieve_memories(MemoryQuery(user_id=uid, **filters))
        return {entry.content for entry in found}

    assert await contents() == {"a", "b", "c"}
    assert await contents(memory_types=[MemoryType.FACT]) == {"a"}
    assert await contents(categories=["y", "x"]) == {"a", "b"}
    assert await contents(tags=["t2", "nope"]) == {"b"}
    assert await contents(min_confidence=0.5) == {"a", "b"}
    assert await contents(min_importance=0.5) == {"a", "b"}
    assert await contents(limit=1) == {"b"}  # most important, then newest


async def test_retrieve_orders_by_importance(memory: Memory, uid: str) -> None:
    """Without query text, the most important entries come first."""
    for importance in (0.2, 0.9, 0.5):
        await memory.store_memory(memory_entry(uid, f"i{importance}", importance=importance))
    found = await memory.retrieve_memories(MemoryQuery(user_id=uid, limit=2))
    assert [entry.content for entry in found] == ["i0.9", "i0.5"]


async def test_ties_go_to_the_newest_created_then_the_newest_stored(
    memory: Memory, uid: str
) -> None:
    """Equal importance: the newest ``created_at`` first; equal too: the last stored first."""
    day = dt.datetime(2024, 5, 1, tzinfo=UTC)
    for content, created in (("old", day), ("first", day + HOUR), ("second", day + HOUR)):
        entry = memory_entry(uid, content, importance=0.5)
        await memory.store_memory(entry.model_copy(update={"created_at": created}))
    await memory.store_memory(memory_entry(uid, "important", importance=0.9))
    found = await memory.retrieve_memories(MemoryQuery(user_id=uid))
    assert [entry.content for entry in found] == ["important", "second", "first", "old"]


async def test_expired_memories(memory: Memory, uid: str) -> None:
    """Expired entries are left out unless include_expired is set."""
    past = dt.datetime.now(UTC) - dt.timedelta(minutes=1)
    await memory.store_memory(memory_entry(uid, "old", expires_at=past))
    await memory.store_memory(memory_entry(uid, "fresh"))
    found = await memory.retrieve_memories(MemoryQuery(user_id=uid))
    assert [entry.content for entry in found] == ["fresh"]
    everything = await memory.retrieve_memories(MemoryQuery(user_id=uid, include_expired=True))
    assert {entry.content for entry in everything} == {"old", "fresh"}


async def test_query_text_ranks_by_relevance(memory: Memory, uid: str, word: str) -> None:
    """query_text keeps matching entries, best match first."""
    await memory.store_memory(memory_entry(uid, f"{word} and more {word}", importance=0.1))
    await memory.store_memory(memory_entry(uid, f"{word} with several other words here"))
    await memory.store_memory(memory_entry(uid, "no match at all"))
    found = await memory.retrieve_memories(MemoryQuery(user_id=uid, query_text=word))
    assert [entry.content for entry in found] == [
        f"{word} and more {word}",
        f"{word} with several other words here",
    ]


async def test_query_text_ranks_by_its_content_words(memory: Memory, uid: str, word: str) -> None:
    """Stop words of query_text match nothing: an entry made only of them is left out on
    every dialect (PostgreSQL's english configuration drops them, and so does the library)."""
    await memory.store_memory(memory_entry(uid, f"the {word} story"))
    await memory.store_memory(memory_entry(uid, "what was all this about"))
    found = await memory.retrieve_memories(
        MemoryQuery(user_id=uid, query_text=f"what was this {word} about")
    )
    assert [entry.content for entry in found] == [f"the {word} story"]


async def test_retrieval_counts_access(memory: Memory, uid: str) -> None:
    """Each retrieval increments access_count and moves last_accessed forward."""
    entry = memory_entry(uid, "remember me")
    await memory.store_memory(entry)
    first = (await memory.retrieve_memories(MemoryQuery(user_id=uid)))[0]
    second = (await memory.retrieve_memories(MemoryQuery(user_id=uid)))[0]
    assert (first.metadata.access_count, second.metadata.access_count) == (1, 2)
    assert second.last_accessed >= first.last_accessed > entry.last_accessed.replace(tzinfo=UTC)
    stored = await memory.get_memory(entry.id)
    assert stored is not None
    assert stored.metadata.access_count == 2


async def test_update_memory(memory: Memory, uid: str) -> None:
    """update_memory replaces content, tags and scores, and moves updated_at."""
    entry = memory_entry(uid, "likes tea", tags=["drink"])
    await memory.store_memory(entry)
    changed = entry.model_copy(deep=True)
    changed.update_content("likes coffee")
    changed.metadata.tags = ["drink", "morning"]
    changed.metadata.importance = 0.4
    updated = await memory.update_memory(changed)
    stored = await memory.get_memory(entry.id)
    assert stored == updated
    assert stored.content == "likes coffee"
    assert stored.metadata.tags == ["drink", "morning"]
    assert stored.metadata.importance == 0.4
    assert stored.updated_at > entry.updated_at.replace(tzinfo=UTC)
    assert stored.created_at == entry.created_at.replace(tzinfo=UTC)


async def test_update_memory_errors(memory: Memory, uid: str) -> None:
    """Updating a missing entry or moving one to another user raises a typed error."""
    entry = memory_entry(uid, "x")
    with pytest.raises(MemoryNotFoundError):
        await memory.update_memory(entry)
    await memory.store_memory(entry)
    with pytest.raises(AccessDeniedError):
        await memory.update_memory(entry.model_copy(update={"user_id": f"{uid}-thief"}))


async def test_delete_memory(memory: Memory, uid: str) -> None:
    """delete_memory removes the entry; deleting a missing one raises MemoryNotFoundError."""
    entry = memory_entry(uid, "gone soon", tags=["t"])
    await memory.store_memory(entry)
    await memory.delete_memory(str(entry.id))
    assert await memory.get_memory(entry.id) is None
    with pytest.raises(MemoryNotFoundError):
        await memory.delete_memory(str(entry.id))
    with pytest.raises(InvalidInputError):
        await memory.delete_memory("not-a-uuid")


async def test_search_memories(memory: Memory, uid: str, word: str) -> None:
    """search_memories finds entries holding every word, for one user or all."""
    await memory.store_memory(memory_entry(uid, f"{word} plays saxophone"))
    await memory.store_memory(memory_entry(f"{uid}-2", f"{word} plays drums"))
    assert len(await memory.search_memories(f"{word} plays")) == 2
    found = await memory.search_memories(f"{word} saxophone", user_id=uid)
    assert [entry.content for entry in found] == [f"{word} plays saxophone"]
