"""Compression: summarizing what no longer fits, through any bruno-core ``LLMInterface``.

The rules, written once above the storage port (:class:`~bruno_memory.ports.storage.Summaries`):

- **Eligible** are the conversation's messages after its last summarized one, except the
  newest ``keep_recent`` and every system message (those are always in a context).
- **Trigger**: a run summarizes only when the eligible messages pass one of the policy's
  thresholds (count, tokens, age of the oldest); with no threshold set, whenever any is
  eligible. Nothing eligible, or below every threshold: a no-op.
- **Level 0**: eligible messages are summarized in order, in chunks of at most
  ``chunk_messages`` messages and ``chunk_tokens`` tokens of transcript; each summary
  records its span (first and last message, their ids).
- **Higher levels**: whenever ``fanout`` consecutive uncovered summaries of one level pile
  up, they are summarized into one of the next level, which covers them.
- **One step, one transaction**: each summary is written (with the covering of its
  sources) in one transaction after its LLM call returned. An LLM error, a timeout or a
  database failure raises :class:`~bruno_memory.errors.CompressionError` and leaves the
  store as it was before that step (earlier steps stay, listed in the error's report).
- **Concurrency**: a step that finds its span taken (another run wrote it first) or gone
  (the history was cleared meanwhile) ends the run quietly; messages arriving meanwhile
  are only ever newer than what is summarized.

Messages are never changed or deleted: reads of the history are the same before and after.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Literal

from bruno_core.interfaces.llm import LLMInterface
from bruno_core.models.message import Message, MessageRole
from bruno_llm.base.cost_tracker import CostTracker
from pydantic import BaseModel, ConfigDict, Field

from bruno_memory.context.summaries import LLMUsage, Summary
from bruno_memory.context.tokens import TokenCounter, message_tokens, prompt_tokens
from bruno_memory.context.window import CUT_MARKER, transcript_line
from bruno_memory.db.types import as_utc, utc_now
from bruno_memory.errors import (
    BrunoMemoryError,
    CompressionError,
    ConflictError,
    MessageNotFoundError,
    translate_errors,
)
from bruno_memory.ports.storage import Storage, Summaries

#: Messages read per page while looking for eligible ones (memory stays bounded).
PAGE = 200
INSTRUCTIONS = (
    "You summarize part of a conversation between a user and an assistant, for the "
    "assistant's memory. Keep names, facts, preferences, decisions, dates and open "
    "questions; leave out greetings and filler. Write plain prose, at most {tokens} tokens."
)

#: Why a run ended as it did.
CompressionOutcome = Literal["compressed", "nothing_new", "below_policy", "concurrent"]


class CompressionPolicy(BaseModel):
    """When to summarize and in what pieces."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keep_recent: int = Field(default=20, ge=0, description="Newest messages never summarized.")
    max_messages: int | None = Field(
        default=40, ge=1, description="Summarize once this many messages are eligible."
    )
    max_tokens: int | None = Field(
        default=None, ge=1, description="Summarize once eligible messages hold this many tokens."
    )
    max_age: dt.timedelta | None = Field(
        default=None, description="Summarize once the oldest eligible message is this old."
    )
    chunk_messages: int = Field(default=40, ge=1, description="Most messages per summary.")
    chunk_tokens: int = Field(
        default=3_000, ge=64, description="Most transcript tokens sent per summary."
    )
    fanout: int = Field(
        default=4, ge=2, description="Summaries of one level merged into one of the next."
    )
    summary_tokens: int = Field(default=256, ge=16, description="max_tokens of each LLM call.")
    timeout_seconds: float = Field(default=120.0, gt=0, description="Longest LLM call.")
    prices: dict[str, dict[str, float]] | None = Field(
        default=None,
        description="Price per 1K tokens by model, bruno-llm's format "
        "({'gpt-4': {'input': 0.03, 'output': 0.06}}; a 'default' entry applies to others).",
    )


class CompressionReport(BaseModel):
    """What one run of :meth:`Memory.compress <bruno_memory.Memory.compress>` did."""

    conversation_id: str
    outcome: CompressionOutcome
    summaries: list[Summary] = Field(default_factory=list, description="Written, in order.")
    messages_summarized: int = 0

    @property
    def usage(self) -> list[LLMUsage]:
        """Each LLM call of the run."""
        return [summary.usage for summary in self.summaries]

    @property
    def input_tokens(self) -> int:
        return sum(usage.input_tokens for usage in self.usage)

    @property
    def output_tokens(self) -> int:
        return sum(usage.output_tokens for usage in self.usage)

    @property
    def cost(self) -> float | None:
        """Total cost, when the policy has a price table."""
        costs = [usage.cost for usage in self.usage if usage.cost is not None]
        return sum(costs) if costs else None


