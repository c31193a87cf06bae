"""Compression: summaries through an LLM that never change the history, land step by step,
stack into levels, survive failures and races, and feed build_context."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from bruno_core.models.message import Message, MessageRole

from bruno_memory import (
    Capability,
    CompressionError,
    CompressionPolicy,
    ConfigurationError,
    Memory,
    Summary,
)
from bruno_memory.context.window import SUMMARY_HEADER
from tests.conftest import Backend
from tests.llms import ExtractiveLLM

pytestmark = pytest.mark.requires(Capability.COMPRESSION)

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
#: Every message is eligible and each summary takes five.
SMALL = CompressionPolicy(keep_recent=4, max_messages=None, chunk_messages=5, fanout=3)


def turns(count: int, *, first: int = 0) -> list[Message]:
    """``count`` alternating user/assistant messages, a minute apart, numbered from ``first``."""
    roles = (MessageRole.USER, MessageRole.ASSISTANT)
    return [
        Message(
            role=roles[n % 2],
            content=f"turn {n} about topic{n} and more words here",
            timestamp=START + dt.timedelta(minutes=n),
        )
        for n in range(first, first + count)
    ]


async def _conversation(memory: Memory, uid: str, count: int) -> str:
    session = await memory.create_session(uid)
    await memory.store_messages(turns(count), session.conversation_id)
    return session.conversation_id


def _frontier_is_a_partition(frontier: list[Summary], history: list[Message]) -> int:
    """The frontier's spans follow each other without gap or overlap from the first
    message; how many messages they cover."""
    position = {m.id: n for n, m in enumerate(history)}
    expected_start = 0
    for summary in frontier:
        assert position[summary.first_message_id] == expected_start
        expected_start = position[summary.last_message_id] + 1
        assert summary.covered_by is None
    return expected_start


async def test_compression_summarizes_old_messages_and_never_changes_them(
    memory: Memory, uid: str
) -> None:
    cid = await _conversation(memory, uid, 24)
    before = await memory.list_messages(cid, limit=100)
    llm = ExtractiveLLM()

    report = await memory.compress(cid, llm=llm, policy=SMALL)

    assert report.outcome == "compressed"
    assert report.messages_summarized == 20  # 24 minus the 4 kept
    assert await memory.list_messages(cid, limit=100) == before
    assert await memory.retrieve_messages(cid, limit=100) == list(reversed(before))
    level0 = [s for s in report.summaries if s.level == 0]
    assert [s.message_count for s in level0] == [5, 5, 5, 5]
    assert level0[0].first_message_id == before[0].id
    assert level0[-1].last_message_id == before[19].id
    assert level0[0].source_ids == [m.id for m in before[:5]]
    assert "turn 0 about" in level0[0].content
    assert "turn 4 about" in level0[0].content
    assert await memory.list_summaries(cid) != []


async def test_a_second_run_with_nothing_new_is_a_no_op(memory: Memory, uid: str) -> None:
    cid = await _conversation(memory, uid, 14)
    await memory.compress(cid, llm=ExtractiveLLM(), policy=SMALL)
    stored = await memory.list_summaries(cid)
    llm = ExtractiveLLM()

    again = await memory.compress(cid, llm=llm, policy=SMALL)

    assert (again.outcome, again.summaries, llm.calls) == ("nothing_new", [], 0)
    assert await memory.list_summaries(cid) == stored


async def test_new_messages_are_summarized_after_the_old_ones(memory: Memory, uid: str) -> None:
    cid = await _conversation(memory, uid, 9)  # 5 eligible: one summary
    await memory.compress(cid, llm=ExtractiveLLM(), policy=SMALL)
    await memory.store_messages(turns(5, first=9), cid)

    report = await memory.compress(cid, llm=ExtractiveLLM(), policy=SMALL)

    history = await memory.list_messages(cid, limit=100)
    assert [s.first_message_id for s in report.summaries] == [history[5].id]
    frontier = await memory.list_summaries(cid, include_covered=False)
    assert _frontier_is_a_partition(frontier, history) == 10


async def test_summaries_pile_up_into_levels(memory: Memory, uid: str) -> None:
    cid = await _conversation(memory, uid, 49)  # 45 eligible: nine level-0 summaries
    report = await memory.compress(cid, llm=ExtractiveLLM(), policy=SMALL)

    levels = [s.level for s in report.summaries]
    assert (levels.count(0), levels.count(1), levels.count(2)) == (9, 3, 1)
    frontier = await memory.list_summaries(cid, include_covered=False)
    assert [s.level for s in frontier] == [2]
    history = await memory.list_messages(cid, limit=100)
    assert _frontier_is_a_partition(frontier, history) == 45
    assert frontier[0].message_count == 45
    everything = await memory.list_summaries(cid)
    assert len(everything) == 13
    top = frontier[0]
    children = [s for s in everything if s.covered_by == top.id]
    assert sorted(s.id for s in children) == sorted(top.source_ids)


async def test_system_messages_and_the_newest_messages_are_never_summarized(
    memory: Memory, uid: str
) -> None:
    session = await memory.create_session(uid)
    cid = session.conversation_id
    system = Message(role=MessageRole.SYSTEM, content="You are terse.", timestamp=START)
    await memory.store_messages([system, *turns(12, first=1)], cid)

    report = await memory.compress(cid, llm=ExtractiveLLM(), policy=SMALL)

    summarized = {i for s in report.summaries if s.level == 0 for i in s.source_ids}
    history = await memory.list_messages(cid, limit=100)
    assert system.id not in summarized
    assert not summarized & {m.id for m in history[-4:]}
    assert len(summarized) == 8  # 12 turns minus the 4 kept, in a chunk of 5 and one of 3
    assert report.messages_summarized == 8


@pytest.mark.parametrize(
    ("policy", "outcome"),
    [
        (CompressionPolicy(keep_recent=4, max_messages=20), "below_policy"),
        (CompressionPolicy(keep_recent=4, max_messages=6), "compressed"),
        (CompressionPolicy(keep_recent=4, max_messages=None, max_tokens=10_000), "below_policy"),
        (CompressionPolicy(keep_recent=4, max_messages=None, max_tokens=40), "compressed"),
        (
            CompressionPolicy(keep_recent=4, max_messages=None, max_age=dt.timedelta(days=36500)),
            "below_policy",
        ),
        (
            CompressionPolicy(keep_recent=4, max_messages=None, max_age=dt.timedelta(days=1)),
            "compressed",
        ),
        (CompressionPolicy(keep_recent=20, max_messages=None), "nothing_new"),
    ],
    ids=["count-below", "count", "tokens-below", "tokens", "age-below", "age", "all-kept"],
)
async def test_policies_decide_whether_to_run(
    memory: Memory, uid: str, policy: CompressionPolicy, outcome: str
) -> None:
    cid = await _conversation(memory, uid, 12)
    llm = ExtractiveLLM()
    report = await memory.compress(cid, llm=llm, policy=policy)
    assert report.outcome == outcome
    assert (llm.calls > 0) == (outcome == "compressed")


@pytest.mark.parametrize("failure", ["fail_on_call", "stall_on_call", "empty_on_call"])
async def test_a_failed_step_leaves_the_store_as_it_was_before_it(
    memory: Memory, uid: str, failure: str
) -> None:
    llm = ExtractiveLLM(**{failure: 3})
    cid = await _conversation(memory, uid, 24)
    before = await memory.list_messages(cid, limit=100)
    policy = SMALL.model_copy(update={"timeout_seconds": 0.2, "fanout": 10})

    with pytest.raises(CompressionError) as raised:
        await memory.compress(cid, llm=llm, policy=policy)

    report = raised.value.report
    assert report is not None
    assert len(report.summaries) == 2  # the steps before call 3
    assert await memory.list_summaries(cid) == report.summaries
    assert await memory.list_messages(cid, limit=100) == before
    resumed = await memory.compress(cid, llm=ExtractiveLLM(), policy=policy)
    assert resumed.messages_summarized == 10
    frontier = await memory.list_summaries(cid, include_covered=False)
    assert _frontier_is_a_partition(frontier, before) == 20


async def test_concurrent_runs_never_summarize_a_message_twice(memory: Memory, uid: str) -> None:
    cid = await _conversation(memory, uid, 34)

    reports = await asyncio.gather(
        *(memory.compress(cid, llm=ExtractiveLLM(), policy=SMALL) for _ in range(3))
    )

    assert {r.outcome for r in reports} <= {"compressed", "concurrent", "nothing_new"}
    history = await memory.list_messages(cid, limit=100)
    frontier = await memory.list_summaries(cid, include_covered=False)
    assert _frontier_is_a_partition(frontier, history) == 30
    level0 = [s for s in await memory.list_summaries(cid) if s.level == 0]
    summarized = [i for s in level0 for i in s.source_ids]
    assert len(summarized) == len(set(summarized)) == 30


async def test_messages_arriving_during_a_run_are_kept_and_summarized_later(
    memory: Memory, uid: str
) -> None:
    cid = await _conversation(memory, uid, 14)
    arrivals = iter(range(100, 200))

    async def a_message_arrives(_: int) -> None:
        await memory.store_messages(turns(1, first=next(arrivals)), cid)

    await memory.compress(cid, llm=ExtractiveLLM(during_call=a_message_arrives), policy=SMALL)

    history = await memory.list_messages(cid, limit=100)
    assert len(history) == 14 + 2  # one arrived during each of the two LLM calls
    frontier = await memory.list_summaries(cid, include_covered=False)
    covered = _frontier_is_a_partition(frontier, history)
    assert covered <= len(history) - SMALL.keep_recent


async def test_clearing_the_history_removes_its_summaries(memory: Memory, uid: str) -> None:
    cid = await _conversation(memory, uid, 14)
    await memory.compress(cid, llm=ExtractiveLLM(), policy=SMALL)
    await memory.clear_history(cid)
    assert await memory.list_summaries(cid) == []
    report = await memory.compress(cid, llm=ExtractiveLLM(), policy=SMALL)
    assert report.outcome == "nothing_new"


async def test_deleting_the_user_removes_the_summaries(memory: Memory, uid: str) -> None:
    cid = await _conversation(memory, uid, 14)
    await memory.compress(cid, llm=ExtractiveLLM(), policy=SMALL)
    await memory.delete_user(uid)
    assert await memory.list_summaries(cid) == []


async def test_each_call_records_its_model_tokens_and_cost(memory: Memory, uid: str) -> None:
    cid = await _conversation(memory, uid, 9)
    prices = {"extractive-test": {"input": 0.5, "output": 2.0}}
    policy = SMALL.model_copy(update={"prices": prices})

    report = await memory.compress(cid, llm=ExtractiveLLM(), policy=policy)

    (usage,) = report.usage
    assert usage.model == "extractive-test"
    assert usage.input_tokens > usage.output_tokens > 0
    assert usage.cost == pytest.approx(
        usage.input_tokens / 1000 * 0.5 + usage.output_tokens / 1000 * 2.0
    )
    assert report.cost == usage.cost
    (stored,) = await memory.list_summaries(cid)
    assert stored.usage == usage


async def test_the_memory_default_llm_and_policy_apply(
    memory: Memory, backend: Backend, uid: str
) -> None:
    with pytest.raises(ConfigurationError):
        await memory.compress(await _conversation(memory, uid, 9))
    async with backend.store(llm=ExtractiveLLM(), compression=SMALL) as configured:
        report = await configured.compress(await _conversation(configured, uid, 9))
    assert report.messages_summarized == 5


async def test_build_context_shows_summaries_of_what_no_longer_fits(
    memory: Memory, uid: str
) -> None:
    session = await memory.create_session(uid)
    cid = session.conversation_id
    await memory.store_messages(turns(60), cid)
    await memory.compress(cid, llm=ExtractiveLLM(), policy=SMALL.model_copy(update={"fanout": 50}))

    window = await memory.build_context(uid, cid, max_tokens=1000, strategy="recent")

    assert window.token_count <= 1000
    assert window.summaries, "older history is represented by summaries"
    shown = {m.id for m in window.messages}
    assert all(s.first_message_id not in shown for s in window.summaries)
    assert window.summaries == sorted(window.summaries, key=lambda s: s.span_start)
    history = await memory.list_messages(cid, limit=100)
    position = {m.id: n for n, m in enumerate(history)}
    newest = window.summaries[-1]
    oldest_in_window = min(position[m.id] for m in window.messages)
    assert (
        position[newest.first_message_id] < oldest_in_window <= position[newest.last_message_id] + 1
    )
    prompt = window.to_messages()
    assert any(m.content.startswith(SUMMARY_HEADER) for m in prompt)
    omitted = {o.item_id: o.reason for o in window.omitted if o.kind == "summary"}
    chosen = {str(s.id) for s in window.summaries}
    assert chosen.isdisjoint(omitted)


async def test_a_window_that_holds_everything_shows_no_summary(memory: Memory, uid: str) -> None:
    session = await memory.create_session(uid)
    cid = session.conversation_id
    await memory.store_messages(turns(14), cid)
    await memory.compress(cid, llm=ExtractiveLLM(), policy=SMALL)

    window = await memory.build_context(uid, cid, max_tokens=8000)

    assert window.summaries == []
    assert len(window.messages) == 14
    reasons = {o.reason for o in window.omitted if o.kind == "summary"}
    assert reasons == {"duplicate"}


async def test_automatic_compression_runs_after_writes_past_the_threshold(
    backend: Backend, uid: str
) -> None:
    policy = SMALL.model_copy(update={"max_messages": 10})
    llm = ExtractiveLLM()
    async with backend.store(llm=llm, compression=policy, auto_compress=True) as memory:
        session = await memory.create_session(uid)
        cid = session.conversation_id
        for n in range(0, 20, 2):
            await memory.store_messages(turns(2, first=n), cid)
        await memory.wait_for_compression()
        history = await memory.list_messages(cid, limit=100)
        frontier = await memory.list_summaries(cid, include_covered=False)
    assert len(history) == 20
    assert llm.calls > 0
    covered = _frontier_is_a_partition(frontier, history)
    assert covered >= 10  # the threshold was passed: at least the first chunks are in
    assert covered <= 20 - policy.keep_recent


async def test_automatic_compression_needs_an_llm(backend: Backend) -> None:
    with pytest.raises(ConfigurationError):
        backend.store(auto_compress=True)
