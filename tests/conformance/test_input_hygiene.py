"""Bad values are refused by the facade with a typed error before any storage sees them, and
nothing of a refused batch is stored; values that are merely extreme are handled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from bruno_core.models.memory import MemoryQuery
from bruno_core.models.message import Message

from bruno_memory import Capability, InvalidInputError, InvalidQueryError, Memory
from tests.conformance.helpers import memory_entry, user_message

LONE_SURROGATE = "bad \ud800 text"


def _constructed(**fields: Any) -> Message:
    """A message built without validation (pydantic's ``model_construct``)."""
    valid = user_message("placeholder").model_dump()
    return Message.model_construct(**{**valid, **fields})


def _assigned(name: str, value: Any) -> Message:
    """A valid message changed afterwards by attribute assignment (not validated)."""
    message = user_message("placeholder")
    setattr(message, name, value)
    return message


BAD_MESSAGES: dict[str, Callable[[], Message]] = {
    "constructed-empty-content": lambda: _constructed(content=""),
    "assigned-blank-content": lambda: _assigned("content", "   "),
    "assigned-metadata-none": lambda: _assigned("metadata", None),
    "assigned-metadata-list": lambda: _assigned("metadata", ["a"]),
    "constructed-unknown-type": lambda: _constructed(message_type="hologram"),
    "constructed-unknown-role": lambda: _constructed(role="robot"),
    "assigned-timestamp-string": lambda: _assigned("timestamp", "yesterday"),
    "min-timestamp-with-offset": lambda: user_message(
        "x", timestamp=dt.datetime.min.replace(tzinfo=dt.timezone(dt.timedelta(hours=5)))
    ),
    "max-timestamp-with-offset": lambda: user_message(
        "x", timestamp=dt.datetime.max.replace(tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    ),
    "lone-surrogate-content": lambda: _assigned("content", LONE_SURROGATE),
    "lone-surrogate-metadata": lambda: user_message("x", metadata={"k": LONE_SURROGATE}),
    "metadata-1000-deep": lambda: user_message("x", metadata=_nested(1000)),
}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize("make", BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
async def test_a_bad_message_fails_the_whole_batch(
    memory: Memory, uid: str, make: Callable[[], Message]
) -> None:
    """A message a storage could not hold or read back fails its batch with
    InvalidInputError; nothing of the batch is stored and the conversation reads as before."""
    await memory.store_message(user_message("before"), uid)
    with pytest.raises(InvalidInputError):
        await memory.store_messages([user_message("good"), make()], uid)
    assert [m.content for m in await memory.retrieve_messages(uid)] == ["before"]
    context = await memory.get_context("someone-" + uid, uid)
    assert [m.content for m in context.messages] == ["before"]


@pytest.mark.parametrize(
    "change",
    [
        {"content": ""},
        {"memory_type": "dream"},
        {"metadata": None},
        {"user_id": LONE_SURROGATE},
    ],
    ids=["empty-content", "unknown-type", "metadata-none", "lone-surrogate-user"],
)
async def test_a_bad_memory_entry_is_refused(
    memory: Memory, uid: str, change: dict[str, Any]
) -> None:
    """A memory entry built or changed without validation is refused, and nothing is stored."""
    valid = memory_entry(uid, "fact").model_dump()
    entry = type(memory_entry(uid, "x")).model_construct(**{**valid, **change})
    if change.get("metadata", 1) is not None:
        entry.metadata = memory_entry(uid, "x").metadata
    with pytest.raises(InvalidInputError):
        await memory.store_memory(entry)
    assert await memory.retrieve_memories(MemoryQuery(user_id=uid)) == []


@pytest.mark.parametrize(
    "bad_id", [LONE_SURROGATE, "x" * 300, ""], ids=["surrogate", "long", "empty"]
)
async def test_bad_ids_are_refused(memory: Memory, bad_id: str) -> None:
    """Ids a storage cannot carry are InvalidInputError on reads and writes alike."""
    with pytest.raises(InvalidInputError):
        await memory.retrieve_messages(bad_id)
    with pytest.raises(InvalidInputError):
        await memory.store_message(user_message("x"), bad_id)
    with pytest.raises(InvalidInputError):
        await memory.get_context(bad_id)
    with pytest.raises(InvalidInputError):
        await memory.create_session(bad_id)


async def test_limits_beyond_64_bits_mean_all(memory: Memory, uid: str) -> None:
    """A limit larger than any integer column reads everything, on every read."""
    huge = 2**70
    await memory.store_messages([user_message(f"{uid} one"), user_message(f"{uid} two")], uid)
    assert len(await memory.retrieve_messages(uid, limit=huge)) == 2
    assert len(await memory.list_messages(uid, limit=huge)) == 2
    assert len(await memory.search_messages(uid, limit=huge)) == 2
    assert await memory.retrieve_memories(MemoryQuery(user_id=uid, limit=1000)) == []


async def test_queries_with_lone_surrogates(memory: Memory, uid: str) -> None:
    """Word search ignores what is not a word; ranked search refuses text no embedder or
    database can take with InvalidQueryError."""
    await memory.store_message(user_message(f"{uid} stored"), uid)
    found = await memory.search_messages(f"{uid} \ud800", limit=5)
    assert [m.content for m in found] == [f"{uid} stored"]
    if Capability.RETRIEVAL in memory.capabilities:
        with pytest.raises(InvalidQueryError):
            await memory.search(f"{uid} \ud800")
