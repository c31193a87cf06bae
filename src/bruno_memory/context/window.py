"""What :meth:`Memory.build_context <bruno_memory.Memory.build_context>` returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from bruno_core.models.context import ConversationContext, SessionContext, UserContext
from bruno_core.models.memory import MemoryEntry
from bruno_core.models.message import Message, MessageRole
from pydantic import BaseModel, ConfigDict, Field

from bruno_memory.context.summaries import Summary

#: How a context is filled: the newest messages only (``recent``); what is relevant to the
#: query first (``semantic``); the most important memories first (``importance``); or a
#: share of the budget for each (``hybrid``).
ContextStrategy = Literal["recent", "semantic", "importance", "hybrid"]
#: Why an item was left out: it did not fit, or it was already in the context.
OmissionReason = Literal["budget", "duplicate"]
#: Appended to a message cut to fit the budget.
CUT_MARKER = " […cut to fit the context]"
SUMMARY_HEADER = "Summary of the earlier conversation:"
MEMORY_HEADER = "Relevant memories:"
RECALL_HEADER = "Earlier in this conversation:"


class Omission(BaseModel):
    """An item the builder considered and left out."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["message", "memory", "summary"]
    item_id: str
    reason: OmissionReason
    tokens: int = Field(description="What the item would have cost.")


class ContextWindow(BaseModel):
    """The context of one turn, within a token budget.

    ``messages`` is the recent window (chronological; the conversation's system messages
    and its newest user message are always in it), ``recalled`` older messages brought back
    by relevance (chronological, each once), ``memories`` the user's memories chosen,
    ``summaries`` the summaries of history older than the window (chronological).
    :meth:`to_messages` is what to send to an LLM; its token count is ``token_count``,
    never above ``max_tokens`` minus the reserve.
    """

    conversation_id: str
    session: SessionContext
    user_context: UserContext
    messages: list[Message]
    recalled: list[Message] = Field(default_factory=list)
    memories: list[MemoryEntry] = Field(default_factory=list)
    summaries: list[Summary] = Field(default_factory=list)
    token_count: int
    max_tokens: int
    reserve_tokens: int = 0
    strategy: ContextStrategy
    omitted: list[Omission] = Field(default_factory=list)
    cut: list[str] = Field(
        default_factory=list, description="Ids of messages shortened to fit (marked in text)."
    )

    def to_messages(self) -> list[Message]:
        """Messages ready for an LLM: system messages first, then the summary, memory and
        recall notes (as system messages), then the rest of the window, chronologically."""
        return prompt(self.messages, self.summaries, self.memories, self.recalled)

    def to_conversation_context(self) -> ConversationContext:
        """The same context as bruno-core's ``ConversationContext``."""
        messages = self.to_messages()
        return ConversationContext(
            conversation_id=self.conversation_id,
            user=self.user_context,
            session=self.session,
            messages=messages,
            max_messages=max(len(messages), 1),
        )


def prompt(
    window: list[Message],
    summaries: list[Summary],
    memories: list[MemoryEntry],
    recalled: list[Message],
) -> list[Message]:
    """The window's system messages, then the notes, then the rest of the window."""
    system = [m for m in window if m.role == MessageRole.SYSTEM]
    rest = [m for m in window if m.role != MessageRole.SYSTEM]
    return [*system, *notes(summaries, memories, recalled), *rest]


def notes(
    summaries: list[Summary], memories: list[MemoryEntry], recalled: list[Message]
) -> list[Message]:
    """The system messages that carry summaries, memories and recalled messages to the LLM."""
    found = []
    if summaries:
        lines = [SUMMARY_HEADER, *(summary_line(summary) for summary in summaries)]
        found.append(Message(role=MessageRole.SYSTEM, content="\n".join(lines)))
    if memories:
        lines = [MEMORY_HEADER, *(memory_line(entry) for entry in memories)]
        found.append(Message(role=MessageRole.SYSTEM, content="\n".join(lines)))
    if recalled:
        lines = [RECALL_HEADER, *recall_lines(recalled)]
        found.append(Message(role=MessageRole.SYSTEM, content="\n".join(lines)))
    return found


def summary_line(summary: Summary) -> str:
    """How a summary reads in the summary note."""
    return f"- [{summary.span_start:%Y-%m-%d %H:%M} to {summary.span_end:%Y-%m-%d %H:%M}] " + (
        summary.content
    )


def memory_line(entry: MemoryEntry) -> str:
    """How a memory reads in the memory note."""
    return f"- {entry.content}"


def transcript_line(message: Message) -> str:
    """How a message reads in a transcript (what compression summarizes): when, who, what."""
    role = MessageRole(message.role).value
    return f"- [{message.timestamp:%Y-%m-%d %H:%M}] {role}: {message.content}"


def recall_day(message: Message) -> str:
    """The line that opens a day's recalled messages in the recall note (a bracketed date
    costs two tokens more)."""
    return f"{message.timestamp:%Y-%m-%d}:"


def recall_line(message: Message) -> str:
    """How a recalled message reads in the recall note, under its day's line: its role, then
    its text (a line of its own needs no bullet, which would cost a token a message)."""
    return f"{MessageRole(message.role).value}: {message.content}"


def recall_lines(recalled: Sequence[Message]) -> list[str]:
    """The recall note's lines: the messages chronologically, each day's opened by its
    :func:`recall_day` line (a day costs its line once, not a timestamp per message)."""
    lines: list[str] = []
    day = None
    for message in sorted(recalled, key=lambda m: m.timestamp):
        if recall_day(message) != day:
            day = recall_day(message)
            lines.append(day)
        lines.append(recall_line(message))
    return lines
