"""bruno-core event buses for the tests: one that records, one that fails."""

from __future__ import annotations

from bruno_core.events.bus import EventBus
from bruno_core.events.types import Event, EventType


class RecordingBus(EventBus):
    """A bruno-core bus that keeps every event it was given, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []
        self.subscribe_all(self.events.append)

    def of(self, kind: EventType) -> list[Event]:
        """The events of one type, in order."""
        return [event for event in self.events if event.event_type == kind]


class BrokenBus(EventBus):
    """A bus whose publish itself raises."""

    async def publish(self, event: Event) -> None:
        raise RuntimeError("the bus is down")
