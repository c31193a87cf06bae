"""search() by full text alone (no embedder): memories and messages, every scope field,
exact mode, searches over every user, and the result cache seeing each kind of write."""

from __future__ import annotations

import datetime as dt

import pytest
from bruno_core.models.memory import MemoryEntry, MemoryMetadata, MemoryType
from bruno_core.models.message import Message, MessageRole

from bruno_memory import Capability, Memory
from bruno_memory.results import SearchHit
from tests.conformance.helpers import memory_entry, user_message

UTC = dt.timezone.utc

pytestmark = pytest.mark.requires(Capability.RETRIEVAL)


def _contents(hits: list[SearchHit]) -> list[str]:
    return [hit.content for hit in hits]


async def test_memories_are_ranked_with_messages(memory: Memory, uid: str, word: str) -> None:
    """Memories and messages are both searched; kinds keeps one kind; hybrid without an
    embedder is full text."""
    await memory.store_memory(memory_entry(uid, f"{word} prefers green tea"))
    await memory.store_message(
        user_message(f"{word} asked about tea", metadata={"user_id": uid}), f"{uid}-c"
    )
    for mode in ("fulltext", "hybrid"):
        hits = await memory.search(f"{word} tea", user_id=uid, mode=mode)
        assert {hit.kind for hit in hits} == {"message", "memory"}, mode
        assert all(set(hit.signals) == {"fulltext"} for hit in hits), mode
    only = await memory.search(f"{word} tea", user_id=uid, mode="fulltext", kinds=["memory"])
    assert _contents(only) == [f"{word} prefers green tea"]
    assert only[0].memory is not None
    assert only[0].memory.user_id == uid


async def test_message_filters(memory: Memory, uid: str, word: str) -> None:
    """since/until, conversation and metadata filters (str and int values) on messages."""
    base = dt.datetime(2024, 1, 1, tzinfo=UTC)
    await memory.store_messages(
        [
            user_message(f"{word} one", timestamp=base, metadata={"topic": "a", "n": 1}),
            user_message(
                f"{word} two",
                timestamp=base + dt.timedelta(days=1),
                metadata={"topic": "b", "n": 2},
            ),
            user_message(
                f"{word} three",
                timestamp=base + dt.timedelta(days=2),
                metadata={"topic": "a", "n": 3},
            ),
        ],
        uid,
    )
    await memory.store_messages([user_message(f"{word} elsewhere")], f"{uid}-other")
    in_range = await memory.search(
        word,
        conversation_id=uid,
        mode="fulltext",
        since=base + dt.timedelta(days=1),
        until=base + dt.timedelta(days=2),
    )
    assert _contents(in_range) == [f"{word} two"]
    tagged = await memory.search(word, conversation_id=uid, mode="fulltext", filters={"topic": "a"})
    assert set(_contents(tagged)) == {f"{word} one", f"{word} three"}
    numbered = await memory.search(word, conversation_id=uid, mode="fulltext", filters={"n": 2})
    assert _contents(numbered) == [f"{word} two"]
    everywhere = await memory.search(word, mode="fulltext")
    assert f"{word} elsewhere" in _contents(everywhere)
    assert len(everywhere) == 4


async def test_memory_filters(memory: Memory, uid: str, word: str) -> None:
    """Conversation, creation time and custom-field filters on memories; expired memories
    never show."""
    base = dt.datetime(2024, 1, 1, tzinfo=UTC)

    def entry(content: str, day: int, **fields: object) -> MemoryEntry:
        return MemoryEntry(
            content=f"{word} {content}",
            memory_type=MemoryType.LONG_TERM,
            user_id=uid,
            conversation_id=f"{uid}-{day % 2}",
            metadata=MemoryMetadata(custom_fields=dict(fields)),
            created_at=base + dt.timedelta(days=day),
        )

    await memory.store_memory(entry("first", 0, topic="a"))
    await memory.store_memory(entry("second", 1, topic="b"))
    await memory.store_memory(entry("third", 2, topic="a"))
    expired = memory_entry(uid, f"{word} gone", expires_at=dt.datetime.now(UTC))
    await memory.store_memory(expired)

    async def found(**scope: object) -> set[str]:
        hits = await memory.search(word, user_id=uid, mode="fulltext", **scope)  # type: ignore[arg-type]
        assert all(hit.kind == "memory" for hit in hits)
        return {hit.content.removeprefix(f"{word} ") for hit in hits}

    assert await found() == {"first", "second", "third"}
    assert await found(conversation_id=f"{uid}-0") == {"first", "third"}
    assert await found(since=base + dt.timedelta(days=1)) == {"second", "third"}
    assert await found(until=base + dt.timedelta(days=1)) == {"first"}
    assert await found(filters={"topic": "a"}) == {"first", "third"}
    assert await found(filters={"topic": "c"}) == set()


