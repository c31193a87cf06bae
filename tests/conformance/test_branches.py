"""Branches: a fork shares its parent's history up to a message, reads as one linear
history everywhere, and writing into it never changes the parent."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from bruno_core.models.message import Message, MessageRole
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruno_memory import Capability, ConflictError, Memory, MessageNotFoundError
from bruno_memory.adapters.embeddings import HashingEmbedder
from tests.conftest import Backend

pytestmark = pytest.mark.requires(Capability.BRANCHING)

START = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def said(text: str, minute: int = 0) -> Message:
    return Message(
        role=MessageRole.USER, content=text, timestamp=START + dt.timedelta(minutes=minute)
    )


async def _ids(memory: Memory, conversation_id: str) -> list[str]:
    return [m.content for m in await memory.list_messages(conversation_id, limit=1000)]


async def _root(memory: Memory, uid: str, count: int) -> tuple[str, list[Message]]:
    session = await memory.create_session(uid)
    messages = [said(f"root {n}", n) for n in range(count)]
    await memory.store_messages(messages, session.conversation_id)
    return session.conversation_id, messages


async def test_a_branch_shares_the_history_up_to_the_fork(memory: Memory, uid: str) -> None:
    root, messages = await _root(memory, uid, 5)

    branch = await memory.fork_conversation(root, messages[2].id)
    await memory.store_message(said("branch 0", 10), branch)
    await memory.store_message(said("root 5", 11), root)

    assert await _ids(memory, branch) == ["root 0", "root 1", "root 2", "branch 0"]
    assert await _ids(memory, root) == [f"root {n}" for n in range(6)]
    newest = await memory.retrieve_messages(branch, limit=2)
    assert [m.content for m in newest] == ["branch 0", "root 2"]


async def test_branches_of_branches_and_forks_at_inherited_messages(
    memory: Memory, uid: str
) -> None:
    root, messages = await _root(memory, uid, 4)
    first = await memory.fork_conversation(root, messages[3].id)
    await memory.store_messages([said("first 0", 10), said("first 1", 11)], first)
    own = (await memory.list_messages(first, limit=10))[-1]
    nested = await memory.fork_conversation(first, own.id)  # at the branch's own message
    inherited = await memory.fork_conversation(first, messages[1].id)  # at the root's
    await memory.store_message(said("nested 0", 20), nested)
    await memory.store_message(said("inherited 0", 30), inherited)

    assert await _ids(memory, nested) == [
        *(f"root {n}" for n in range(4)),
        "first 0",
        "first 1",
        "nested 0",
    ]
    assert await _ids(memory, inherited) == ["root 0", "root 1", "inherited 0"]
    assert await _ids(memory, first) == [*(f"root {n}" for n in range(4)), "first 0", "first 1"]
    assert [b.branch_id for b in await memory.list_branches(first)] == [nested]
    by_root = await memory.list_branches(root)
    assert {b.branch_id for b in by_root} == {first, inherited}
    assert {b.fork_message_id for b in by_root} == {messages[3].id, messages[1].id}


async def test_paging_a_branch_crosses_the_fork(memory: Memory, uid: str) -> None:
    root, messages = await _root(memory, uid, 6)
    branch = await memory.fork_conversation(root, messages[3].id)
    await memory.store_messages([said(f"branch {n}", 10 + n) for n in range(3)], branch)
    history = await memory.list_messages(branch, limit=100)

    after = await memory.list_messages(branch, after=history[2].id, limit=3)
    before = await memory.list_messages(branch, before=history[5].id, limit=3)

    assert [m.content for m in after] == ["root 3", "branch 0", "branch 1"]
    assert [m.content for m in before] == ["root 2", "root 3", "branch 0"]
    with pytest.raises(MessageNotFoundError):
        await memory.list_messages(branch, after=messages[5].id)  # the parent's, after the fork


async def test_context_of_a_branch_is_its_history(memory: Memory, uid: str) -> None:
    session = await memory.create_session(uid)
    root = session.conversation_id
    system = Message(role=MessageRole.SYSTEM, content="Be brief.", timestamp=START)
    await memory.store_messages([system, *(said(f"root {n}", n + 1) for n in range(30))], root)
    fork_at = (await memory.list_messages(root, limit=100))[20]
    branch = await memory.fork_conversation(root, fork_at.id)
    await memory.store_message(said("branch question", 99), branch)

    context = await memory.get_context(uid, branch)
    window = await memory.build_context(uid, branch, max_tokens=2000, strategy="recent")

    contents = [m.content for m in context.messages]
    assert contents[0] == "Be brief."  # the system message, pinned before the window
    assert contents[-2:] == ["root 19", "branch question"]
    assert "root 25" not in contents
    assert [m.content for m in window.messages][-1] == "branch question"
    assert "root 25" not in [m.content for m in window.messages]


async def test_a_fork_needs_a_message_of_the_history(memory: Memory, uid: str) -> None:
    root, messages = await _root(memory, uid, 2)
    _, foreign = await _root(memory, uid + "x", 1)
    with pytest.raises(MessageNotFoundError):
        await memory.fork_conversation(root, foreign[0].id)
    with pytest.raises(MessageNotFoundError):
        await memory.fork_conversation(root, uuid.uuid4())
    taken = await memory.fork_conversation(root, messages[0].id)
    with pytest.raises(ConflictError):
        await memory.fork_conversation(root, messages[0].id, branch_id=taken)
    assert await memory.fork_conversation(root, messages[0].id, branch_id=f"{uid}-b") == f"{uid}-b"


async def test_clearing_a_parent_empties_what_its_branches_inherit(
    memory: Memory, uid: str
) -> None:
    root, messages = await _root(memory, uid, 3)
    branch = await memory.fork_conversation(root, messages[2].id)
    await memory.store_message(said("branch 0", 10), branch)
    assert len(await memory.retrieve_messages(branch, limit=10)) == 4  # read once (cached)

    await memory.clear_history(root)

    assert await _ids(memory, branch) == ["branch 0"]
    assert [m.content for m in await memory.retrieve_messages(branch, limit=10)] == ["branch 0"]


#: An operation on the tree: append to the n-th branch, or fork it at its k-th message.
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(0, 20)),
        st.tuples(st.just("fork"), st.integers(0, 20), st.integers(0, 60)),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS)
async def test_random_trees_read_as_the_model_says(
    memory: Memory, operations: list[tuple[object, ...]]
) -> None:
    session = await memory.create_session(uuid.uuid4().hex[:12])
    model: dict[str, list[str]] = {session.conversation_id: []}
    ids: dict[str, uuid.UUID] = {}
    for number, operation in enumerate(operations):
        branches = list(model)
        target = branches[int(operation[1]) % len(branches)]  # type: ignore[call-overload]
        if operation[0] == "append" or not model[target]:
            message = said(f"m{number}", number)
            await memory.store_message(message, target)
            model[target].append(message.content)
            ids[message.content] = message.id
        else:
            history = model[target]
            at = history[int(operation[2]) % len(history)]  # type: ignore[call-overload]
            branch = await memory.fork_conversation(target, ids[at])
            model[branch] = history[: history.index(at) + 1]
    for conversation_id, expected in model.items():
        assert await _ids(memory, conversation_id) == expected
        newest = await memory.retrieve_messages(conversation_id, limit=3)
        assert [m.content for m in newest] == list(reversed(expected[-3:]))
        if len(expected) > 2:
            middle = ids[expected[len(expected) // 2]]
            page = await memory.list_messages(conversation_id, after=middle, limit=100)
            assert [m.content for m in page] == expected[len(expected) // 2 + 1 :]


@pytest.mark.requires(Capability.RETRIEVAL)
async def test_search_in_a_branch_covers_its_whole_history(memory: Memory, uid: str) -> None:
    session = await memory.create_session(uid)
    root = session.conversation_id
    before = [said("the violin lessons start in May", 0), said("filler talk", 1)]
    await memory.store_messages(before, root)
    branch = await memory.fork_conversation(root, before[1].id)
    await memory.store_message(said("the violin teacher is called Ada", 5), root)  # not inherited
    await memory.store_message(said("the violin case is blue", 6), branch)

    hits = await memory.search("violin", user_id=uid, conversation_id=branch, mode="fulltext")
    found = {hit.message.content for hit in hits if hit.message is not None}
    # (a search may bring neighbours of a match along: "filler talk")
    assert {"the violin lessons start in May", "the violin case is blue"} <= found
    assert "the violin teacher is called Ada" not in found  # the parent's, after the fork
    root_hits = await memory.search("violin", user_id=uid, conversation_id=root, mode="fulltext")
    in_root = {hit.message.content for hit in root_hits if hit.message is not None}
    assert {"the violin lessons start in May", "the violin teacher is called Ada"} <= in_root
    assert "the violin case is blue" not in in_root

    filler = [said(f"small talk {n} " * 8, 10 + n) for n in range(40)]
    await memory.store_messages(filler, branch)
    window = await memory.build_context(uid, branch, query="violin lessons", max_tokens=300)
    assert "the violin lessons start in May" in {m.content for m in window.recalled}
    assert "the violin teacher is called Ada" not in {m.content for m in window.recalled}


@pytest.mark.requires(Capability.SEMANTIC)
async def test_semantic_search_in_a_branch_covers_its_whole_history(
    backend: Backend, uid: str
) -> None:
    async with backend.store(embedder=HashingEmbedder()) as memory:
        session = await memory.create_session(uid)
        root = session.conversation_id
        before = [said("violin lessons in May", 0), said("weather chat", 1)]
        await memory.store_messages(before, root)
        branch = await memory.fork_conversation(root, before[1].id)
        await memory.store_message(said("violin teacher Ada", 5), root)
        await memory.store_message(said("violin case blue", 6), branch)
        await memory.wait_for_embeddings()
        hits = await memory.search("violin", user_id=uid, conversation_id=branch, mode="semantic")
    found = {hit.message.content for hit in hits if hit.message is not None}
    assert {"violin lessons in May", "violin case blue"} <= found
    assert "violin teacher Ada" not in found
