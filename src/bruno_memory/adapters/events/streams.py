"""How events are laid out in Redis Streams; shared by the sink and the consumers.

::

    <p>:{user:U}:events    stream   every event of user U
    <p>:{conv:C}:events    stream   every event of conversation C

Each stream has its user's or its conversation's hash tag, so on a Redis Cluster it lives
in the slot of that user's or that conversation's other keys (see
:mod:`bruno_memory.adapters.redis.keys`). An event goes to both streams; an event without a
user only to its conversation's. An entry has three fields:

- ``type``: the event type (``messages_stored``...), to filter without parsing JSON;
- ``event``: the :class:`~bruno_memory.ports.events.MemoryEvent` as JSON;
- ``id``: a random id given to the event when it was published, the same in both streams.
  Writing is at least once: a write that timed out may have landed and is written again,
  so a consumer that must not see an event twice skips ids it has seen.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from bruno_memory.adapters.redis.codec import decode, encode
from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.errors import InvalidInputError
from bruno_memory.ports.events import MemoryEvent

TYPE_FIELD = "type"
EVENT_FIELD = "event"
ID_FIELD = "id"


def stream_key(keys: KeySpace, *, user_id: str | None, conversation_id: str | None) -> str:
    """The stream of one user or of one conversation (exactly one of them must be given)."""
    if (user_id is None) == (conversation_id is None):
        raise InvalidInputError("name a user_id or a conversation_id (one of them)")
    if user_id is not None:
        return f"{keys.user(user_id).base}:events"
    assert conversation_id is not None
    return f"{keys.conversation(conversation_id).base}:events"


def event_streams(keys: KeySpace, event: MemoryEvent) -> list[str]:
    """The streams ``event`` is appended to: its user's, then its conversation's."""
    streams = []
    if event.user_id is not None:
        streams.append(stream_key(keys, user_id=event.user_id, conversation_id=None))
    if event.conversation_id is not None:
        streams.append(stream_key(keys, user_id=None, conversation_id=event.conversation_id))
    return streams


def entry_fields(event: MemoryEvent) -> dict[str, str]:
    """The fields of the entries of ``event``, with a new event id.

    Raises :class:`~bruno_memory.errors.InvalidInputError` for a value Redis cannot carry.
    """
    return {TYPE_FIELD: event.type.value, EVENT_FIELD: encode(event), ID_FIELD: uuid.uuid4().hex}


async def _nothing_to_acknowledge() -> None:
    """The acknowledgement of an entry read outside a consumer group."""


@dataclass(frozen=True)
class StreamedEvent:
    """An event read from a stream.

    ``entry_id`` is the entry's id in the stream (``<ms>-<seq>``), ``stream`` the stream's
    key and ``event_id`` the id the event got when it was published (the same in both of
    its streams).
    """

    event: MemoryEvent
    entry_id: str
    stream: str
    event_id: str
    _acknowledge: Callable[[], Awaitable[None]] = field(
        default=_nothing_to_acknowledge, repr=False, compare=False
    )

    async def ack(self) -> None:
        """Acknowledge the entry (XACK) so its consumer group never delivers it again.

        Read by :meth:`~bruno_memory.adapters.events.consumer.RedisEventStream.follow`,
        outside any group, there is nothing to acknowledge and this does nothing.
        """
        await self._acknowledge()


def parse_entry(
    stream: str,
    entry_id: str,
    fields: Mapping[str, str],
    acknowledge: Callable[[], Awaitable[None]] | None = None,
) -> StreamedEvent:
    """The event of one stream entry, acknowledged by ``acknowledge`` (none: nothing to
    acknowledge). Raises ``ValueError`` (pydantic's ValidationError among them) or
    ``KeyError`` for an entry the sink did not write."""
    return StreamedEvent(
        event=decode(MemoryEvent, fields[EVENT_FIELD]),
        entry_id=entry_id,
        stream=stream,
        event_id=fields[ID_FIELD],
        _acknowledge=acknowledge or _nothing_to_acknowledge,
    )
