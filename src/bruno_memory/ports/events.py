"""The event port: the store publishes an event after each committed change it reports.

Events are facts about committed data (never sent for a write that rolled back). A sink that
cannot deliver must not fail the write that caused the event: the data is in the store; the
sink logs, counts and, where it can, buffers and retries.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, Field


class MemoryEventType(str, enum.Enum):
    """What happened."""

    MESSAGES_STORED = "messages_stored"
    SESSION_STARTED = "session_started"
    SESSION_ENDED = "session_ended"


class MemoryEvent(BaseModel):
    """One committed change, as consumers see it."""

    type: MemoryEventType
    user_id: str | None = Field(default=None, description="the owner, when known")
    conversation_id: str | None = None
    session_id: str | None = None
    message_ids: list[str] = Field(default_factory=list, description="for messages_stored")
    at: dt.datetime = Field(description="when the change was committed (aware UTC)")


class EventSink(Protocol):
    """Where events go."""

    async def publish(self, events: Sequence[MemoryEvent]) -> None:
        """Deliver events, in order; never raise for a delivery failure."""

    async def close(self) -> None:
        """Flush what can be flushed and release connections."""


class EventStream(Protocol):
    """A reader of the events a store published (the Redis Streams reader is
    :class:`~bruno_memory.adapters.events.consumer.RedisEventStream`); usable as
    ``async with``."""

    async def close(self) -> None:
        """Release the connections (the stream can be used again)."""
