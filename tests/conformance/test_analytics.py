"""Analytics: exact figures of a small known dataset, per user and per window, on every
storage that aggregates (``Capability.ANALYTICS``); usage of LLM calls and embeddings where
the storage has them; latencies of the operations run."""

from __future__ import annotations

import datetime as dt

import pytest
from bruno_core.models.message import MessageRole

from bruno_memory import Capability, Memory
from bruno_memory.adapters.embeddings import HashingEmbedder
from bruno_memory.analytics import keywords
from bruno_memory.analytics.model import (
    Analytics,
    DayCount,
    EmbeddingUsage,
    Keyword,
    LengthCount,
    LlmUsage,
    RolePair,
)
from bruno_memory.db.types import utc_now
from bruno_memory.ports.embedding import embedder_key
from tests.conformance.helpers import memory_entry, message, user_message
from tests.conftest import Backend
from tests.llms import ExtractiveLLM

pytestmark = pytest.mark.requires(Capability.ANALYTICS)

MONDAY = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
TUESDAY = MONDAY + dt.timedelta(days=1)
USER, ASSISTANT, SYSTEM = MessageRole.USER, MessageRole.ASSISTANT, MessageRole.SYSTEM


def _at(when: dt.datetime, minutes: int) -> dict[str, dt.datetime]:
    return {"timestamp": when + dt.timedelta(minutes=minutes)}


async def _dataset(memory: Memory, uid: str) -> str:
    """Alice's two conversations (a Monday morning, a Tuesday night), her two memories, and
    Bob's message and memory that her figures must not count; Alice's id."""
    alice, bob = f"{uid}-alice", f"{uid}-bob"
    monday = await memory.create_session(alice)
    await memory.store_messages(
        [
            message(USER, "Planning a trip to Lisbon", **_at(MONDAY, 0)),
            message(ASSISTANT, "Lisbon is lovely in spring", **_at(MONDAY, 1)),
            message(USER, "Which trip dates are cheapest?", **_at(MONDAY, 2)),
            message(USER, "And hotels near the river?", **_at(MONDAY, 3)),
            message(ASSISTANT, "Hotels near the river cost more", **_at(MONDAY, 60)),
        ],
        monday.conversation_id,
    )
    tuesday = await memory.create_session(alice)
    night = TUESDAY.replace(hour=21, minute=59)
    await memory.store_messages(
        [
            message(SYSTEM, "You are helpful", **_at(night, 0)),
            message(USER, "Lisbon weather?", **_at(night, 1)),
            message(ASSISTANT, "Sunny", **_at(night, 2)),
        ],
        tuesday.conversation_id,
    )
    for day in (MONDAY, TUESDAY + dt.timedelta(days=1)):
        entry = memory_entry(alice, "likes Lisbon")
        await memory.store_memory(entry.model_copy(update={"created_at": day}))
    bobs = await memory.create_session(bob)
    await memory.store_message(
        user_message("football tonight football", **_at(MONDAY, 0)), bobs.conversation_id
    )
    await memory.store_memory(memory_entry(bob, "likes football"))
    return alice


def _today() -> list[DayCount]:
    return [DayCount(day=utc_now().date(), count=1)]


async def test_a_users_figures_count_exactly_their_data(memory: Memory, uid: str) -> None:
    alice = await _dataset(memory, uid)

    figures = await memory.analytics(alice)

    assert isinstance(figures, Analytics)
    assert figures.window.user_id == alice
    growth = figures.growth
    assert growth.messages == (
        DayCount(day=MONDAY.date(), count=5),
        DayCount(day=TUESDAY.date(), count=3),
    )
    assert [d.day for d in growth.memories] == [MONDAY.date(), dt.date(2026, 1, 7)]
    assert [d.count for d in growth.conversations] == [2]
    assert list(growth.users) == _today()

    patterns = figures.patterns
    assert patterns.lengths == (
        LengthCount(length=3, conversations=1),
        LengthCount(length=5, conversations=1),
    )
    assert (patterns.conversations, patterns.mean_length) == (2, 4.0)
    assert patterns.turn_taking.pairs == (
        RolePair(previous=None, role="system", count=1),
        RolePair(previous=None, role="user", count=1),
        RolePair(previous="assistant", role="user", count=1),
        RolePair(previous="system", role="user", count=1),
        RolePair(previous="user", role="assistant", count=3),
        RolePair(previous="user", role="user", count=1),
    )
    assert patterns.turn_taking.user_to_assistant_share == 0.75
    assert patterns.turn_taking.mean_run_length == {
        "assistant": 1.0,
        "system": 1.0,
        "user": pytest.approx(4 / 3),
    }
    hours = [0] * 24
    hours[9], hours[10], hours[21], hours[22] = 4, 1, 1, 2
    assert list(patterns.hours) == hours
    assert list(patterns.weekdays) == [5, 3, 0, 0, 0, 0, 0]
    assert patterns.activity[0][9] == 4
    assert patterns.activity[1][22] == 2

    assert figures.topics.sampled_messages == 8
    assert figures.topics.keywords[:5] == (
        Keyword(word="lisbon", count=3),
        Keyword(word="hotels", count=2),
        Keyword(word="near", count=2),
        Keyword(word="river", count=2),
        Keyword(word="trip", count=2),
    )
    words = {k.word for k in figures.topics.keywords}
    assert len(figures.topics.keywords) == 14
    assert not words & {"which", "and", "you", "are", "more", "football"}  # stop words, Bob's
    assert figures.llm == ()


