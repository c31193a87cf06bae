"""Event sinks implementing :class:`~bruno_memory.ports.events.EventSink`: where the store
reports what happened (messages stored, sessions started...), and the consumer of Redis
Streams."""
