"""MemoryInterface contract: storing, reading, paging and clearing messages."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from bruno_core.models.message import MessageRole, MessageType
from bruno_core.utils.exceptions import MemoryError as CoreMemoryError

from bruno_memory import (
    AccessDeniedError,
    ConflictError,
    InvalidInputError,
    Memory,
    MessageNotFoundError,
)
from tests.conformance.helpers import message, user_message


async def test_retrieve_messages_is_most_recent_first(memory: Memory, uid: str) -> None:
    """retrieve_messages returns the newest message first, as the interface documents."""
    for text in ("one", "two", "three"):
        await memory.store_message(user_message(text), uid)
    assert [m.content for m in await memory.retrieve_messages(uid)] == ["three", "two", "one"]


async def test_retrieve_messages_limit(memory: Memory, uid: str) -> None:
    """limit caps the result to the newest messages; None returns all; 0 returns none."""
    await memory.store_messages([user_message(f"m{i}") for i in range(25)], uid)
    assert [m.content for m in await memory.retrieve_messages(uid, limit=2)] == ["m24", "m23"]
    assert len(await memory.retrieve_messages(uid, limit=None)) == 25
    assert await memory.retrieve_messages(uid, limit=0) == []
    with pytest.raises(InvalidInputError):
        await memory.retrieve_messages(uid, limit=-1)


async def test_unknown_conversation_has_no_messages(memory: Memory, uid: str) -> None:
    """Reading a conversation that was never written returns an empty list."""
    assert await memory.retrieve_messages(f"{uid}-nothing") == []


async def test_message_round_trip_keeps_every_field(memory: Memory, uid: str) -> None:
    """Id, role, type, content, metadata, parent and timestamp come back as stored."""
    parent = user_message("first")
    stamp = dt.datetime(2023, 5, 8, 13, 56, 7, 123456)  # naive: bruno-core's UTC convention
    original = message(
        MessageRole.ASSISTANT,
        "the answer",
        message_type=MessageType.COMMAND,
        timestamp=stamp,
        parent_id=parent.id,
        metadata={"intent": "timer", "nested": {"n": [1, 2.5, None, True]}, "emoji": "🎷"},
    )
    await memory.store_messages([parent, original], uid)
    stored = (await memory.retrieve_messages(uid, limit=1))[0]
    assert stored.id == original.id
    assert stored.role is MessageRole.ASSISTANT
    assert stored.message_type is MessageType.COMMAND
    assert stored.content == "the answer"
    assert stored.metadata == original.metadata
    assert stored.parent_id == parent.id
    assert stored.conversation_id == uid
    assert stored.timestamp == stamp.replace(tzinfo=dt.timezone.utc)
    assert stored.timestamp.tzinfo is not None


async def test_aware_timestamps_are_stored_as_the_same_instant(memory: Memory, uid: str) -> None:
    """An aware timestamp in another zone comes back as the same instant, in UTC."""
    zone = dt.timezone(dt.timedelta(hours=5, minutes=30))
    stamp = dt.datetime(2024, 2, 29, 23, 30, tzinfo=zone)
    await memory.store_message(user_message("leap", timestamp=stamp), uid)
    stored = (await memory.retrieve_messages(uid))[0]
    assert stored.timestamp == stamp
    assert stored.timestamp.utcoffset() == dt.timedelta(0)


async def test_metadata_encodes_uuid_datetime_and_decimal(memory: Memory, uid: str) -> None:
    """UUID, datetime and Decimal metadata values are stored as JSON strings, never pickled."""
    ref = uuid.uuid4()
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    await memory.store_message(
        user_message("typed", metadata={"ref": ref, "when": when, "price": Decimal("9.99")}), uid
    )
    stored = (await memory.retrieve_messages(uid))[0]
    assert stored.metadata == {"ref": str(ref), "when": when.isoformat(), "price": "9.99"}


async def test_metadata_that_json_cannot_hold_is_refused(memory: Memory, uid: str) -> None:
    """NaN and arbitrary objects in metadata raise InvalidInputError and store nothing."""
    for bad in (float("nan"), object()):
        with pytest.raises(InvalidInputError):
            await memory.store_message(user_message("bad", metadata={"x": bad}), uid)
    assert await memory.retrieve_messages(uid) == []


async def test_store_messages_keeps_order_and_ids(memory: Memory, uid: str) -> None:
    """A batch is appended in the given order with the given ids."""
    batch = [user_message(f"b{i}") for i in range(50)]
    await memory.store_messages(batch, uid)
    stored = await memory.list_messages(uid, limit=100)
    assert [m.id for m in stored] == [m.id for m in batch]


async def test_batch_with_existing_id_lands_not_at_all(memory: Memory, uid: str) -> None:
    """A batch that repeats a stored message id raises ConflictError and stores nothing."""
    first = user_message("kept")
    await memory.store_message(first, uid)
    with pytest.raises(ConflictError):
        await memory.store_messages([user_message("new 1"), first, user_message("new 2")], uid)
    assert [m.content for m in await memory.retrieve_messages(uid)] == ["kept"]


async def test_batch_with_invalid_message_lands_not_at_all(memory: Memory, uid: str) -> None:
    """A batch holding one invalid message raises InvalidInputError and stores nothing."""
    batch = [user_message("fine"), user_message("bad \x00 byte"), user_message("fine too")]
    with pytest.raises(InvalidInputError):
        await memory.store_messages(batch, uid)
    assert await memory.retrieve_messages(uid) == []


async def test_batch_repeating_an_id_is_refused(memory: Memory, uid: str) -> None:
    """A batch with the same id twice is refused before anything is written."""
    twin = user_message("twin")
    with pytest.raises(InvalidInputError):
        await memory.store_messages([twin, twin], uid)
    assert await memory.retrieve_messages(uid) == []


async def test_message_of_another_conversation_is_refused(memory: Memory, uid: str) -> None:
    """A message whose conversation_id names another conversation is not silently moved."""
    with pytest.raises(InvalidInputError):
        await memory.store_message(user_message("x", conversation_id="elsewhere"), uid)


@pytest.mark.parametrize("bad_id", ["", "   ", "x" * 256, "nul\x00id"])
async def test_invalid_conversation_ids_are_refused(memory: Memory, bad_id: str) -> None:
    """Blank, overlong or NUL-bearing ids raise InvalidInputError (a bruno-core MemoryError)."""
    with pytest.raises(InvalidInputError) as raised:
        await memory.store_message(user_message("x"), bad_id)
    assert isinstance(raised.value, CoreMemoryError)


async def test_metadata_user_owns_a_new_conversation(memory: Memory, uid: str) -> None:
    """metadata['user_id'] makes that user the owner; another user cannot write into it."""
    await memory.store_message(user_message("mine", metadata={"user_id": f"{uid}-a"}), uid)
    with pytest.raises(AccessDeniedError):
        await memory.store_message(user_message("theirs", metadata={"user_id": f"{uid}-b"}), uid)
    assert (await memory.get_statistics(f"{uid}-a"))["total_messages"] == 1


async def test_list_messages_pages_by_keyset(memory: Memory, uid: str) -> None:
    """list_messages walks the conversation forwards with after= and backwards with before=."""
    batch = [user_message(f"p{i}") for i in range(10)]
    await memory.store_messages(batch, uid)
    first = await memory.list_messages(uid, limit=4)
    assert [m.content for m in first] == ["p0", "p1", "p2", "p3"]
    second = await memory.list_messages(uid, after=first[-1].id, limit=4)
    assert [m.content for m in second] == ["p4", "p5", "p6", "p7"]
    previous = await memory.list_messages(uid, before=second[0].id, limit=2)
    assert [m.content for m in previous] == ["p2", "p3"]
    between = await memory.list_messages(uid, after=batch[1].id, before=batch[4].id, limit=10)
    assert [m.content for m in between] == ["p2", "p3"]


async def test_list_messages_unknown_cursor(memory: Memory, uid: str) -> None:
    """A cursor that is not a message of the conversation raises MessageNotFoundError."""
    await memory.store_message(user_message("only"), uid)
    with pytest.raises(MessageNotFoundError):
        await memory.list_messages(uid, after=uuid.uuid4())
    with pytest.raises(InvalidInputError):
        await memory.list_messages(uid, after="not-a-uuid")


async def test_clear_history_keeps_system_messages(memory: Memory, uid: str) -> None:
    """clear_history keeps system messages by default and removes them when asked."""
    await memory.store_messages(
        [message(MessageRole.SYSTEM, "be kind"), user_message("hi"), user_message("bye")], uid
    )
    await memory.clear_history(uid)
    assert [m.content for m in await memory.retrieve_messages(uid)] == ["be kind"]
    await memory.clear_history(uid, keep_system_messages=False)
    assert await memory.retrieve_messages(uid) == []


async def test_clear_conversation_removes_everything(memory: Memory, uid: str) -> None:
    """clear_conversation (called by bruno-core) removes system messages too."""
    await memory.store_messages([message(MessageRole.SYSTEM, "s"), user_message("u")], uid)
    await memory.clear_conversation(uid)
    assert await memory.retrieve_messages(uid) == []


async def test_conversation_continues_after_clear(memory: Memory, uid: str) -> None:
    """Messages stored after a clear come after the kept ones, in order."""
    await memory.store_messages([message(MessageRole.SYSTEM, "s"), user_message("old")], uid)
    await memory.clear_history(uid)
    await memory.store_message(user_message("new"), uid)
    assert [m.content for m in await memory.list_messages(uid)] == ["s", "new"]
