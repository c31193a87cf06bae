"""Per-user statistics and erasure."""

from __future__ import annotations

from bruno_core.models.memory import MemoryQuery
from bruno_core.models.message import MessageRole

from bruno_memory import Memory
from tests.conformance.helpers import memory_entry, message, user_message


async def test_statistics_count_only_the_users_data(memory: Memory, uid: str) -> None:
    """get_statistics returns real per-user counts, untouched by other users' data."""
    alice, bob = f"{uid}-alice", f"{uid}-bob"
    first = await memory.create_session(alice)
    second = await memory.create_session(alice)
    await memory.end_session(second.session_id)
    await memory.store_messages(
        [message(MessageRole.SYSTEM, "s"), user_message("a"), message(MessageRole.ASSISTANT, "b")],
        first.conversation_id,
    )
    await memory.store_message(user_message("c"), second.conversation_id)
    await memory.store_memory(memory_entry(alice, "likes jazz"))
    bobs = await memory.create_session(bob)
    await memory.store_message(user_message("not alice"), bobs.conversation_id)
    await memory.store_memory(memory_entry(bob, "likes rock"))

    stats = await memory.get_statistics(alice)
    assert stats["total_messages"] == 4
    assert stats["messages_by_role"] == {"system": 1, "user": 2, "assistant": 1}
    assert stats["conversations"] == 2
    assert stats["sessions"] == 2
    assert stats["active_sessions"] == 1
    assert stats["memories"] == 1
    assert stats["first_message_at"] <= stats["last_message_at"]


async def test_statistics_of_unknown_user_are_zero(memory: Memory, uid: str) -> None:
    """A user with no data has zero counts and no message times."""
    stats = await memory.get_statistics(f"{uid}-nobody")
    assert stats["total_messages"] == stats["conversations"] == stats["memories"] == 0
    assert stats["sessions"] == stats["active_sessions"] == 0
    assert stats["first_message_at"] is None


async def test_delete_user_removes_everything_they_own(memory: Memory, uid: str, word: str) -> None:
    """delete_user removes the user's sessions, messages and memories, and no one else's."""
    alice, bob = f"{uid}-alice", f"{uid}-bob"
    session = await memory.create_session(alice)
    await memory.store_messages(
        [user_message(f"{word} a1"), user_message("a2")], session.conversation_id
    )
    await memory.store_memory(memory_entry(alice, f"{word} memory", tags=["t"]))
    bobs = await memory.create_session(bob)
    await memory.store_message(user_message(f"{word} b1"), bobs.conversation_id)

    deleted = await memory.delete_user(alice)
    assert deleted == {"messages": 2, "memories": 1, "sessions": 1, "conversations": 1, "users": 1}
    assert await memory.get_session(session.session_id) is None
    assert await memory.retrieve_messages(session.conversation_id) == []
    assert await memory.retrieve_memories(MemoryQuery(user_id=alice)) == []
    assert [m.content for m in await memory.search_messages(word)] == [f"{word} b1"]
    assert await memory.search_memories(word) == []
    assert (await memory.get_statistics(bob))["total_messages"] == 1
    assert (await memory.get_statistics(alice))["total_messages"] == 0
