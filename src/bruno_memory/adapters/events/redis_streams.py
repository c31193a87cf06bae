"""An event sink writing to Redis Streams, which never fails the write that caused an event.

::

    sink = RedisStreamSink(RedisSettings(url="redis://127.0.0.1:6379/0", key_prefix="bruno"))
    await sink.publish([event])      # one pipelined round trip on a single server
    await sink.close()               # a last flush, then the connections are released

Streams and fields: :mod:`~bruno_memory.adapters.events.streams`; each stream is capped
with ``XADD ... MAXLEN ~ stream_maxlen``. Events wait in one bounded FIFO backlog until
Redis has taken them, so what an outage left goes out, in order, before newer events.
When Redis is down or silent for ``timeout``, ``publish`` returns without raising: one
warning per outage, counters in ``stats``, the oldest events dropped beyond
``buffer_size``. A background task retries with exponential backoff, PING first (so a
stalled server gets no more copies); so does a publish once the backoff has elapsed. A
write that timed out may still have landed and is then written twice (same ``id`` field).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import sys
import time
from collections import deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bruno_memory.adapters.events.streams import entry_fields, event_streams
from bruno_memory.adapters.redis.client import create_client
from bruno_memory.adapters.redis.errors import translate_redis_errors
from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.adapters.redis.settings import RedisSettings
from bruno_memory.errors import InvalidInputError, StorageError
from bruno_memory.ports.events import MemoryEvent

if TYPE_CHECKING:
    from bruno_memory.adapters.redis.client import RedisClient

logger = logging.getLogger("bruno_memory.events")

_T = TypeVar("_T")


class RedisStreamOptions(BaseModel):
    """How :class:`RedisStreamSink` caps streams, buffers and retries.

    Beyond ``buffer_size`` waiting events the oldest are dropped; the wait between retries
    starts at ``retry_initial`` and doubles up to ``retry_max``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream_maxlen: int = Field(10_000, ge=1, description="Entries a stream keeps (MAXLEN ~).")
    buffer_size: int = Field(10_000, ge=1, description="Events kept while Redis is down.")
    batch_size: int = Field(500, ge=1, description="Events per round trip when draining.")
    timeout: float = Field(1.0, gt=0, description="Seconds before a write counts as failed.")
    retry_initial: float = Field(0.1, gt=0, description="Seconds to the first retry.")
    retry_max: float = Field(5.0, gt=0, description="Longest wait between retries.")
    close_timeout: float = Field(2.0, gt=0, description="Seconds close() spends writing.")


@dataclass(frozen=True)
class SinkStats:
    """What a sink did since it was made.

    ``published``: events written to all their streams; ``buffered``: events waiting to be
    written now; ``dropped``: events given up (backlog full, refused by Redis, not
    writable at all, or left when :meth:`RedisStreamSink.close` gave up); ``errors``:
    failed attempts to reach Redis and appends Redis refused; ``down``: whether Redis
    counts as unreachable now.
    """

    published: int
    buffered: int
    dropped: int
    errors: int
    down: bool


@dataclass
class _Pending:
    """An event in the backlog: the appends (stream, fields) still to be made."""

    appends: list[tuple[str, dict[str, str]]]
    refused: bool = False


