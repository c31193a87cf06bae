"""Archival: old messages leave every read, search and context, are kept, and come back."""

from __future__ import annotations

import datetime as dt

import pytest
from bruno_core.models.message import Message, MessageRole

from bruno_memory import Capability, Memory

pytestmark = pytest.mark.requires(Capability.ARCHIVE)

START = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


def _at(day: int, text: str, role: MessageRole = MessageRole.USER) -> Message:
    return Message(role=role, content=text, timestamp=START + dt.timedelta(days=day))


async def _conversation(memory: Memory, uid: str) -> tuple[str, list[Message]]:
    session = await memory.create_session(uid)
    messages = [
        _at(0, "You are kind.", MessageRole.SYSTEM),
        *(_at(day, f"day {day} about saxophone{day} lessons") for day in range(1, 11)),
    ]
    await memory.store_messages(messages, session.conversation_id)
    return session.conversation_id, messages


async def test_archived_messages_leave_reads_search_and_context(memory: Memory, uid: str) -> None:
    cid, messages = await _conversation(memory, uid)
    assert len(await memory.retrieve_messages(cid, limit=50)) == 11  # read (and cached) first

    archived = await memory.archive(cid, before=START + dt.timedelta(days=6))

    assert archived == 5  # days 1-5; the system message stays
    kept = [m.content for m in messages if m.role == MessageRole.SYSTEM or m.timestamp.day >= 7]
    assert [m.content for m in await memory.list_messages(cid, limit=50)] == kept
    assert [m.content for m in await memory.retrieve_messages(cid, limit=50)] == kept[::-1]
    everything = await memory.list_messages(cid, limit=50, include_archived=True)
    assert [m.id for m in everything] == [m.id for m in messages]
    assert await memory.search_messages("saxophone3", user_id=uid) == []
    assert [m.content for m in await memory.search_messages("saxophone8", user_id=uid)]
    context = await memory.get_context(uid, cid)
    assert [m.content for m in context.messages] == kept
    window = await memory.build_context(uid, cid, query="saxophone2 lessons")
    shown = [m.content for m in [*window.messages, *window.recalled]]
    assert not any(text.startswith(("day 1 ", "day 2 ", "day 3 ")) for text in shown)


async def test_search_leaves_archived_messages_out(memory: Memory, uid: str) -> None:
    if Capability.RETRIEVAL not in memory.capabilities:
        pytest.skip("search() needs retrieval")
    cid, _ = await _conversation(memory, uid)
    assert await memory.search("saxophone2", user_id=uid, kinds=("message",))
    await memory.archive(cid, before=START + dt.timedelta(days=6))
    assert await memory.search("saxophone2", user_id=uid, kinds=("message",)) == []


async def test_restore_brings_back_exactly_what_was_archived(memory: Memory, uid: str) -> None:
    cid, _ = await _conversation(memory, uid)
    before = await memory.list_messages(cid, limit=50)
    await memory.archive(cid, before=START + dt.timedelta(days=9))

    partly = await memory.restore(cid, after=START + dt.timedelta(days=5))
    assert partly == 4  # days 5-8
    assert len(await memory.list_messages(cid, limit=50)) == 1 + 4 + 2
    assert await memory.restore(cid) == 4  # days 1-4
    assert await memory.list_messages(cid, limit=50) == before
    assert await memory.restore(cid) == 0
    assert await memory.archive(cid, before=START) == 0


async def test_a_branch_does_not_see_what_its_parent_archived(memory: Memory, uid: str) -> None:
    if Capability.BRANCHING not in memory.capabilities:
        pytest.skip("needs branches")
    cid, messages = await _conversation(memory, uid)
    branch = await memory.fork_conversation(cid, messages[-1].id)
    assert len(await memory.retrieve_messages(branch, limit=50)) == 11
    await memory.archive(cid, before=START + dt.timedelta(days=6))
    assert len(await memory.retrieve_messages(branch, limit=50)) == 6
