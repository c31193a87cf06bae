"""Enumeration: the listings of users, conversations, sessions, messages and memories, read
page by page by keyset, and sessions imported with their own ids."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator
from typing import TypeVar

import pytest
from bruno_core.models.message import MessageRole

import bruno_memory.memory
from bruno_memory import (
    AccessDeniedError,
    Capability,
    ConflictError,
    InvalidInputError,
    Memory,
)
from tests.conformance.helpers import memory_entry, message, user_message

T = TypeVar("T")

#: The page size of the tests: every listing below spans several pages.
PAGE = 3


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bruno_memory.memory, "LIST_PAGE", PAGE)


async def collect(items: AsyncIterator[T]) -> list[T]:
    return [item async for item in items]


async def _sessions(memory: Memory, user_id: str, count: int) -> list[str]:
    """``count`` sessions of the user, each in its own conversation, created in a shuffled
    order under ids that sort as numbered; every other one ended. Their numbers."""
    numbers = [f"{n:02d}" for n in range(count)]
    for number in random.Random(user_id).sample(numbers, len(numbers)):
        session = await memory.start_session(
            user_id, session_id=f"{user_id}-s{number}", conversation_id=f"{user_id}-c{number}"
        )
        if int(number) % 2:
            await memory.end_session(session.session_id)
    return numbers


async def test_conversations_and_sessions_are_listed_by_id_across_pages(
    memory: Memory, uid: str
) -> None:
    """Listings of more items than a page hold each of the user's items once, in id order,
    and nothing of another user's."""
    alice, bob = f"{uid}-alice", f"{uid}-bob"
    numbers = await _sessions(memory, alice, 2 * PAGE + 1)
    await _sessions(memory, bob, PAGE + 1)

    conversations = await collect(memory.list_conversations(alice))
    assert [c.conversation_id for c in conversations] == [f"{alice}-c{n}" for n in numbers]
    assert {c.user_id for c in conversations} == {alice}
    assert all(c.parent_id is None and c.fork_message_id is None for c in conversations)

    sessions = await collect(memory.list_sessions(alice))
    assert [s.session_id for s in sessions] == [f"{alice}-s{n}" for n in numbers]
    assert [s.conversation_id for s in sessions] == [f"{alice}-c{n}" for n in numbers]
    assert {s.user_id for s in sessions} == {alice}
    open_ = await collect(memory.list_sessions(alice, active=True))
    ended = await collect(memory.list_sessions(alice, active=False))
    assert [s.session_id for s in open_] == [f"{alice}-s{n}" for n in numbers if int(n) % 2 == 0]
    assert [s.session_id for s in ended] == [f"{alice}-s{n}" for n in numbers if int(n) % 2]
    assert all(s.is_active for s in open_)
    assert not any(s.is_active for s in ended)

    assert await collect(memory.list_conversations(f"{uid}-nobody")) == []
    assert await collect(memory.list_sessions(f"{uid}-nobody")) == []


async def test_a_page_boundary_survives_writes_and_deletes(memory: Memory, uid: str) -> None:
    """A listing reads each page when the previous one is used up: an item deleted before
    its page is not listed, the cursor item's own deletion does not stop the listing, and
    an item written after the cursor comes."""
    alice = f"{uid}-alice"
    await _sessions(memory, alice, 2 * PAGE)
    listing = memory.list_conversations(alice)
    first = [await anext(listing) for _ in range(PAGE)]
    await memory.delete_user(alice)  # everything, the cursor's conversation too
    await memory.start_session(alice, conversation_id=f"{alice}-c99")
    rest = await collect(listing)
    assert [c.conversation_id for c in first] == [f"{alice}-c0{n}" for n in range(PAGE)]
    assert [c.conversation_id for c in rest] == [f"{alice}-c99"]


async def test_messages_are_iterated_in_conversation_order(memory: Memory, uid: str) -> None:
    """iter_messages yields every message of the conversation once, oldest first, across
    pages; another conversation's never."""
    alice = f"{uid}-alice"
    session = await memory.create_session(alice)
    other = await memory.create_session(alice)
    sent = [message(MessageRole.SYSTEM, "be brief")]
    sent += [user_message(f"m{n}") for n in range(3 * PAGE)]
    await memory.store_messages(sent[:4], session.conversation_id)
    await memory.store_message(user_message("elsewhere"), other.conversation_id)
    await memory.store_messages(sent[4:], session.conversation_id)

    found = await collect(memory.iter_messages(session.conversation_id))
    assert [m.id for m in found] == [m.id for m in sent]
    assert [m.content for m in found] == [m.content for m in sent]
    assert await collect(memory.iter_messages(f"{uid}-none")) == []