class RedisStreamSink:
    """Appends every published event to its user's and its conversation's stream.

    ``redis`` says where Redis is and which key prefix to use (default: from the
    ``BRUNO_MEMORY_REDIS_*`` environment); the client is made at once and connects on first
    use. Implements :class:`~bruno_memory.ports.events.EventSink`: see the module
    documentation for ordering, buffering and recovery.
    """

    def __init__(
        self, redis: RedisSettings | None = None, *, options: RedisStreamOptions | None = None
    ) -> None:
        self.redis = redis if redis is not None else RedisSettings()
        self.options = options if options is not None else RedisStreamOptions()
        self._client: RedisClient = create_client(self.redis)
        self._keys = KeySpace(self.redis.key_prefix)
        self._backlog: deque[_Pending] = deque()
        self._in_flight = 0
        self._writing = asyncio.Lock()
        self._published = self._dropped = self._errors = 0
        self._down_since: float | None = None
        self._overflowed = False
        self._backoff = 0.0
        self._retry_at = 0.0
        self._recovery: asyncio.Task[None] | None = None

    @property
    def stats(self) -> SinkStats:
        """Counters for metrics (a snapshot)."""
        return SinkStats(
            published=self._published,
            buffered=len(self._backlog) + self._in_flight,
            dropped=self._dropped,
            errors=self._errors,
            down=self._down_since is not None,
        )

    async def publish(self, events: Sequence[MemoryEvent]) -> None:
        """Append ``events``, in order, after any backlog; never raises for Redis failures.

        While Redis is down this only queues them, unless the retry backoff has elapsed.
        """
        for event in events:
            self._enqueue(event)
        if self._down_since is not None and (
            self._writing.locked() or time.monotonic() < self._retry_at
        ):
            return
        await self._flush()

    async def close(self) -> None:
        """Write what is left (within ``close_timeout``), then release the connections.

        Events still unwritten are dropped and counted. The sink can be used again.
        """
        with contextlib.suppress(asyncio.TimeoutError):
            await _within(self.options.close_timeout, self._flush(forced=True))
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
            self._recovery = None
        if self._backlog:
            logger.warning(
                "closing the event sink: %d unwritten events dropped", len(self._backlog)
            )
            self._dropped += len(self._backlog)
            self._backlog.clear()
        await self._client.aclose()

    # -- the backlog -----------------------------------------------------------------------

    def _enqueue(self, event: MemoryEvent) -> None:
        try:
            fields = entry_fields(event)
            streams = event_streams(self._keys, event)
            if not streams:
                raise InvalidInputError("it names no user and no conversation")
            for text in (*streams, *fields.values()):
                text.encode()  # a lone surrogate in an id would fail the whole pipeline
        except (InvalidInputError, UnicodeError) as exc:
            logger.warning("an event cannot be written to Redis and is dropped: %s", exc)
            self._dropped += 1
            return
        self._backlog.append(_Pending([(stream, fields) for stream in streams]))
        self._trim()

    def _trim(self) -> None:
        excess = min(
            len(self._backlog) + self._in_flight - self.options.buffer_size, len(self._backlog)
        )
        if excess <= 0:
            return
        for _ in range(excess):
            self._backlog.popleft()
        self._dropped += excess
        if not self._overflowed:
            logger.warning(
                "event backlog full (%d): dropping the oldest events", self.options.buffer_size
            )
            self._overflowed = True

    async def _flush(self, *, forced: bool = False) -> None:
        """Write the backlog, batch by batch, until it is empty or Redis fails. While
        Redis counts as down, only once the backoff has elapsed (or when ``forced``)."""
        async with self._writing:
            if self._down_since is not None and not await self._answers(forced=forced):
                return
            while self._backlog:
                size = min(len(self._backlog), self.options.batch_size)
                batch = [self._backlog.popleft() for _ in range(size)]
                self._in_flight = size
                try:
                    written = await self._write(batch)
                finally:  # also when cancelled: nothing in flight is lost
                    self._in_flight = 0
                    self._backlog.extendleft(reversed([p for p in batch if p.appends]))
                    self._trim()
                if not written:
                    return
            self._recovered()

    async def _answers(self, *, forced: bool) -> bool:
        """Whether a Redis counted as down answers a PING now (if the backoff allows)."""
        if not forced and time.monotonic() < self._retry_at:
            return False
        try:
            with translate_redis_errors("ping"):
                await _within(self.options.timeout, self._client.ping())
        except StorageError as exc:
            self._failed(exc)
            return False
        return True

    async def _write(self, batch: list[_Pending]) -> bool:
        """One pipeline of XADDs; appends Redis took or refused for good leave the batch.
        Returns whether Redis answered every append."""
        pipe = self._client.pipeline(transaction=False)
        for pending in batch:
            for stream, fields in pending.appends:
                pipe.xadd(
                    stream,
                    fields,  # type: ignore[arg-type]  # redis-py: dict[FieldT, EncodableT]
                    maxlen=self.options.stream_maxlen,
                    approximate=True,
                )
        try:
            with translate_redis_errors("publish events"):
                results = await _within(self.options.timeout, pipe.execute(raise_on_error=False))
        except StorageError as exc:
            self._failed(exc)
            return False
        replies = iter(results)
        failure: Exception | None = None
        for pending in batch:
            unanswered = []
            for append in pending.appends:
                reply = next(replies)
                if not isinstance(reply, Exception):
                    continue
                if _refused(reply):
                    logger.warning("Redis refused an event for %s: %s", append[0], reply)
                    self._errors += 1
                    pending.refused = True
                else:
                    unanswered.append(append)
                    failure = failure or reply
            pending.appends = unanswered
            if unanswered:
                continue
            if pending.refused:
                self._dropped += 1
            else:
                self._published += 1
        if failure is not None:
            self._failed(failure)
        return failure is None

    # -- outages ---------------------------------------------------------------------------

    def _failed(self, exc: BaseException) -> None:
        self._errors += 1
        now = time.monotonic()
        if self._down_since is None:
            reason = exc.message if isinstance(exc, StorageError) else exc
            logger.warning("Redis does not take events (%s): buffering them, retrying", reason)
            self._down_since = now
            self._backoff = self.options.retry_initial
        else:
            self._backoff = min(self._backoff * 2, self.options.retry_max)
        self._retry_at = now + self._backoff
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover())

    def _recovered(self) -> None:
        if self._down_since is None:
            return
        logger.info(
            "Redis takes events again: backlog written after %.1f s",
            time.monotonic() - self._down_since,
        )
        self._down_since = None
        self._overflowed = False

    async def _recover(self) -> None:
        """Retry until Redis takes the backlog (the task of an outage)."""
        while self._down_since is not None:
            await asyncio.sleep(max(0.0, self._retry_at - time.monotonic()))
            await self._flush()


async def _within(seconds: float, awaitable: Awaitable[_T]) -> _T:
    """``awaitable``, cancelled after ``seconds`` (asyncio.TimeoutError): on Python 3.11+
    without the task ``wait_for`` makes, a cost a publish would notice."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)


def _refused(reply: Exception) -> bool:
    """Whether a pipeline reply is an error that retrying would repeat (a wrong key type,
    say), rather than one of a server that is unavailable for now."""
    exceptions = importlib.import_module("redis.exceptions")  # loaded with the client
    transient = (
        exceptions.OutOfMemoryError,
        exceptions.ReadOnlyError,
        exceptions.TryAgainError,
        exceptions.ClusterDownError,
        exceptions.AskError,
    )
    return isinstance(reply, exceptions.ResponseError) and not isinstance(reply, transient)
