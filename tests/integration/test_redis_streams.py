"""Events in Redis Streams on a real server: the sink (keys, order, MAXLEN, outages) and
the consumers (tailing, consumer groups, redelivery, claiming), also on a Redis Cluster."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing

import pytest
import redis
from redis.crc import key_slot

from bruno_memory.adapters.events.consumer import RedisEventStream
from bruno_memory.adapters.events.redis_streams import RedisStreamOptions, RedisStreamSink
from bruno_memory.adapters.events.streams import StreamedEvent, stream_key
from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.adapters.redis.settings import RedisSettings
from bruno_memory.errors import ConfigurationError, InvalidInputError
from bruno_memory.ports.events import MemoryEvent, MemoryEventType
from tests.conftest import selected_targets
from tests.redis_servers import (
    delete_prefix,
    free_ports,
    private_server,
    redis_cluster,
    restartable_server,
    skip_unless_selected,
    unique_prefix,
)

#: Retry soon and give up a write quickly: outages in these tests last a second or two.
FAST = {"timeout": 0.3, "retry_initial": 0.05, "retry_max": 0.2}


@pytest.fixture(scope="module", autouse=True)
def _redis_selected(request: pytest.FixtureRequest) -> None:
    skip_unless_selected(selected_targets(request.config))


@pytest.fixture
def settings(server_url: str, plain: redis.Redis) -> Iterator[RedisSettings]:
    """The machine's Redis under a key prefix of the test's own (deleted after)."""
    prefix = unique_prefix()
    yield RedisSettings(url=server_url, key_prefix=prefix)
    delete_prefix(plain, prefix)


@pytest.fixture
async def sink(settings: RedisSettings) -> AsyncIterator[RedisStreamSink]:
    sink = RedisStreamSink(settings)
    yield sink
    await sink.close()


@pytest.fixture
async def stream(settings: RedisSettings) -> AsyncIterator[RedisEventStream]:
    async with RedisEventStream(settings) as stream:
        yield stream


def event(
    n: int,
    *,
    user: str | None = "alice",
    conversation: str = "c1",
    kind: MemoryEventType = MemoryEventType.MESSAGES_STORED,
) -> MemoryEvent:
    """Event number ``n`` (its only message id is ``m<n>``)."""
    return MemoryEvent(
        type=kind,
        user_id=user,
        conversation_id=conversation,
        message_ids=[f"m{n}"],
        at=dt.datetime.now(dt.timezone.utc),
    )


def numbers(items: list[StreamedEvent]) -> list[int]:
    return [int(item.event.message_ids[0][1:]) for item in items]


def stored(client: redis.Redis, key: str) -> list[int]:
    """The event numbers in a stream, oldest first."""
    entries = client.xrange(key)
    return [int(json.loads(fields["event"])["message_ids"][0][1:]) for _, fields in entries]


def conversation_stream(settings: RedisSettings, conversation: str = "c1") -> str:
    return stream_key(KeySpace(settings.key_prefix), user_id=None, conversation_id=conversation)


def user_stream(settings: RedisSettings, user: str = "alice") -> str:
    return stream_key(KeySpace(settings.key_prefix), user_id=user, conversation_id=None)


async def take(events: AsyncIterator[StreamedEvent], count: int) -> list[StreamedEvent]:
    """The next ``count`` events (the iterator stays open)."""
    return [await asyncio.wait_for(anext(events), 5) for _ in range(count)]


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


def blocked_clients(*urls: str) -> int:
    """Clients blocked (in XREAD) on the servers at ``urls``."""
    total = 0
    for url in urls:
        with redis.Redis.from_url(url) as client:
            total += int(client.info("clients")["blocked_clients"])
    return total


async def until_blocked(*urls: str, more_than: int) -> None:
    await eventually(lambda: blocked_clients(*urls) > more_than)


def distinct(entries: list[tuple[str, dict[str, str]]]) -> list[int]:
    """The event numbers of stream entries, each event once (by its ``id``), in order."""
    seen: set[str] = set()
    result = []
    for _, fields in entries:
        if fields["id"] not in seen:
            seen.add(fields["id"])
            result.append(int(json.loads(fields["event"])["message_ids"][0][1:]))
    return result


# -- the sink ---------------------------------------------------------------------------------


async def test_events_land_in_both_streams_in_order(
    sink: RedisStreamSink, settings: RedisSettings, plain: redis.Redis
) -> None:
    """Each event goes to its user's and its conversation's stream (one without a user to
    the conversation's only), as JSON plus its type and id, in publish order."""
    user, conversation = "al:ice{1}", "c:1}"
    started = event(0, user=user, conversation=conversation, kind=MemoryEventType.SESSION_STARTED)
    await sink.publish([started, event(1, user=user, conversation=conversation)])
    await sink.publish([event(2, user=None, conversation=conversation)])

    user_key = f"{settings.key_prefix}:{{user:al%3Aice%7B1%7D}}:events"
    conversation_key = f"{settings.key_prefix}:{{conv:c%3A1%7D}}:events"
    assert stored(plain, user_key) == [0, 1]
    assert stored(plain, conversation_key) == [0, 1, 2]
    by_user, by_conversation = plain.xrange(user_key), plain.xrange(conversation_key)
    assert [fields["type"] for _, fields in by_conversation] == [
        "session_started",
        "messages_stored",
        "messages_stored",
    ]
    assert set(by_user[0][1]) == {"type", "event", "id"}
    assert MemoryEvent.model_validate_json(by_user[0][1]["event"]) == started
    assert [f["id"] for _, f in by_user] == [f["id"] for _, f in by_conversation[:2]]
    assert key_slot(user_key.encode()) == key_slot(
        KeySpace(settings.key_prefix).user(user).profile.encode()
    )
    assert sink.stats.published == 3
    assert sink.stats.buffered == sink.stats.dropped == sink.stats.errors == 0


async def test_maxlen_caps_streams(settings: RedisSettings, plain: redis.Redis) -> None:
    """With MAXLEN ~ 20, 600 events leave a stream of about 20 entries: the newest."""
    sink = RedisStreamSink(settings, options=RedisStreamOptions(stream_maxlen=20))
    try:
        for start in range(0, 600, 10):
            await sink.publish([event(n) for n in range(start, start + 10)])
    finally:
        await sink.close()
    node_size = int(plain.config_get("stream-node-max-entries")["stream-node-max-entries"])
    for key in (conversation_stream(settings), user_stream(settings)):
        kept = stored(plain, key)
        assert 20 <= len(kept) <= 20 + node_size
        assert kept == list(range(600 - len(kept), 600))


async def test_unwritable_events_are_dropped_not_raised(sink: RedisStreamSink) -> None:
    """An id Redis cannot carry (a lone surrogate), or an event with no stream to go to,
    drops that event alone."""
    nowhere = MemoryEvent(type=MemoryEventType.SESSION_ENDED, at=dt.datetime.now(dt.timezone.utc))
    await sink.publish([event(0, user="\ud800"), nowhere, event(1)])
    assert (sink.stats.published, sink.stats.dropped) == (1, 2)


async def test_append_redis_refuses_is_dropped_not_retried(
    sink: RedisStreamSink, settings: RedisSettings, plain: redis.Redis
) -> None:
    """An append Redis refuses for good (WRONGTYPE) drops its event, counted; the other
    stream still gets it and Redis does not count as down."""
    plain.set(conversation_stream(settings, "broken"), "not a stream")
    await sink.publish([event(0, conversation="broken"), event(1)])
    assert stored(plain, user_stream(settings)) == [0, 1]
    assert stored(plain, conversation_stream(settings)) == [1]
    stats = sink.stats
    assert (stats.published, stats.dropped, stats.errors, stats.down) == (1, 1, 1, False)


async def test_closed_port_buffers_counts_and_warns_once(
    settings: RedisSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listening: publish returns at once without raising; the newest events wait
    (the oldest beyond the buffer are dropped); one warning for the outage."""
    (port,) = free_ports(1)
    nowhere = settings.model_copy(update={"url": f"redis://127.0.0.1:{port}/0"})
    options = RedisStreamOptions(buffer_size=5, **FAST)
    sink = RedisStreamSink(nowhere, options=options)
    caplog.set_level(logging.WARNING, logger="bruno_memory.events")
    started = time.monotonic()
    for n in range(8):
        await sink.publish([event(n)])
    assert time.monotonic() - started < 1
    stats = sink.stats
    assert (stats.published, stats.buffered, stats.dropped, stats.down) == (0, 5, 3, True)
    assert stats.errors >= 1
    await asyncio.sleep(0.3)  # the background task retries, and fails, quietly
    assert sink.stats.errors > stats.errors
    messages = [record.getMessage() for record in caplog.records]
    assert sum("does not take events" in m for m in messages) == 1
    assert sum("backlog full" in m for m in messages) == 1
    await sink.close()
    assert (sink.stats.buffered, sink.stats.dropped) == (0, 8)


async def test_events_survive_a_killed_server() -> None:
    """Redis killed (SIGKILL) mid-run: publishing goes on without raising, and once it is
    back every event is in both streams exactly once, in order."""
    prefix = unique_prefix()
    with restartable_server() as server:
        settings = RedisSettings(url=server.url, key_prefix=prefix)
        options = RedisStreamOptions(batch_size=2, **FAST)  # the backlog drains in 3 trips
        sink = RedisStreamSink(settings, options=options)
        for n in range(5):
            await sink.publish([event(n)])
        server.kill()
        started = time.monotonic()
        for n in range(5, 10):
            await sink.publish([event(n)])
        assert time.monotonic() - started < 1
        assert (sink.stats.published, sink.stats.buffered, sink.stats.down) == (5, 5, True)
        server.start()
        await eventually(lambda: not sink.stats.down)  # the background task wrote them
        assert sink.stats.buffered == 0
        for n in range(10, 15):
            await sink.publish([event(n)])
        await sink.close()
        with redis.Redis.from_url(server.url, decode_responses=True) as client:
            assert stored(client, conversation_stream(settings)) == list(range(15))
            assert stored(client, user_stream(settings)) == list(range(15))
    assert (sink.stats.published, sink.stats.dropped) == (15, 0)


async def test_close_writes_the_backlog() -> None:
    """close() makes a last attempt (regardless of the backoff) to write what waits."""
    with restartable_server() as server:
        settings = RedisSettings(url=server.url, key_prefix=unique_prefix())
        options = RedisStreamOptions(retry_initial=60, retry_max=60)
        sink = RedisStreamSink(settings, options=options)
        await sink.publish([event(0)])
        server.kill()
        await sink.publish([event(1), event(2)])
        server.start()
        await sink.publish([event(3)])  # within the backoff: only queued
        assert sink.stats.buffered == 3
        await sink.close()
        with redis.Redis.from_url(server.url, decode_responses=True) as client:
            assert stored(client, conversation_stream(settings)) == [0, 1, 2, 3]
    assert (sink.stats.published, sink.stats.dropped) == (4, 0)


async def test_stalled_server_times_out_without_raising() -> None:
    """A server that does not answer (DEBUG SLEEP): the write gives up after ``timeout``,
    later ones only queue, and everything is written when it answers again. The write
    that timed out landed too, so its event is there twice (the ``id`` field tells)."""
    with private_server() as (url, _):
        settings = RedisSettings(url=url, key_prefix=unique_prefix())
        sink = RedisStreamSink(settings, options=RedisStreamOptions(**FAST))
        await sink.publish([event(0)])
        with redis.Redis.from_url(url) as sleeper:
            stall = threading.Thread(target=sleeper.execute_command, args=("DEBUG", "SLEEP", 1.5))
            stall.start()
            await asyncio.sleep(0.2)
            started = time.monotonic()
            for n in range(1, 4):
                await sink.publish([event(n)])
            assert 0.25 < time.monotonic() - started < 0.9
            assert sink.stats.down
            await asyncio.to_thread(stall.join)
        await eventually(lambda: not sink.stats.down)
        await sink.close()
        with redis.Redis.from_url(url, decode_responses=True) as client:
            entries = client.xrange(conversation_stream(settings))
        assert distinct(entries) == [0, 1, 2, 3]
        assert len(entries) <= 5  # at most the one write that timed out, twice


# -- the consumers ----------------------------------------------------------------------------


async def test_follow_sees_events_published_after_it_started(
    sink: RedisStreamSink, stream: RedisEventStream, server_url: str
) -> None:
    await sink.publish([event(0)])
    blocked = blocked_clients(server_url)
    async with aclosing(stream.follow(conversation_id="c1", block_ms=200)) as events:
        first = asyncio.ensure_future(anext(events))
        await until_blocked(server_url, more_than=blocked)
        await sink.publish([event(1), event(2)])
        await sink.publish([event(3)])
        assert numbers([await asyncio.wait_for(first, 5), *await take(events, 2)]) == [1, 2, 3]


async def test_follow_from_the_start(sink: RedisStreamSink, stream: RedisEventStream) -> None:
    """``from_id="0"`` replays what the stream keeps; entry ids follow the stream."""
    await sink.publish([event(n) for n in range(3)])
    async with aclosing(stream.follow(user_id="alice", from_id="0")) as events:
        items = await take(events, 3)
    assert numbers(items) == [0, 1, 2]
    assert items[0].stream.endswith(":{user:alice}:events")
    assert items[0].entry_id < items[1].entry_id < items[2].entry_id
    await items[0].ack()  # outside a group: nothing to do


async def test_follow_names_one_stream_and_blocks_less_than_the_socket_timeout(
    stream: RedisEventStream,
) -> None:
    with pytest.raises(InvalidInputError):
        await anext(stream.follow())
    with pytest.raises(InvalidInputError):
        await anext(stream.follow_group("g", "c", user_id="u", conversation_id="c"))
    with pytest.raises(ConfigurationError, match="socket_timeout"):
        await anext(stream.follow(user_id="u", block_ms=10_000))


async def test_group_delivers_each_event_once_across_consumers(
    sink: RedisStreamSink, stream: RedisEventStream, plain: redis.Redis, settings: RedisSettings
) -> None:
    await stream.create_group("workers", conversation_id="c1")
    await sink.publish([event(n) for n in range(20)])
    first = stream.follow_group("workers", "one", conversation_id="c1", count=1)
    second = stream.follow_group("workers", "two", conversation_id="c1", count=1)
    async with aclosing(first), aclosing(second):
        got: dict[str, list[StreamedEvent]] = {"one": [], "two": []}
        for _ in range(2):
            got["one"] += await take(first, 5)
            got["two"] += await take(second, 5)
    assert sorted(numbers(got["one"] + got["two"])) == list(range(20))
    assert numbers(got["one"]) == sorted(numbers(got["one"]))
    key = conversation_stream(settings)
    assert plain.xpending(key, "workers")["pending"] == 20
    for item in got["one"] + got["two"]:
        await item.ack()
    assert plain.xpending(key, "workers")["pending"] == 0


async def test_group_redelivers_unacknowledged_events_after_a_restart(
    sink: RedisStreamSink, stream: RedisEventStream, plain: redis.Redis, settings: RedisSettings
) -> None:
    await stream.create_group("workers", user_id="alice")
    await sink.publish([event(n) for n in range(4)])
    async with aclosing(stream.follow_group("workers", "one", user_id="alice")) as events:
        items = await take(events, 4)
        for item in items[:2]:
            await item.ack()
    await sink.publish([event(4)])
    async with aclosing(stream.follow_group("workers", "one", user_id="alice")) as events:
        again = await take(events, 3)
        assert numbers(again) == [2, 3, 4]
        assert [i.entry_id for i in again[:2]] == [i.entry_id for i in items[2:]]
        for item in again:
            await item.ack()
    assert plain.xpending(user_stream(settings), "workers")["pending"] == 0


async def test_group_claims_the_entries_of_a_dead_consumer(
    sink: RedisStreamSink, stream: RedisEventStream, plain: redis.Redis, settings: RedisSettings
) -> None:
    """XAUTOCLAIM: entries a consumer took and never acknowledged go to a live one."""
    await stream.create_group("workers", conversation_id="c1")
    await sink.publish([event(n) for n in range(3)])
    async with aclosing(stream.follow_group("workers", "dead", conversation_id="c1")) as events:
        await take(events, 3)
    await asyncio.sleep(0.1)
    await sink.publish([event(3)])
    live = stream.follow_group("workers", "live", conversation_id="c1", claim_idle_ms=50)
    async with aclosing(live) as events:
        items = await take(events, 4)
        assert numbers(items) == [0, 1, 2, 3]
        for item in items:
            await item.ack()
    assert plain.xpending(conversation_stream(settings), "workers")["pending"] == 0


async def test_group_skips_and_acknowledges_entries_without_an_event(
    sink: RedisStreamSink, stream: RedisEventStream, plain: redis.Redis, settings: RedisSettings
) -> None:
    key = conversation_stream(settings)
    plain.xadd(key, {"something": "else"})
    await sink.publish([event(0)])
    group = stream.follow_group("workers", "one", conversation_id="c1", start_id="0")
    async with aclosing(group) as events:
        (item,) = await take(events, 1)
    assert numbers([item]) == [0]
    assert plain.xpending(key, "workers")["pending"] == 1  # the event, not the stranger


async def test_iterators_stop_when_cancelled(
    sink: RedisStreamSink, stream: RedisEventStream, server_url: str
) -> None:
    """A task blocked in a read is cancelled at once; the stream stays usable."""
    blocked = blocked_clients(server_url)

    async def drain(events: AsyncIterator[StreamedEvent]) -> None:
        async for _ in events:
            pass

    tasks = [
        asyncio.ensure_future(drain(stream.follow(conversation_id="c1", block_ms=2000))),
        asyncio.ensure_future(drain(stream.follow_group("g", "one", user_id="alice"))),
    ]
    await until_blocked(server_url, more_than=blocked + 1)
    started = time.monotonic()
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)
    assert time.monotonic() - started < 0.5
    await sink.publish([event(0)])
    async with aclosing(stream.follow(conversation_id="c1", from_id="0")) as events:
        assert numbers(await take(events, 1)) == [0]


# -- Redis Cluster ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster_url() -> Iterator[str]:
    with redis_cluster() as url:
        yield url


async def test_cluster_publish_and_follow(cluster_url: str) -> None:
    """One publish spanning slots (users and conversations on different masters); tailing
    and a consumer group on the cluster."""
    settings = RedisSettings(url=cluster_url, key_prefix=unique_prefix())
    nodes = cluster_url.removeprefix("redis+cluster://").split(",")
    sink = RedisStreamSink(settings)
    try:
        async with RedisEventStream(settings) as stream:
            await sink.publish([event(n, user=f"u{n}", conversation=f"c{n}") for n in range(6)])
            assert sink.stats.published == 6
            async with aclosing(stream.follow(user_id="u3", from_id="0")) as events:
                assert numbers(await take(events, 1)) == [3]
            group = stream.follow_group("g", "one", conversation_id="c4", start_id="0")
            async with aclosing(group) as events:
                (item,) = await take(events, 1)
                await item.ack()
            assert numbers([item]) == [4]
            blocked = blocked_clients(*(f"redis://{node}" for node in nodes))
            async with aclosing(stream.follow(conversation_id="c5", block_ms=200)) as events:
                following = asyncio.ensure_future(anext(events))
                await until_blocked(*(f"redis://{node}" for node in nodes), more_than=blocked)
                await sink.publish([event(7, user="u5", conversation="c5")])
                assert numbers([await asyncio.wait_for(following, 5)]) == [7]
    finally:
        await sink.close()
        host, port = nodes[0].split(":")
        with redis.RedisCluster(host=host, port=int(port)) as client:
            delete_prefix(client, settings.key_prefix)
