"""build_context: a token-budgeted context for the next turn, on every storage."""

from __future__ import annotations

import datetime as dt

import pytest
from bruno_core.models.message import MessageRole

from bruno_memory import AccessDeniedError, ContextBudget, InvalidInputError, Memory
from bruno_memory.context.tokens import default_counter, prompt_tokens
from tests.conformance.helpers import memory_entry, message, user_message
from tests.conftest import Backend

UTC = dt.timezone.utc
START = dt.datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


async def _conversation(memory: Memory, user: str, turns: int) -> str:
    session = await memory.create_session(user)
    cid = session.conversation_id
    batch = [message(MessageRole.SYSTEM, "You are a helpful assistant.", timestamp=at(0))]
    for n in range(1, turns + 1):
        role = MessageRole.USER if n % 2 else MessageRole.ASSISTANT
        batch.append(message(role, f"turn {n} about the weather and the news", timestamp=at(n)))
    await memory.store_messages(batch, cid)
    return cid


async def test_the_context_fits_its_budget_and_keeps_what_must_stay(
    memory: Memory, uid: str
) -> None:
    cid = await _conversation(memory, uid, 60)
    window = await memory.build_context(uid, cid, max_tokens=300, reserve_tokens=50)
    prompt = window.to_messages()
    assert window.token_count == prompt_tokens(default_counter(), prompt) <= 250
    assert prompt[0].role == MessageRole.SYSTEM
    assert prompt[0].content == "You are a helpful assistant."
    contents = [m.content for m in window.messages]
    assert contents[-1] == "turn 60 about the weather and the news"
    assert "turn 59 about the weather and the news" in contents  # the newest user turn
    stamps = [m.timestamp for m in window.messages]
    assert stamps == sorted(stamps)
    assert 5 < len(window.messages) < 61
    assert window.max_tokens == 300
    assert window.strategy == "hybrid"


async def test_recent_is_the_newest_messages_without_gaps(memory: Memory, uid: str) -> None:
    cid = await _conversation(memory, uid, 40)
    window = await memory.build_context(uid, cid, max_tokens=200, strategy="recent")
    newest = list(reversed(await memory.retrieve_messages(cid)))
    kept = [m for m in window.messages if m.role != MessageRole.SYSTEM]
    assert [m.id for m in kept] == [m.id for m in newest[-len(kept) :]]
    assert window.memories == []
    assert window.recalled == []
    left_out = {o.item_id for o in window.omitted}
    assert left_out == {str(m.id) for m in newest if m.id not in {k.id for k in kept}} - {
        str(newest[0].id)
    }


async def test_memories_and_older_messages_come_back_for_the_query(
    memory: Memory, uid: str
) -> None:
    session = await memory.create_session(uid)
    cid = session.conversation_id
    await memory.store_message(user_message("we moved to Lyon last spring", timestamp=at(0)), cid)
    filler = [user_message(f"small talk number {n} " * 5, timestamp=at(n)) for n in range(1, 41)]
    await memory.store_messages(filler, cid)
    await memory.store_memory(memory_entry(uid, "Lyon is where the user lives"))
    await memory.wait_for_embeddings()
    window = await memory.build_context(uid, cid, query="Lyon", max_tokens=400)
    assert "we moved to Lyon last spring" not in [m.content for m in window.messages]
    # Chronological; a search may bring neighbours of the match along.
    assert window.recalled[0].content == "we moved to Lyon last spring"
    assert [m.content for m in window.memories] == ["Lyon is where the user lives"]
    notes = [m.content for m in window.to_messages() if m.role == MessageRole.SYSTEM]
    assert any("Lyon is where the user lives" in note for note in notes)
    assert window.token_count <= 400


async def test_a_session_id_names_its_conversation(memory: Memory, uid: str) -> None:
    session = await memory.create_session(uid)
    await memory.store_message(user_message("hello"), session.conversation_id)
    window = await memory.build_context(uid, session.session_id)
    assert window.conversation_id == session.conversation_id
    assert [m.content for m in window.messages] == ["hello"]
    with pytest.raises(AccessDeniedError):
        await memory.build_context(f"{uid}-other", session.session_id)


