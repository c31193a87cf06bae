"""The context builder's rules, on random conversations, memories and budgets."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from bruno_core.models.memory import MemoryEntry, MemoryType
from bruno_core.models.message import Message, MessageRole
from hypothesis import given, settings
from hypothesis import strategies as st

from bruno_memory.context.builder import MIN_WINDOW, Candidates, assemble
from bruno_memory.context.summaries import LLMUsage, Summary
from bruno_memory.context.tokens import default_counter, prompt_tokens
from bruno_memory.context.window import CUT_MARKER, recall_line, recall_lines
from bruno_memory.errors import InvalidInputError

COUNTER = default_counter()
START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
WORDS = st.text(alphabet="abcdefghij klmnop", min_size=1, max_size=120).filter(str.strip)
ROLES = st.sampled_from([MessageRole.USER, MessageRole.ASSISTANT, MessageRole.SYSTEM])
STRATEGIES = st.sampled_from(["recent", "semantic", "importance", "hybrid"])


def _history(contents: list[tuple[MessageRole, str]]) -> list[Message]:
    return [
        Message(role=role, content=text, timestamp=START + dt.timedelta(minutes=n))
        for n, (role, text) in enumerate(contents)
    ]


def _summaries(history: list[Message], sizes: list[int]) -> list[Summary]:
    """A frontier over the oldest non-system messages, in spans of the given sizes."""
    spoken = [m for m in history if m.role != MessageRole.SYSTEM]
    found, start = [], 0
    for size in sizes:
        span = spoken[start : start + size]
        if not span:
            break
        found.append(
            Summary(
                conversation_id="c",
                level=0,
                content=" ".join(m.content for m in span)[:200],
                first_message_id=span[0].id,
                last_message_id=span[-1].id,
                span_start=span[0].timestamp,
                span_end=span[-1].timestamp,
                message_count=len(span),
                source_ids=[m.id for m in span],
                usage=LLMUsage(model="m", input_tokens=1, output_tokens=1),
                created_at=START,
            )
        )
        start += size
    return found


def _memories(contents: list[str]) -> list[MemoryEntry]:
    return [MemoryEntry(content=c, user_id="u", memory_type=MemoryType.FACT) for c in contents]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(ROLES, WORDS), max_size=40),
    st.lists(WORDS, max_size=10),
    st.data(),
    st.integers(min_value=40, max_value=900),
    STRATEGIES,
)
def test_every_rule_holds_on_random_input(
    contents: list[tuple[MessageRole, str]],
    memory_texts: list[str],
    data: st.DataObject,
    budget: int,
    strategy: str,
) -> None:
    history = _history(contents)
    older = (
        data.draw(st.lists(st.sampled_from(history), unique_by=lambda m: m.id)) if history else []
    )
    sizes = data.draw(st.lists(st.integers(min_value=1, max_value=6), max_size=8))
    candidates = Candidates(
        history=history,
        memories=_memories(memory_texts),
        recalled=older,
        summaries=_summaries(history, sizes),
    )
    try:
        got = assemble(candidates, budget=budget, counter=COUNTER, strategy=strategy)  # type: ignore[arg-type]
    except InvalidInputError:
        return  # the required messages' overheads alone exceed the budget
    prompt = got.to_messages()
    # Never over budget, and the count is the prompt's.
    assert got.token_count == prompt_tokens(COUNTER, prompt) <= budget
    # System messages and the newest user message are in (cut at most, and then marked).
    ids = {m.id for m in got.window}
    users = [m for m in history if m.role == MessageRole.USER]
    for required in [m for m in history if m.role == MessageRole.SYSTEM] + users[-1:]:
        assert required.id in ids
    for message in got.window:
        if str(message.id) in got.cut:
            assert message.content.endswith(CUT_MARKER)
    # Chronological inside each part; recalled messages are not also in the window.
    assert got.window == sorted(got.window, key=lambda m: m.timestamp)
    assert not ids & {m.id for m in got.recalled}
    # The window has no gap among the optional messages: it is the newest ones.
    optional = [m for m in history if m.role != MessageRole.SYSTEM and m not in users[-1:]]
    kept = [m.id in ids for m in optional]
    assert kept == sorted(kept)
    # Everything considered is in, or accounted for once in `omitted`.
    considered = {m.id for m in history} | {m.id for m in older}
    included = ids | {m.id for m in got.recalled}
    omitted = [uuid.UUID(o.item_id) for o in got.omitted if o.kind == "message"]
    assert len(omitted) == len(set(omitted))
    assert set(omitted) == considered - included
    left_memories = {m.id for m in candidates.memories} - {m.id for m in got.memories}
    assert {uuid.UUID(o.item_id) for o in got.omitted if o.kind == "memory"} == left_memories
    # Summaries shown tell of history the window does not hold, chronologically, and every
    # summary is shown or accounted for once.
    assert got.summaries == sorted(got.summaries, key=lambda s: s.span_start)
    assert not ids & {s.first_message_id for s in got.summaries}
    left = [uuid.UUID(o.item_id) for o in got.omitted if o.kind == "summary"]
    shown = [s.id for s in got.summaries]
    assert sorted(left + shown) == sorted(s.id for s in candidates.summaries)


def test_recent_fills_the_budget_with_the_newest_messages() -> None:
    history = _history([(MessageRole.USER, f"message number {n}") for n in range(50)])
    got = assemble(Candidates(history), budget=100, counter=COUNTER, strategy="recent")
    assert got.window == history[-len(got.window) :]
    assert 5 < len(got.window) < 50
    assert got.token_count <= 100
    assert len(got.omitted) == 50 - len(got.window)


def test_an_over_long_newest_message_is_cut_with_a_marker() -> None:
    history = _history([(MessageRole.SYSTEM, "be brief"), (MessageRole.USER, "word " * 2000)])
    got = assemble(Candidates(history), budget=200, counter=COUNTER, strategy="hybrid")
    assert [m.role for m in got.window] == [MessageRole.SYSTEM, MessageRole.USER]
    assert got.window[1].content.endswith(CUT_MARKER)
    assert got.cut == [str(history[1].id)]
    assert 150 < got.token_count <= 200


def test_hybrid_brings_memories_and_older_messages_back() -> None:
    history = _history([(MessageRole.USER, f"turn {n} " + "filler " * 20) for n in range(40)])
    memories = _memories(["likes tea", "lives in Lyon"])
    got = assemble(
        Candidates(history, memories=memories, recalled=[history[2]]),
        budget=400,
        counter=COUNTER,
        strategy="hybrid",
    )
    assert [m.content for m in got.memories] == ["likes tea", "lives in Lyon"]
    assert got.recalled == [history[2]]
    notes = [m.content for m in got.to_messages() if m.role == MessageRole.SYSTEM]
    assert notes[0].startswith("Relevant memories:")
    assert "likes tea" in notes[0]
    assert notes[1].startswith("Earlier in this conversation:")
    assert "turn 2" in notes[1]


def test_a_budget_below_the_overheads_is_refused() -> None:
    history = _history([(MessageRole.USER, "hello")])
    with pytest.raises(InvalidInputError, match="no room"):
        assemble(Candidates(history), budget=5, counter=COUNTER, strategy="recent")


def test_shares_memories_and_summaries_leave_go_to_recall() -> None:
    # No memories, no summaries: hybrid's whole free budget but the window's share and the
    # newest turns is recall's, not the window's.
    history = _history([(MessageRole.USER, f"turn {n} " + "filler " * 10) for n in range(200)])
    recalled = history[:150]
    got = assemble(
        Candidates(history, recalled=recalled), budget=2_000, counter=COUNTER, strategy="hybrid"
    )
    note = next(m for m in got.to_messages() if m.content.startswith("Earlier"))
    share_alone = int(2_000 * 0.55)  # hybrid's recall share
    assert prompt_tokens(COUNTER, [note]) > share_alone + 2_000 * 0.2  # + the memory share
    assert len(got.window) >= MIN_WINDOW
    assert got.window == history[-len(got.window) :]
    assert got.token_count <= 2_000


def test_without_messages_to_recall_the_window_takes_the_free_budget() -> None:
    history = _history([(MessageRole.USER, f"turn {n} " + "filler " * 10) for n in range(200)])
    got = assemble(Candidates(history), budget=2_000, counter=COUNTER, strategy="hybrid")
    assert got.token_count > 2_000 - 30  # one message more would not fit


def test_the_recall_note_names_each_day_once() -> None:
    days = [START, START + dt.timedelta(minutes=5), START + dt.timedelta(days=3)]
    recalled = [
        Message(role=MessageRole.USER, content=f"said {n}", timestamp=t) for n, t in enumerate(days)
    ]
    assert recall_lines(list(reversed(recalled))) == [
        "2024-01-01:",
        "user: said 0",
        "user: said 1",
        "2024-01-04:",
        "user: said 2",
    ]


def test_recall_takes_the_room_its_line_by_line_estimate_leaves() -> None:
    # Lines ending in punctuation: a line's newline merges with the end of the one before,
    # so counting lines one by one overestimates the note; the top-up takes the difference.
    history = _history(
        [(MessageRole.USER, f"turn {n}: " + "filler, " * 10 + "done!") for n in range(300)]
    )
    recalled = history[:250]
    got = assemble(
        Candidates(history, recalled=recalled), budget=2_000, counter=COUNTER, strategy="hybrid"
    )
    assert got.token_count <= 2_000
    shown = {m.id for m in got.window} | {m.id for m in got.recalled}
    left = [m for m in recalled if m.id not in shown]
    room = 2_000 - got.token_count
    assert left
    assert all(COUNTER.count("\n" + recall_line(m)) > room for m in left)
