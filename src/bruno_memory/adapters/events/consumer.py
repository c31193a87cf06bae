"""Reading the event streams: live tailing and consumer groups (at-least-once delivery).

::

    async with RedisEventStream(settings) as stream:
        async for item in stream.follow(conversation_id="c1"):      # what happens from now
            print(item.event.type, item.event.message_ids)

        async for item in stream.follow_group("indexer", "worker-1", user_id="alice"):
            await index(item.event)
            await item.ack()                                          # or it comes again

A consumer group hands each entry to one of its consumers and keeps it pending until it
is acknowledged: a consumer that starts again first gets the entries it was given and did
not acknowledge, and with ``claim_idle_ms`` it also takes over the entries other consumers
left unacknowledged that long (consumers that died). Delivery is at least once, so
handlers should be idempotent; ``StreamedEvent.event_id`` identifies an event.

The iterators run until the caller stops: break out (``contextlib.aclosing`` closes the
iterator at once) or cancel the task. A Redis that fails raises
:class:`~bruno_memory.errors.StorageError`; following again resumes where it says.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from bruno_memory.adapters.events.streams import StreamedEvent, parse_entry, stream_key
from bruno_memory.adapters.redis.client import create_client
from bruno_memory.adapters.redis.errors import translate_redis_errors
from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.adapters.redis.settings import RedisSettings
from bruno_memory.errors import ConfigurationError

if TYPE_CHECKING:
    from bruno_memory.adapters.redis.client import RedisClient

logger = logging.getLogger("bruno_memory.events")

#: A stream entry: its id and its fields.
Entry = tuple[str, Mapping[str, str]]
Entries = list[Entry]


class RedisEventStream:
    """Follows the streams :class:`~bruno_memory.adapters.events.redis_streams.RedisStreamSink`
    writes, under the same ``redis`` settings (default: from the environment).

    Each iterator holds a pooled connection while it waits, at most ``block_ms`` at a time,
    which must stay below the settings' ``socket_timeout``.
    """

    def __init__(self, redis: RedisSettings | None = None) -> None:
        self.redis = redis if redis is not None else RedisSettings()
        self._client: RedisClient = create_client(self.redis)
        self._keys = KeySpace(self.redis.key_prefix)

    async def close(self) -> None:
        """Release the connections (the stream can be used again)."""
        await self._client.aclose()

    async def __aenter__(self) -> RedisEventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def follow(
        self,
        *,
        user_id: str | None = None,
        conversation_id: str | None = None,
        from_id: str = "$",
        block_ms: int = 1000,
        count: int = 100,
    ) -> AsyncIterator[StreamedEvent]:
        """The events of one user's or one conversation's stream, as they come (XREAD).

        ``from_id="$"`` starts with the events published after the first step of the
        iteration, ``"0"`` with the oldest the stream keeps, an entry id after that entry.
        """
        stream = stream_key(self._keys, user_id=user_id, conversation_id=conversation_id)
        self._check_block(block_ms)
        last = from_id
        if from_id == "$":  # pinned now, so nothing published between two reads is missed
            newest = await self._call("follow", self._client.xrevrange(stream, count=1))
            last = newest[0][0] if newest else "0-0"
        while True:
            reply = await self._call(
                "follow", self._client.xread({stream: last}, count=count, block=block_ms)
            )
            for entry_id, fields in _entries(reply):
                last = entry_id
                item = _parsed(stream, entry_id, fields)
                if item is not None:
                    yield item

    async def create_group(
        self,
        group: str,
        *,
        user_id: str | None = None,
        conversation_id: str | None = None,
        start_id: str = "$",
    ) -> None:
        """Create consumer group ``group`` on a stream (and the stream) unless it exists.

        ``start_id="$"``: the group gets the events published from now on; ``"0"``: also
        those the stream holds.
        """
        stream = stream_key(self._keys, user_id=user_id, conversation_id=conversation_id)
        await self._create_group(stream, group, start_id)

    async def follow_group(
        self,
        group: str,
        consumer: str,
        *,
        user_id: str | None = None,
        conversation_id: str | None = None,
        start_id: str = "$",
        block_ms: int = 1000,
        count: int = 100,
        claim_idle_ms: int | None = None,
    ) -> AsyncIterator[StreamedEvent]:
        """The events a consumer group gives ``consumer``; acknowledge each with ``ack()``.

        Creates the group if needed (see :meth:`create_group` for ``start_id``), then
        yields the consumer's pending entries (given to it before and not acknowledged),
        then new entries (XREADGROUP ``>``). With ``claim_idle_ms``, entries other
        consumers left unacknowledged that long are claimed (XAUTOCLAIM) and yielded too:
        on start and whenever no new entry came within ``block_ms``.
        """
        stream = stream_key(self._keys, user_id=user_id, conversation_id=conversation_id)
        self._check_block(block_ms)
        await self._create_group(stream, group, start_id)
        entries = self._group_entries(stream, group, consumer, count, block_ms, claim_idle_ms)
        async for entry_id, fields in entries:
            if item := await self._delivered(stream, group, entry_id, fields):
                yield item

    # -- helpers ---------------------------------------------------------------------------

    async def _group_entries(
        self,
        stream: str,
        group: str,
        consumer: str,
        count: int,
        block_ms: int,
        claim_idle_ms: int | None,
    ) -> AsyncIterator[Entry]:
        """The consumer's pending entries, then new ones, with claimed ones on start and
        after every read that found nothing new."""
        last = "0"  # first, what the group gave this consumer and it did not acknowledge
        while pending := await self._read_group(stream, group, consumer, last, count):
            for entry in pending:
                yield entry
            last = pending[-1][0]
        idle = True
        while True:
            if idle and claim_idle_ms is not None:
                async for entry in self._claim(stream, group, consumer, claim_idle_ms):
                    yield entry
            new = await self._read_group(stream, group, consumer, ">", count, block_ms)
            for entry in new:
                yield entry
            idle = not new

    async def _read_group(
        self,
        stream: str,
        group: str,
        consumer: str,
        after: str,
        count: int,
        block_ms: int | None = None,
    ) -> Entries:
        """XREADGROUP: new entries (``after=">"``) or the consumer's pending ones after an id."""
        reply = self._client.xreadgroup(
            group, consumer, {stream: after}, count=count, block=block_ms
        )
        return _entries(await self._call("follow_group", reply))

    async def _claim(
        self, stream: str, group: str, consumer: str, idle_ms: int
    ) -> AsyncIterator[Entry]:
        """Take over every entry of the group idle for ``idle_ms`` (XAUTOCLAIM)."""
        start = "0-0"
        while True:
            reply = await self._call(
                "claim", self._client.xautoclaim(stream, group, consumer, idle_ms, start)
            )
            for entry in cast("Entries", reply[1]):
                yield entry
            start = reply[0]
            if start == "0-0":
                return

    async def _delivered(
        self, stream: str, group: str, entry_id: str, fields: Mapping[str, str]
    ) -> StreamedEvent | None:
        """The event of a group's entry; an entry that holds none (deleted by MAXLEN
        before it was handled, or not the sink's) is acknowledged and skipped."""
        acknowledge = functools.partial(self._ack, stream, group, entry_id)
        item = _parsed(stream, entry_id, fields, acknowledge)
        if item is None:
            await acknowledge()
        return item

    async def _ack(self, stream: str, group: str, entry_id: str) -> None:
        await self._call("ack", self._client.xack(stream, group, entry_id))

    async def _create_group(self, stream: str, group: str, start_id: str) -> None:
        with translate_redis_errors("create consumer group"):
            try:
                await self._client.xgroup_create(stream, group, id=start_id, mkstream=True)
            except Exception as exc:  # redis-py's ResponseError; the group exists: fine
                if not str(exc).startswith("BUSYGROUP"):
                    raise

    def _check_block(self, block_ms: int) -> None:
        if not 0 < block_ms < self.redis.socket_timeout * 1000:
            raise ConfigurationError(
                f"block_ms must be positive and below socket_timeout "
                f"({self.redis.socket_timeout} s), or the read times out: got {block_ms}"
            )

    @staticmethod
    async def _call(operation: str, reply: Awaitable[Any]) -> Any:
        with translate_redis_errors(operation):
            return await reply


def _entries(reply: Any) -> Entries:
    """The entries of an XREAD/XREADGROUP reply on one stream."""
    return cast("Entries", reply[0][1]) if reply else []


def _parsed(
    stream: str,
    entry_id: str,
    fields: Mapping[str, str],
    acknowledge: Callable[[], Awaitable[None]] | None = None,
) -> StreamedEvent | None:
    try:
        return parse_entry(stream, entry_id, fields, acknowledge)
    except (KeyError, ValueError) as exc:
        logger.warning("skipping stream entry %s of %s: no event in it (%r)", entry_id, stream, exc)
        return None