async def test_a_window_keeps_what_falls_in_it(memory: Memory, uid: str) -> None:
    alice = await _dataset(memory, uid)

    tuesday = await memory.analytics(alice, since=TUESDAY.replace(hour=0))
    monday = await memory.analytics(alice, since=MONDAY, until=TUESDAY.replace(hour=0))

    assert tuesday.growth.messages == (DayCount(day=TUESDAY.date(), count=3),)
    assert [d.day for d in tuesday.growth.memories] == [dt.date(2026, 1, 7)]
    assert tuesday.patterns.lengths == (LengthCount(length=3, conversations=1),)
    assert tuesday.topics.sampled_messages == 3
    assert {k.word for k in tuesday.topics.keywords} == {"helpful", "lisbon", "weather", "sunny"}
    assert monday.growth.messages == (DayCount(day=MONDAY.date(), count=5),)
    assert monday.growth.conversations == monday.growth.users == ()  # created today
    assert monday.patterns.turn_taking.user_to_assistant_share == pytest.approx(2 / 3)
    assert monday.window.until == TUESDAY.replace(hour=0)


async def test_the_whole_store_holds_every_users_figures(memory: Memory, uid: str) -> None:
    alice = await _dataset(memory, uid)
    window = {"since": MONDAY, "until": MONDAY + dt.timedelta(minutes=1)}

    everyone = await memory.analytics(**window)  # type: ignore[arg-type]
    hers = await memory.analytics(alice, **window)  # type: ignore[arg-type]

    assert everyone.window.user_id is None
    assert hers.growth.messages == (DayCount(day=MONDAY.date(), count=1),)
    # Other tests of a shared database may add to the store's count, never take from it.
    assert everyone.growth.messages[0].count >= 2
    assert sum(everyone.patterns.hours) >= 2
    assert everyone.topics.sampled_messages >= 2
    assert all(usage.pending is not None for usage in everyone.embeddings)


async def test_the_keyword_sample_is_the_newest_messages_read_page_by_page(
    memory: Memory, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keywords, "PAGE", 2)
    monkeypatch.setattr(keywords, "SAMPLE", 3)
    minutes = {"alpha": 0, "bravo": 1, "charlie": 1, "delta": 1, "echo": 2}
    await memory.store_messages(
        [user_message(word, **_at(MONDAY, n)) for word, n in minutes.items()],
        f"{uid}-c",
        user_id=uid,
    )

    topics = (await memory.analytics(uid)).topics

    assert topics.sampled_messages == 3  # the last of a timestamp's messages stored first
    assert [k.word for k in topics.keywords] == ["charlie", "delta", "echo"]


async def test_latencies_of_the_operations_run_are_measured(memory: Memory, uid: str) -> None:
    for n in range(5):
        await memory.store_message(user_message(f"message {n}"), f"{uid}-c")

    latencies = {item.operation: item for item in (await memory.analytics(uid)).latencies}

    stored = latencies["store_messages"]
    assert stored.count == 5
    assert 0 < stored.p50 <= stored.p95 <= stored.p99 <= stored.max
    assert latencies["analytics"].count == 1


@pytest.mark.requires(Capability.COMPRESSION)
async def test_llm_usage_sums_the_summaries_calls_per_user_and_model(
    memory: Memory, uid: str
) -> None:
    from tests.conformance.test_compression import SMALL, turns

    session = await memory.create_session(uid)
    await memory.store_messages(turns(24), session.conversation_id)
    report = await memory.compress(session.conversation_id, llm=ExtractiveLLM(), policy=SMALL)

    usage = (await memory.analytics(uid)).llm

    assert usage == (
        LlmUsage(
            user_id=uid,
            model="extractive-test",
            calls=len(report.summaries),
            input_tokens=report.input_tokens,
            output_tokens=report.output_tokens,
            cost=None,
        ),
    )


@pytest.mark.requires(Capability.SEMANTIC)
async def test_embedding_usage_counts_vectors_and_distinct_texts(
    backend: Backend, uid: str
) -> None:
    embedder = HashingEmbedder()
    async with backend.store(embedder=embedder) as memory:
        await memory.store_messages(
            [user_message("same words"), user_message("same words"), user_message("other")],
            f"{uid}-c",
            user_id=uid,
        )
        await memory.store_memory(memory_entry(uid, "a memory"))
        await memory.wait_for_embeddings()

        usage = (await memory.analytics(uid)).embeddings

    assert usage == (
        EmbeddingUsage(
            model_key=embedder_key(embedder), messages=3, memories=1, texts=3, pending=None
        ),
    )
