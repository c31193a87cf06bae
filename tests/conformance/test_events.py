"""bruno-core events on a given EventBus: published once per committed write, on every
storage, with bruno-core's models; a failing subscriber or bus never fails the write."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bruno_core.events.types import Event, EventType, SessionEvent
from bruno_core.models.message import MessageRole

from bruno_memory import AccessDeniedError, Capability, CompressionPolicy, Memory
from tests.buses import BrokenBus, RecordingBus
from tests.conformance.helpers import message, user_message
from tests.conftest import Backend
from tests.llms import ExtractiveLLM


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


@pytest.fixture
async def observed(backend: Backend, bus: RecordingBus) -> AsyncIterator[Memory]:
    """A store publishing on ``bus``."""
    async with backend.store(event_bus=bus) as store:
        yield store


async def test_sessions_publish_started_and_ended(
    observed: Memory, bus: RecordingBus, uid: str
) -> None:
    session = await observed.create_session(uid)
    await observed.end_session(session.session_id)
    kinds = [event.event_type for event in bus.events]
    assert kinds == [EventType.SESSION_STARTED, EventType.SESSION_ENDED]
    for event in bus.events:
        assert isinstance(event, SessionEvent)
        assert (event.session_id, event.user_id) == (session.session_id, uid)
        assert event.conversation_id == session.conversation_id


async def test_a_session_get_context_starts_is_published_once(
    observed: Memory, bus: RecordingBus, uid: str
) -> None:
    first = await observed.get_context(uid, f"{uid}-conv")
    await observed.get_context(uid, f"{uid}-conv")
    await observed.build_context(uid, f"{uid}-other")
    started = [e for e in bus.of(EventType.SESSION_STARTED) if isinstance(e, SessionEvent)]
    assert [e.conversation_id for e in started] == [f"{uid}-conv", f"{uid}-other"]
    assert started[0].session_id == first.session.session_id


async def test_context_updated_once_per_store_call(
    observed: Memory, bus: RecordingBus, uid: str
) -> None:
    session = await observed.create_session(uid)
    cid = session.conversation_id
    one = user_message("one")
    batch = [message(MessageRole.ASSISTANT, "two"), user_message("three")]
    await observed.store_message(one, cid)
    await observed.store_messages(batch, cid)
    await observed.store_messages([], cid)
    await observed.clear_history(cid)
    updated = bus.of(EventType.CONTEXT_UPDATED)
    assert [e.data["message_ids"] for e in updated] == [
        [str(one.id)],
        [str(m.id) for m in batch],
    ]
    assert [e.data["message_count"] for e in updated] == [1, 2]
    assert {e.data["conversation_id"] for e in updated} == {cid}
    assert {e.data["user_id"] for e in updated} == {uid}  # the owner, though no write named it
    assert updated[0].metadata["source"] == "bruno_memory"
    [cleared] = bus.of(EventType.CONTEXT_CLEARED)
    assert cleared.data == {"conversation_id": cid, "kept_system": True}


async def test_events_follow_the_commit_and_failed_writes_publish_nothing(
    observed: Memory, bus: RecordingBus, uid: str
) -> None:
    """A subscriber sees the stored messages; a refused write publishes no event."""
    seen: list[list[str]] = []

    async def read_back(event: Event) -> None:
        stored = await observed.storage.latest_messages(event.data["conversation_id"], None)
        seen.append([m.content for m in stored])

    bus.subscribe(EventType.CONTEXT_UPDATED, read_back)
    session = await observed.create_session(f"{uid}-alice")
    await observed.store_message(user_message("hello"), session.conversation_id)
    with pytest.raises(AccessDeniedError):
        await observed.for_user(f"{uid}-bob").store_message(
            user_message("intrusion"), session.conversation_id
        )
    assert seen == [["hello"]]
    assert len(bus.of(EventType.CONTEXT_UPDATED)) == 1


async def test_a_failing_subscriber_never_fails_the_write(
    observed: Memory, bus: RecordingBus, uid: str
) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(EventType.CONTEXT_UPDATED, broken, priority=10)
    await observed.store_message(user_message("kept"), f"{uid}-conv")
    assert [m.content for m in await observed.retrieve_messages(f"{uid}-conv")] == ["kept"]
    assert len(bus.of(EventType.CONTEXT_UPDATED)) == 1  # the others still ran


async def test_a_failing_bus_is_logged_and_never_fails_the_write(
    backend: Backend, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with backend.store(event_bus=BrokenBus()) as store:
        session = await store.create_session(uid)
        await store.store_message(user_message("kept"), session.conversation_id)
        assert [m.content for m in await store.retrieve_messages(session.conversation_id)] == [
            "kept"
        ]
    failures = [r for r in caplog.records if r.name == "bruno_memory.bus"]
    assert [r.getMessage() for r in failures] == [
        "publishing session.started failed",
        "publishing context.updated failed",
    ]


@pytest.mark.requires(Capability.COMPRESSION)
async def test_compression_publishes_its_figures(
    observed: Memory, bus: RecordingBus, uid: str
) -> None:
    session = await observed.create_session(uid)
    cid = session.conversation_id
    roles = (MessageRole.USER, MessageRole.ASSISTANT)
    await observed.store_messages(
        [message(roles[n % 2], f"turn {n} about topic{n}") for n in range(12)], cid
    )
    policy = CompressionPolicy(keep_recent=2, max_messages=None, chunk_messages=5, fanout=3)
    report = await observed.compress(cid, llm=ExtractiveLLM(), policy=policy)
    again = await observed.compress(cid, llm=ExtractiveLLM(), policy=policy)
    first, second = bus.of(EventType.COMPRESSION_TRIGGERED)
    assert first.data == {
        "conversation_id": cid,
        "outcome": report.outcome,
        "messages_summarized": 10,
        "summaries": len(report.summaries),
        "summary_ids": [str(s.id) for s in report.summaries],
        "input_tokens": report.input_tokens,
        "output_tokens": report.output_tokens,
        "cost": None,
    }
    assert second.data["outcome"] == again.outcome
    assert second.data["messages_summarized"] == 0
