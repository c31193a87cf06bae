"""Summaries of conversation spans: what compression writes and ``build_context`` reads.

A summary of level 0 covers a contiguous span of a conversation's messages; a summary of
level *n* covers a run of level *n-1* summaries (and so their messages). A summary that a
higher level has taken in is ``covered_by`` it. The uncovered summaries of a conversation
(its *frontier*) are disjoint, chronological and together cover every summarized message
once: that is what a context shows for the history that no longer fits. Messages are never
changed or deleted by summarizing them.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class LLMUsage(BaseModel):
    """One LLM call: the model, tokens in and out, and its cost when a price table is given."""

    model_config = ConfigDict(frozen=True)

    model: str
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cost: float | None = Field(
        default=None, description="In the price table's currency; None without one."
    )


class Summary(BaseModel):
    """A summary of a contiguous span of one conversation."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    conversation_id: str
    level: int = Field(ge=0, description="0: of messages; n: of level n-1 summaries.")
    content: str
    first_message_id: uuid.UUID
    last_message_id: uuid.UUID
    span_start: dt.datetime = Field(description="Timestamp of the span's first message.")
    span_end: dt.datetime = Field(description="Timestamp of the span's last message.")
    message_count: int = Field(ge=1, description="Messages the span holds.")
    source_ids: list[uuid.UUID] = Field(
        description="What was summarized: message ids (level 0) or summary ids."
    )
    covered_by: uuid.UUID | None = Field(
        default=None, description="The higher-level summary that took this one in."
    )
    usage: LLMUsage
    created_at: dt.datetime
