"""A small deterministic LLM for the tests of LLM features: no network, no model.

:class:`ExtractiveLLM` "summarizes" by keeping the first words of each line of the last
prompt message, so a summary's content says which messages it read. It can be told to fail,
to stall or to answer nothing, on a given call, and it records every prompt.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bruno_core.interfaces.llm import LLMInterface
from bruno_core.models.message import Message

#: Words kept of each line of the transcript.
WORDS_PER_LINE = 10


class ExtractiveLLM(LLMInterface):
    """Deterministic summaries: the first words of each transcript line, joined."""

    def __init__(
        self,
        *,
        model: str = "extractive-test",
        fail_on_call: int | None = None,
        stall_on_call: int | None = None,
        empty_on_call: int | None = None,
        during_call: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.model = model
        self.prompts: list[list[Message]] = []
        self._fail_on = fail_on_call
        self._stall_on = stall_on_call
        self._empty_on = empty_on_call
        self._during = during_call

    @property
    def calls(self) -> int:
        return len(self.prompts)

    async def generate(
        self,
        messages: list[Message],
        temperature: float | None = None,
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> str:
        self.prompts.append(list(messages))
        call = self.calls
        if self._during is not None:
            await self._during(call)
        if call == self._fail_on:
            raise RuntimeError(f"the test LLM fails on call {call}")
        if call == self._stall_on:
            await asyncio.sleep(3600)
        if call == self._empty_on:
            return "   "
        lines = [line for line in messages[-1].content.splitlines() if line.strip()]
        words = [" ".join(line.split()[:WORDS_PER_LINE]) for line in lines]
        summary = "; ".join(words)
        return " ".join(summary.split()[: max_tokens or None])

    async def stream(
        self,
        messages: list[Message],
        temperature: float | None = None,
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[str]:
        yield await self.generate(messages, temperature, max_tokens)

    def get_token_count(self, text: str) -> int:
        return len(text.split())

    async def check_connection(self) -> bool:
        return True

    async def list_models(self) -> list[str]:
        return [self.model]

    def get_model_info(self) -> dict[str, Any]:
        return {"model": self.model, "provider": "test"}

    def set_system_prompt(self, prompt: str) -> None:
        self._system = prompt

    def get_system_prompt(self) -> str | None:
        return getattr(self, "_system", None)


class ChatLLM(ExtractiveLLM):
    """A deterministic assistant: it answers ``re: <the last message>`` and records every
    prompt, so a test sees exactly which context each turn was given."""

    async def generate(
        self,
        messages: list[Message],
        temperature: float | None = None,
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> str:
        self.prompts.append(list(messages))
        return f"re: {messages[-1].content}"
