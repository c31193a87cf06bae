"""End to end with bruno-core: its ``BaseAssistant`` (over a deterministic test LLM) holds a
multi-turn conversation on this library, branches it and keeps working after compression,
while bruno-core's ``EventBus`` hears each committed change.

The assertions are on what the LLM was given and what is stored, on every storage with the
capabilities a step needs (the others skip, naming what they lack).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from bruno_core.base.assistant import BaseAssistant
from bruno_core.events.types import EventType, SessionEvent
from bruno_core.models.context import ConversationContext
from bruno_core.models.message import Message, MessageRole

from bruno_memory import Capability, CompressionPolicy, Memory
from bruno_memory.context.window import SUMMARY_HEADER
from tests.buses import RecordingBus
from tests.conftest import Backend
from tests.llms import ChatLLM, ExtractiveLLM

#: Messages in ``get_context``'s window; bruno-core keeps its context at that size, the new
#: turn included, so a prompt holds the ``WINDOW - 1`` messages before the turn.
WINDOW = 6
#: Summaries of three messages, the newest two kept.
POLICY = CompressionPolicy(keep_recent=2, max_messages=None, chunk_messages=3, fanout=8)
#: Long turns, so that a summary (ten words a message) is shorter than what it covers.
DETAIL = (
    "and we would rather take trains than planes, stay somewhere quiet near the centre, "
    "eat where the locals eat, see one thing a day and never rush, then rest in the "
    "afternoon before going out again for dinner and a walk along the water at night"
)
TRIP = [
    f"I am planning a trip to Lisbon in May with my sister {DETAIL}",
    f"We love museums, old tiled buildings and long walks by the river {DETAIL}",
    f"What should we eat there, we both like fish and pastries {DETAIL}",
    f"Please keep the budget under two thousand euros for the week {DETAIL}",
]


@dataclass
class Bench:
    """A memory publishing on a recording bus, and a bruno-core assistant over it."""

    memory: Memory
    bus: RecordingBus
    chat: ChatLLM
    assistant: BaseAssistant
    user: str

    async def turn(
        self, text: str, conversation: str, context: ConversationContext | None = None
    ) -> list[str]:
        """One user turn through the assistant; the contents of the prompt the LLM got."""
        response = await self.assistant.process_message(
            Message(role=MessageRole.USER, content=text),
            context=context,
            user_id=self.user,
            conversation_id=conversation,
        )
        assert response.success
        assert response.text == f"re: {text}"
        return [m.content for m in self.chat.prompts[-1]]

    async def history(self, conversation: str) -> list[str]:
        return [m.content for m in await self.memory.list_messages(conversation, limit=100)]


@pytest.fixture
async def bench(backend: Backend, uid: str) -> AsyncIterator[Bench]:
    bus, chat = RecordingBus(), ChatLLM()
    async with backend.store(event_bus=bus, context_window=WINDOW) as memory:
        assistant = BaseAssistant(llm=chat, memory=memory)
        await assistant.initialize()
        yield Bench(memory, bus, chat, assistant, uid)
        await assistant.shutdown()


def exchange(texts: list[str]) -> list[str]:
    """The stored contents of turns with these user texts: each, then its reply."""
    return [content for text in texts for content in (text, f"re: {text}")]


async def test_a_multi_turn_conversation_is_remembered_and_owned(bench: Bench) -> None:
    conversation = f"{bench.user}-trip"
    prompts = [await bench.turn(text, conversation) for text in TRIP]

    assert prompts[0] == TRIP[:1]
    assert prompts[1] == [*exchange(TRIP[:1]), TRIP[1]]
    assert prompts[3] == [*exchange(TRIP[:3])[1 - WINDOW :], TRIP[3]]
    assert await bench.history(conversation) == exchange(TRIP)
    found = await bench.memory.retrieve_context(bench.user, "Lisbon sister")
    assert {m.content for m in found[:2]} == set(exchange(TRIP[:1]))  # the reply echoes it
    assert await bench.memory.retrieve_context(f"{bench.user}-other", "Lisbon") == []
    stats = await bench.memory.get_statistics(bench.user)
    assert stats["conversations"] == 1
    assert stats["messages_by_role"] == {"user": len(TRIP), "assistant": len(TRIP)}

    started = [e for e in bench.bus.of(EventType.SESSION_STARTED) if isinstance(e, SessionEvent)]
    assert [(e.user_id, e.conversation_id) for e in started] == [(bench.user, conversation)]
    await bench.memory.end_session(started[0].session_id)
    [ended] = bench.bus.of(EventType.SESSION_ENDED)
    assert isinstance(ended, SessionEvent)
    assert ended.session_id == started[0].session_id
    updates = bench.bus.of(EventType.CONTEXT_UPDATED)
    assert [e.data["message_count"] for e in updates] == [1] * (2 * len(TRIP))
    assert {e.data["user_id"] for e in updates} == {bench.user}


@pytest.mark.requires(Capability.BRANCHING, Capability.COMPRESSION)
async def test_the_assistant_branches_and_keeps_working_after_compression(bench: Bench) -> None:
    conversation = f"{bench.user}-trip"
    for text in TRIP:
        await bench.turn(text, conversation)
    stored = await bench.memory.list_messages(conversation, limit=100)

    # A branch from the second reply: the assistant sees the shared history, not what followed.
    branch = await bench.memory.fork_conversation(
        conversation, stored[3].id, branch_id=f"{bench.user}-porto"
    )
    detour = "Actually, let us go to Porto instead"
    assert await bench.turn(detour, branch) == [*exchange(TRIP[:2]), detour]
    assert await bench.history(branch) == [*exchange(TRIP[:2]), *exchange([detour])]
    assert await bench.history(conversation) == exchange(TRIP)
    assert [b.branch_id for b in await bench.memory.list_branches(conversation)] == [branch]

    # Compression summarizes the older turns and changes no message.
    report = await bench.memory.compress(conversation, llm=ExtractiveLLM(), policy=POLICY)
    assert report.outcome == "compressed"
    assert report.messages_summarized == 2 * len(TRIP) - POLICY.keep_recent
    assert await bench.memory.list_messages(conversation, limit=100) == stored
    [triggered] = bench.bus.of(EventType.COMPRESSION_TRIGGERED)
    assert triggered.data["messages_summarized"] == report.messages_summarized
    assert triggered.data["summary_ids"] == [str(s.id) for s in report.summaries]

    # The assistant goes on in the window of get_context...
    last = "Which day is best for the tile museum"
    assert await bench.turn(last, conversation) == [*exchange(TRIP)[1 - WINDOW :], last]
    # ...and, given build_context's window, sees the summaries of what no longer fits.
    window = await bench.memory.build_context(
        bench.user, conversation, max_tokens=500, strategy="recent"
    )
    assert window.summaries
    prompt = await bench.turn("And the river walk", conversation, window.to_conversation_context())
    assert window.summaries[0].first_message_id == stored[0].id
    assert prompt[0].startswith(SUMMARY_HEADER)
    assert "user: I am planning a trip to" in prompt[0]  # the first turn, summarized
    assert TRIP[0] not in prompt  # and not repeated
    assert prompt[-1] == "And the river walk"
    assert await bench.history(conversation) == exchange([*TRIP, last, "And the river walk"])
    assert await bench.history(branch) == [*exchange(TRIP[:2]), *exchange([detour])]
