"""bruno-core events: what the facade publishes on a bruno-core ``EventBus`` it was given.

The facade calls one method per kind of change once the storage call returned, so once its
writes committed (a write that failed publishes nothing). Being above the storage port, the
rule is the same on every storage. Events are bruno-core's own models and types:

- ``session.started`` / ``session.ended`` (a ``SessionEvent``) for a session created, started
  by ``get_context`` or ``build_context``, or ended;
- ``context.updated`` once per ``store_message`` / ``store_messages`` call (not per message),
  ``context.cleared`` per ``clear_history``;
- ``compression.triggered`` per ``compress`` run, with the report's figures.

Publishing never fails the write: bruno-core's bus logs a failing subscriber itself, and a
bus that raises is logged here (``bruno_memory.bus``); the data stays committed.

The SQL storage's :class:`~bruno_memory.managers.changes.ChangeFeed` is the same idea below
the port, for what only that storage has (its cache, vector index and Redis Streams); these
events are the facade's, so the Redis and in-memory storages publish them too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bruno_core.events.bus import EventBus
from bruno_core.events.types import Event, EventType, SessionEvent
from bruno_core.models.context import SessionContext
from bruno_core.models.message import Message

from bruno_memory.context.compression import CompressionReport

logger = logging.getLogger(__name__)

#: The ``source`` metadata of every event published here.
SOURCE = "bruno_memory"


class CoreEvents:
    """Publishes bruno-core events on ``bus`` (nothing without one)."""

    def __init__(self, bus: EventBus | None) -> None:
        self.bus = bus

    @property
    def enabled(self) -> bool:
        """Whether events are published (the facade skips reads only events need)."""
        return self.bus is not None

    async def session_started(self, session: SessionContext) -> None:
        await self._session(EventType.SESSION_STARTED, session)

    async def session_ended(self, session: SessionContext) -> None:
        await self._session(EventType.SESSION_ENDED, session)

    async def context_updated(
        self, conversation_id: str, user_id: str | None, messages: Sequence[Message]
    ) -> None:
        """Messages were stored, in one call, into ``user_id``'s conversation (None:
        unowned)."""
        await self._context(
            EventType.CONTEXT_UPDATED,
            conversation_id,
            user_id=user_id,
            message_ids=[str(message.id) for message in messages],
            message_count=len(messages),
        )

    async def context_cleared(self, conversation_id: str, *, kept_system: bool) -> None:
        """A conversation's messages were deleted."""
        await self._context(EventType.CONTEXT_CLEARED, conversation_id, kept_system=kept_system)

    async def compression_triggered(self, report: CompressionReport) -> None:
        """A compression run ended, with its figures."""
        await self._context(
            EventType.COMPRESSION_TRIGGERED,
            report.conversation_id,
            outcome=report.outcome,
            messages_summarized=report.messages_summarized,
            summaries=len(report.summaries),
            summary_ids=[str(summary.id) for summary in report.summaries],
            input_tokens=report.input_tokens,
            output_tokens=report.output_tokens,
            cost=report.cost,
        )

    async def _session(self, kind: EventType, session: SessionContext) -> None:
        if self.bus is not None:
            event = SessionEvent(
                event_type=kind,
                session_id=session.session_id,
                user_id=session.user_id,
                conversation_id=session.conversation_id,
                metadata={"source": SOURCE},
            )
            await self._publish(event)

    async def _context(self, kind: EventType, conversation_id: str, **data: Any) -> None:
        if self.bus is not None:
            data = {"conversation_id": conversation_id, **data}
            await self._publish(Event(event_type=kind, data=data, metadata={"source": SOURCE}))

    async def _publish(self, event: Event) -> None:
        assert self.bus is not None
        try:
            await self.bus.publish(event)
        except Exception:  # the write committed: a bus failure must not undo it
            logger.warning("publishing %s failed", event.event_type, exc_info=True)