async def test_memories_are_iterated_by_creation_then_id(memory: Memory, uid: str) -> None:
    """iter_memories yields each of the user's memories once (expired ones too), by
    creation time and, among equal times, by id, across pages; another user's never."""
    alice, bob = f"{uid}-alice", f"{uid}-bob"
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    stored = []
    for n in range(3 * PAGE + 1):
        entry = memory_entry(alice, f"fact {n}").model_copy(
            update={"created_at": base + dt.timedelta(seconds=n // 2)}  # pairs tie
        )
        stored.append(entry)
    expired = memory_entry(alice, "gone", expires_at=base).model_copy(
        update={"created_at": base + dt.timedelta(days=1)}
    )
    stored.append(expired)
    for entry in random.Random(uid).sample(stored, len(stored)):
        await memory.store_memory(entry)
    await memory.store_memory(memory_entry(bob, "not alice's"))

    found = await collect(memory.iter_memories(alice))
    expected = sorted(stored, key=lambda e: (e.created_at, str(e.id)))
    assert [e.id for e in found] == [e.id for e in expected]
    assert {e.user_id for e in found} == {alice}
    assert [e.content for e in found] == [e.content for e in expected]
    assert all(e.metadata.access_count == 0 for e in found)  # not an access
    assert await collect(memory.iter_memories(f"{uid}-nobody")) == []


@pytest.mark.requires(Capability.PRUNING)
async def test_archived_memories_are_iterated_when_asked(memory: Memory, uid: str) -> None:
    """Archived memories are left out unless include_archived."""
    for n in range(PAGE + 2):
        await memory.store_memory(memory_entry(uid, f"fact {n}", importance=n / 10))
    assert await memory.prune_memories(uid, keep=1) == PAGE + 1
    active = await collect(memory.iter_memories(uid))
    everything = await collect(memory.iter_memories(uid, include_archived=True))
    assert [e.content for e in active] == [f"fact {PAGE + 1}"]
    assert sorted(e.content for e in everything) == [f"fact {n}" for n in range(PAGE + 2)]
    assert len({e.id for e in everything}) == PAGE + 2


@pytest.mark.requires(Capability.BRANCHING)
async def test_branches_are_listed_with_their_origin(memory: Memory, uid: str) -> None:
    """A branch is one of its owner's conversations, naming its parent and fork message;
    iterating it yields its history: the inherited messages, then its own."""
    alice = f"{uid}-alice"
    root = f"{uid}-c0"
    sent = [user_message(f"m{n}") for n in range(2 * PAGE)]
    await memory.store_messages(sent, root, user_id=alice)
    branch = await memory.fork_conversation(root, sent[PAGE].id, branch_id=f"{uid}-c1")
    own = [user_message(f"b{n}") for n in range(PAGE)]
    await memory.store_messages(own, branch)

    listed = {c.conversation_id: c for c in await collect(memory.list_conversations(alice))}
    assert list(listed) == [root, branch]
    assert listed[branch].parent_id == root
    assert listed[branch].fork_message_id == sent[PAGE].id
    assert listed[root].parent_id is None
    history = await collect(memory.iter_messages(branch))
    assert [m.id for m in history] == [m.id for m in [*sent[: PAGE + 1], *own]]


@pytest.mark.requires(Capability.USER_LISTING)
async def test_users_are_listed_by_id_across_pages(memory: Memory, uid: str) -> None:
    """list_users yields every user with a record once, in id order."""
    users = [f"{uid}-u{n:02d}" for n in range(2 * PAGE + 1)]
    for user in random.Random(uid).sample(users, len(users)):
        await memory.update_user_context(user, name=user.upper())
    await memory.store_memory(memory_entry(f"{uid}-u99", "a record by writing"))
    found = [u async for u in memory.list_users() if u.user_id.startswith(uid)]
    assert [u.user_id for u in found] == [*users, f"{uid}-u99"]
    assert [u.name for u in found[:-1]] == [user.upper() for user in users]


async def test_a_session_is_imported_with_its_own_ids(memory: Memory, uid: str) -> None:
    """start_session takes the ids of an imported session and its conversation; a
    conversation may take several sessions; a session id already taken is a conflict that
    writes nothing, another user's conversation is refused."""
    alice, bob = f"{uid}-alice", f"{uid}-bob"
    session = await memory.start_session(
        alice, session_id=f"{uid}-s1", conversation_id=f"{uid}-c1", metadata={"from": "backup"}
    )
    assert (session.session_id, session.conversation_id) == (f"{uid}-s1", f"{uid}-c1")
    assert session.user_id == alice
    assert session.is_active
    found = await memory.get_session(f"{uid}-s1")
    assert found is not None
    assert (found.conversation_id, found.metadata) == (f"{uid}-c1", {"from": "backup"})
    await memory.store_message(user_message("hello"), f"{uid}-c1")
    second = await memory.start_session(alice, session_id=f"{uid}-s2", conversation_id=f"{uid}-c1")
    assert second.conversation_id == f"{uid}-c1"

    for owner, conversation in ((alice, f"{uid}-c1"), (alice, f"{uid}-c2"), (bob, f"{uid}-c3")):
        with pytest.raises(ConflictError):
            await memory.start_session(owner, session_id=f"{uid}-s1", conversation_id=conversation)
    with pytest.raises(AccessDeniedError):
        await memory.start_session(bob, session_id=f"{uid}-s4", conversation_id=f"{uid}-c1")

    conversations = await collect(memory.list_conversations(alice))
    assert [c.conversation_id for c in conversations] == [f"{uid}-c1"]
    assert await collect(memory.list_conversations(bob)) == []
    assert [s.session_id for s in await collect(memory.list_sessions(alice))] == [
        f"{uid}-s1",
        f"{uid}-s2",
    ]
    assert await collect(memory.list_sessions(bob)) == []
    kept = await memory.get_session(f"{uid}-s1")
    assert kept is not None
    assert kept.conversation_id == f"{uid}-c1"
    assert kept.user_id == alice
    assert [m.content for m in await memory.retrieve_messages(f"{uid}-c1")] == ["hello"]
    assert await memory.get_session(f"{uid}-s4") is None


async def test_listing_input_is_checked_when_called(memory: Memory) -> None:
    """Invalid input is refused by the call itself, before any page is read."""
    with pytest.raises(InvalidInputError):
        memory.list_conversations("")
    with pytest.raises(InvalidInputError):
        memory.list_sessions("alice", active="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        memory.iter_messages("")
    with pytest.raises(InvalidInputError):
        memory.iter_memories("")
    with pytest.raises(InvalidInputError):
        await memory.start_session("alice", session_id="")