async def test_a_new_conversation_starts_empty(memory: Memory, uid: str) -> None:
    window = await memory.build_context(uid, f"{uid}-new")
    assert window.conversation_id == f"{uid}-new"
    assert window.messages == []
    assert window.token_count == 0
    assert window.to_conversation_context().conversation_id == f"{uid}-new"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_tokens": 100, "reserve_tokens": 100}, "reserve_tokens"),
        ({"max_tokens": -1}, "max_tokens"),
        ({"strategy": "everything"}, "strategy"),
    ],
)
async def test_bad_arguments_are_typed_errors(
    memory: Memory, uid: str, options: dict[str, object], match: str
) -> None:
    with pytest.raises(InvalidInputError, match=match):
        await memory.build_context(uid, **options)  # type: ignore[arg-type]


async def test_a_history_of_short_messages_is_read_as_far_as_the_budget_goes(
    memory: Memory, uid: str
) -> None:
    # 1,500 one-word messages: far more than the first read (max_tokens / 32) asks for.
    session = await memory.create_session(uid)
    cid = session.conversation_id
    batch = [message(MessageRole.SYSTEM, "Be brief.", timestamp=at(0))]
    batch += [message(MessageRole.ASSISTANT, f"w{n}", timestamp=at(n)) for n in range(1, 1_500)]
    batch.append(user_message("question", timestamp=at(1_500)))
    await memory.store_messages(batch, cid)
    window = await memory.build_context(uid, cid, max_tokens=4_000, strategy="recent")
    prompt = window.to_messages()
    assert window.token_count == prompt_tokens(default_counter(), prompt) <= 4_000
    assert window.messages[0].content == "Be brief."  # pinned, once
    assert [m.content for m in window.messages].count("Be brief.") == 1
    kept = [m.content for m in window.messages[1:]]
    newest = [m.content for m in batch[-len(kept) :]]
    assert kept == newest  # no gap, chronological
    assert len(kept) > 4_000 // 32  # read past the first page
    # Filled: the next older message (about 6 tokens) would not have fitted.
    assert window.token_count > 4_000 - 10


async def test_the_newest_user_message_is_found_behind_a_long_tail(
    memory: Memory, uid: str
) -> None:
    session = await memory.create_session(uid)
    cid = session.conversation_id
    batch = [user_message("the question that matters", timestamp=at(0))]
    long_reply = "a long answer with many words in it " * 5
    batch += [message(MessageRole.ASSISTANT, long_reply, timestamp=at(n)) for n in range(1, 300)]
    await memory.store_messages(batch, cid)
    window = await memory.build_context(uid, cid, max_tokens=1_000, strategy="recent")
    assert window.messages[0].content == "the question that matters"
    assert window.token_count <= 1_000


async def test_get_context_can_be_the_budgeted_context(backend: Backend, uid: str) -> None:
    budget = ContextBudget(max_tokens=300, reserve_tokens=20)
    async with backend.store(context_budget=budget) as memory:
        cid = await _conversation(memory, uid, 60)
        await memory.store_memory(memory_entry(uid, "the weather in Lyon is mild"))
        context = await memory.get_context(uid, cid)
        built = await memory.build_context(uid, cid, max_tokens=300, reserve_tokens=20)
    contents = [m.content for m in context.messages]
    assert contents == [m.content for m in built.to_messages()]
    assert prompt_tokens(default_counter(), context.messages) <= 280
    assert any(text.startswith("Relevant memories:") for text in contents)
    assert contents[-1] == "turn 60 about the weather and the news"
    assert context.conversation_id == cid
    assert context.user.user_id == uid


def test_a_budget_that_leaves_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="reserve_tokens"):
        ContextBudget(max_tokens=100, reserve_tokens=100)
