"""Event sinks: where the store reports what happened (messages stored, sessions started...)."""

from bruno_memory.adapters.events.base import EventSink, MemoryEvent, MemoryEventType

__all__ = ["EventSink", "MemoryEvent", "MemoryEventType"]