class _Raced(Exception):
    """Another run (or a clear) changed the conversation under this one."""


class Compressor:
    """One run over one conversation (see the module's rules)."""

    def __init__(
        self,
        storage: Storage,
        summaries: Summaries,
        conversation_id: str,
        *,
        llm: LLMInterface,
        policy: CompressionPolicy,
        counter: TokenCounter,
    ) -> None:
        self._storage = storage
        self._summaries = summaries
        self._conversation_id = conversation_id
        self._llm = llm
        self._policy = policy
        self._counter = counter
        self._report = CompressionReport(conversation_id=conversation_id, outcome="compressed")

    async def run(self) -> CompressionReport:
        """Summarize what the policy says; the report of what was written."""
        try:
            frontier = await self._summaries.list_summaries(self._conversation_id, covered=False)
            after = frontier[-1].last_message_id if frontier else None
            outcome = await self._trigger(after)
            if outcome is not None:
                self._report.outcome = outcome
                return self._report
            async for chunk in self._chunks(after):
                summary = await self._summarize_messages(chunk)
                await self._add(summary)
                self._report.messages_summarized += len(chunk)
                frontier = await self._merge([*frontier, summary])
        except _Raced:
            self._report.outcome = "concurrent"
        except CompressionError as exc:
            exc.report = self._report
            raise
        return self._report

    # -- what to summarize ---------------------------------------------------------------

    async def _messages_after(self, after: uuid.UUID | None) -> AsyncIterator[Message]:
        """Non-system messages after ``after`` (a message id or None), oldest first, each
        once the ``keep_recent`` newer ones behind it have been seen."""
        keep = self._policy.keep_recent
        trailing: deque[Message] = deque()
        cursor = after
        while True:
            try:
                page = await self._storage.page_messages(
                    self._conversation_id, after=cursor, before=None, limit=PAGE
                )
            except MessageNotFoundError as exc:  # the history was cleared meanwhile
                raise _Raced from exc
            for message in page:
                if message.role == MessageRole.SYSTEM:
                    continue
                trailing.append(message)
                if len(trailing) > keep:
                    yield trailing.popleft()
            if len(page) < PAGE:
                return
            cursor = page[-1].id

    async def _trigger(self, after: uuid.UUID | None) -> CompressionOutcome | None:
        """None when the eligible messages pass a threshold, else why not to run."""
        count = tokens = 0
        oldest: dt.datetime | None = None
        async for message in self._messages_after(after):
            count += 1
            tokens += message_tokens(self._counter, message)
            oldest = oldest or as_utc(message.timestamp)
            if _passes(self._policy, count, tokens, oldest):
                return None
        return "nothing_new" if count == 0 else "below_policy"

    async def _chunks(self, after: uuid.UUID | None) -> AsyncIterator[list[Message]]:
        """The eligible messages, in summary-sized chunks."""
        chunk: list[Message] = []
        spent = 0
        async for message in self._messages_after(after):
            cost = message_tokens(self._counter, message)
            if chunk and (
                len(chunk) >= self._policy.chunk_messages
                or spent + cost > self._policy.chunk_tokens
            ):
                yield chunk
                chunk, spent = [], 0
            chunk.append(message)
            spent += cost
        if chunk:
            yield chunk

    # -- summarizing ---------------------------------------------------------------------

    async def _summarize_messages(self, messages: Sequence[Message]) -> Summary:
        budget = max(self._policy.chunk_tokens // max(len(messages), 1), 16)
        lines = [self._clip(transcript_line(message), budget) for message in messages]
        content, usage = await self._call("\n".join(lines))
        return Summary(
            conversation_id=self._conversation_id,
            level=0,
            content=content,
            first_message_id=messages[0].id,
            last_message_id=messages[-1].id,
            span_start=messages[0].timestamp,
            span_end=messages[-1].timestamp,
            message_count=len(messages),
            source_ids=[message.id for message in messages],
            usage=usage,
            created_at=utc_now(),
        )

    async def _merge(self, frontier: list[Summary]) -> list[Summary]:
        """The frontier once every run of ``fanout`` same-level summaries is merged."""
        while (start := _full_run(frontier, self._policy.fanout)) is not None:
            run = frontier[start : start + self._policy.fanout]
            merged = await self._summarize_summaries(run)
            await self._add(merged)
            frontier = [*frontier[:start], merged, *frontier[start + len(run) :]]
        return frontier

    async def _summarize_summaries(self, run: Sequence[Summary]) -> Summary:
        parts = [
            f"Summary of {s.span_start:%Y-%m-%d %H:%M} to {s.span_end:%Y-%m-%d %H:%M}:\n{s.content}"
            for s in run
        ]
        content, usage = await self._call("\n\n".join(parts))
        return Summary(
            conversation_id=self._conversation_id,
            level=run[0].level + 1,
            content=content,
            first_message_id=run[0].first_message_id,
            last_message_id=run[-1].last_message_id,
            span_start=run[0].span_start,
            span_end=run[-1].span_end,
            message_count=sum(s.message_count for s in run),
            source_ids=[s.id for s in run],
            usage=usage,
            created_at=utc_now(),
        )

    async def _add(self, summary: Summary) -> None:
        try:
            with translate_errors("compress"):
                added = await self._summaries.add_summary(summary)
        except ConflictError as exc:  # a message of the span vanished as it was written
            raise _Raced from exc
        except BrunoMemoryError as exc:
            raise CompressionError(
                f"storing a summary failed: {exc}",
                details={"conversation_id": self._conversation_id},
                cause=exc,
            ) from exc
        if not added:
            raise _Raced
        self._report.summaries.append(summary)

    def _clip(self, text: str, max_tokens: int) -> str:
        if self._counter.count(text) <= max_tokens:
            return text
        return self._counter.truncate(text, max_tokens) + CUT_MARKER

    async def _call(self, transcript: str) -> tuple[str, LLMUsage]:
        """One LLM call: the summary text and its usage."""
        prompt = [
            Message(
                role=MessageRole.SYSTEM,
                content=INSTRUCTIONS.format(tokens=self._policy.summary_tokens),
            ),
            Message(role=MessageRole.USER, content=transcript),
        ]
        details = {"conversation_id": self._conversation_id}
        try:
            text = await asyncio.wait_for(
                self._llm.generate(prompt, temperature=0.0, max_tokens=self._policy.summary_tokens),
                timeout=self._policy.timeout_seconds,
            )
        except TimeoutError as exc:
            raise CompressionError(
                f"the LLM did not answer within {self._policy.timeout_seconds} s",
                details=details,
                cause=exc,
            ) from exc
        except Exception as exc:
            raise CompressionError(
                f"the LLM failed to summarize: {exc}", details=details, cause=exc
            ) from exc
        if not isinstance(text, str) or not text.strip():
            raise CompressionError("the LLM returned an empty summary", details=details)
        content = text.strip()
        usage = self._usage(prompt_tokens(self._counter, prompt), self._counter.count(content))
        return content, usage

    def _usage(self, input_tokens: int, output_tokens: int) -> LLMUsage:
        model = model_name(self._llm)
        cost = None
        if self._policy.prices is not None:
            tracker = CostTracker("bruno-memory", self._policy.prices)
            cost = tracker.track_request(model, input_tokens, output_tokens).total_cost
        return LLMUsage(
            model=model, input_tokens=input_tokens, output_tokens=output_tokens, cost=cost
        )


def model_name(llm: LLMInterface) -> str:
    """The model an LLM says it runs (``get_model_info()["model"]``), else its class name."""
    try:
        info = llm.get_model_info()
    except Exception:
        info = {}
    name = info.get("model") if isinstance(info, dict) else None
    return str(name) if name else type(llm).__name__


def _passes(policy: CompressionPolicy, count: int, tokens: int, oldest: dt.datetime) -> bool:
    """Whether ``count`` eligible messages of ``tokens`` tokens, the oldest from
    ``oldest``, pass one of the policy's thresholds (any, when it sets none)."""
    if policy.max_messages is None and policy.max_tokens is None and policy.max_age is None:
        return True
    return (
        (policy.max_messages is not None and count >= policy.max_messages)
        or (policy.max_tokens is not None and tokens >= policy.max_tokens)
        or (policy.max_age is not None and utc_now() - oldest >= policy.max_age)
    )


def _full_run(frontier: Sequence[Summary], fanout: int) -> int | None:
    """Where the oldest run of ``fanout`` consecutive summaries of one level starts."""
    for start in range(len(frontier) - fanout + 1):
        level = frontier[start].level
        if all(s.level == level for s in frontier[start : start + fanout]):
            return start
    return None