async def test_exact_mode_on_messages_and_memories(memory: Memory, uid: str, word: str) -> None:
    """mode='exact' keeps the items holding the query as written (case aside)."""
    await memory.store_messages(
        [
            user_message(f"{word} Blue Note records", metadata={"user_id": uid}),
            user_message(f"note: blue {word} records", metadata={"user_id": uid}),
        ],
        uid,
    )
    await memory.store_memory(memory_entry(uid, f"likes {word} blue note pressings"))
    await memory.store_memory(memory_entry(uid, f"blue is the {word} note"))
    hits = await memory.search(f"{word} blue note", user_id=uid, mode="exact")
    assert set(_contents(hits)) == {
        f"{word} Blue Note records",
        f"likes {word} blue note pressings",
    }
    assert all(set(hit.signals) == {"exact"} for hit in hits)


async def test_search_over_every_user(memory: Memory, uid: str, word: str) -> None:
    """Without user_id, every user's messages and memories are searched."""
    await memory.store_memory(memory_entry(f"{uid}-a", f"{word} sails"))
    await memory.store_memory(memory_entry(f"{uid}-b", f"{word} rows"))
    await memory.store_message(
        user_message(f"{word} swims", metadata={"user_id": f"{uid}-c"}), f"{uid}-c"
    )
    hits = await memory.search(word, mode="fulltext")
    assert set(_contents(hits)) == {f"{word} sails", f"{word} rows", f"{word} swims"}
    mine = await memory.search(word, user_id=f"{uid}-b", mode="fulltext")
    assert _contents(mine) == [f"{word} rows"]


async def test_cached_results_follow_every_write(memory: Memory, uid: str, word: str) -> None:
    """A repeated search is answered anew after each kind of write."""

    async def found() -> set[str]:
        return set(_contents(await memory.search(word, user_id=uid, mode="fulltext")))

    owner = {"user_id": uid}
    assert await found() == set()
    await memory.store_message(user_message(f"{word} said", metadata=owner), uid)
    assert await found() == {f"{word} said"}
    entry = memory_entry(uid, f"{word} known")
    await memory.store_memory(entry)
    assert await found() == {f"{word} said", f"{word} known"}
    await memory.update_memory(entry.model_copy(update={"content": f"{word} revised"}))
    assert await found() == {f"{word} said", f"{word} revised"}
    await memory.delete_memory(str(entry.id))
    assert await found() == {f"{word} said"}
    await memory.clear_history(uid)
    assert await found() == set()
    await memory.store_message(user_message(f"{word} again", metadata=owner), uid)
    await memory.store_memory(memory_entry(uid, f"{word} kept"))
    assert await found() == {f"{word} again", f"{word} kept"}
    await memory.delete_user(uid)
    assert await found() == set()


async def test_cached_results_follow_a_claim(memory: Memory, uid: str, word: str) -> None:
    """A user opening an unowned conversation claims its messages: a search of that user
    made just before is answered anew."""
    await memory.store_messages([user_message(f"{word} unowned")], uid)
    assert await memory.search(word, user_id=uid, mode="fulltext") == []
    await memory.get_context(uid, uid)
    hits = await memory.search(word, user_id=uid, mode="fulltext")
    assert [hit.content for hit in hits] == [f"{word} unowned"]


async def test_changing_a_hit_does_not_change_the_next_search(memory: Memory, uid: str) -> None:
    session = await memory.create_session(uid)
    await memory.store_message(
        Message(role=MessageRole.USER, content="the saxophone lesson", metadata={"tag": "a"}),
        session.conversation_id,
    )
    await memory.store_memory(memory_entry(uid, "plays the saxophone"))
    first = await memory.search("saxophone", user_id=uid, mode="fulltext")
    for hit in first:
        if hit.message is not None:
            hit.message.metadata["tag"] = "changed"
        if hit.memory is not None:
            hit.memory.metadata.custom_fields["x"] = 1
        for match in hit.signals.values():
            match.rank = 99
    again = await memory.search("saxophone", user_id=uid, mode="fulltext")
    assert {hit.kind for hit in again} == {"message", "memory"}
    for hit in again:
        if hit.message is not None:
            assert hit.message.metadata == {"tag": "a"}
        if hit.memory is not None:
            assert "x" not in hit.memory.metadata.custom_fields
        assert all(match.rank != 99 for match in hit.signals.values())
