"""bruno-core on bruno-memory: a BaseAssistant, a ContextManager and an EventBus.

A tiny stand-in LLM answers from the context it is given (use any bruno-core
``LLMInterface``, e.g. a bruno-llm provider, instead). Runs in memory, no server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from bruno_core.base.assistant import BaseAssistant
from bruno_core.context.manager import ContextManager
from bruno_core.events.bus import EventBus
from bruno_core.events.types import Event
from bruno_core.interfaces.llm import LLMInterface
from bruno_core.models.message import Message, MessageRole

from bruno_memory import create_memory


class CountingLLM(LLMInterface):
    """Says how many messages it was shown and repeats the last one."""

    async def generate(
        self,
        messages: list[Message],
        temperature: float | None = None,
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> str:
        return f"({len(messages)} messages in context) you said: {messages[-1].content}"

    async def stream(
        self,
        messages: list[Message],
        temperature: float | None = None,
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[str]:  # bruno-core declares a coroutine that returns the iterator
        return _chunks([await self.generate(messages, temperature, max_tokens)])

    def get_token_count(self, text: str) -> int:
        return len(text.split())

    async def check_connection(self) -> bool:
        return True

    async def list_models(self) -> list[str]:
        return ["counting"]

    def get_model_info(self) -> dict[str, Any]:
        return {"model": "counting", "provider": "example"}

    def set_system_prompt(self, prompt: str) -> None:
        self._system = prompt

    def get_system_prompt(self) -> str | None:
        return getattr(self, "_system", None)


async def _chunks(chunks: list[str]) -> AsyncIterator[str]:
    for chunk in chunks:
        yield chunk


def show(event: Event) -> None:
    print(f"  event {event.event_type}: {event.data or event.model_dump(include={'session_id'})}")


async def main() -> None:
    bus = EventBus()
    bus.subscribe_all(show)
    async with create_memory("sqlite+aiosqlite://", embedder=None, event_bus=bus) as memory:
        assistant = BaseAssistant(llm=CountingLLM(), memory=memory)
        await assistant.initialize()
        for text in ("I'm planning a trip to Lisbon", "What should I see first?"):
            message = Message(role=MessageRole.USER, content=text)
            response = await assistant.process_message(
                message, user_id="alice", conversation_id="trip"
            )
            print(f"assistant: {response.text}")

        # bruno-core's ContextManager saves without naming the user: bind the memory to one.
        manager = ContextManager(memory=memory.for_user("alice"))
        note = Message(role=MessageRole.USER, content="Remember: I collect tram tickets")
        await manager.add_message(note, "notes", user_id="alice")
        found = await memory.retrieve_context("alice", "tram tickets")
        print(f"alice finds: {[m.content for m in found]}")
        print(f"bob finds: {await memory.retrieve_context('bob', 'tram tickets')}")


if __name__ == "__main__":
    asyncio.run(main())
