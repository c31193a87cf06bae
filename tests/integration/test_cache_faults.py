"""The SQL store behind a Redis cache when Redis fails: nothing lost, nothing stale, no errors.

A real Redis server of the test's own is killed mid-run (SIGKILL) and started again with its
data (append-only file), so the cache holds the views it held before the outage: exactly the
case where a careless cache would serve stale data.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from bruno_core.models.message import MessageRole

from bruno_memory import Memory, create_memory
from bruno_memory.adapters.cache.redis import RETRY_AFTER, RedisEntityCache
from tests.conformance.helpers import message, user_message
from tests.redis_servers import RestartableServer, free_ports, restartable_server

pytestmark = pytest.mark.usefixtures("redis_selected")


@pytest.fixture
def redis_selected(request: pytest.FixtureRequest) -> None:
    """These tests run with the Redis targets (``--backend redis`` or all)."""
    if request.config.getoption("--backend") not in ("all", "redis"):
        pytest.skip("--backend excludes the Redis backend")


@pytest.fixture
def server() -> Iterator[RestartableServer]:
    with restartable_server() as started:
        yield started


def open_store(database: Path, redis_url: str) -> Memory:
    store = create_memory(
        f"sqlite+aiosqlite:///{database}", embedder=None, cache_url=redis_url, cache_key_prefix="t"
    )
    assert isinstance(store, Memory)
    return store


@pytest.fixture
async def stores(server: RestartableServer, tmp_path: Path) -> AsyncIterator[list[Memory]]:
    """Two stores (as two processes would be) on one database and one Redis."""
    opened = [open_store(tmp_path / "memory.db", server.url) for _ in range(2)]
    for store in opened:
        await store.open()
    yield opened
    for store in opened:
        await store.close()


async def contents(store: Memory, conversation: str) -> list[str]:
    return [m.content for m in await store.retrieve_messages(conversation, limit=20)]


async def test_redis_killed_mid_run_loses_and_staleness_nothing(
    stores: list[Memory], server: RestartableServer
) -> None:
    """Writes during the outage land, reads stay fresh, and the views cached before the
    outage are not served once Redis is back with them."""
    writer, reader = stores
    await writer.store_messages([message(MessageRole.SYSTEM, "sys"), user_message("one")], "c")
    assert await contents(reader, "c") == ["one", "sys"]  # cached now, in Redis and locally
    assert await contents(reader, "c") == ["one", "sys"]
    assert reader.cache_stats is not None
    assert reader.cache_stats.hits >= 1

    server.kill()
    await writer.store_message(user_message("during outage"), "c")  # no exception
    assert await contents(writer, "c") == ["during outage", "one", "sys"]
    assert await contents(reader, "c") == ["during outage", "one", "sys"]
    await writer.clear_history("c")
    assert await contents(reader, "c") == ["sys"]
    assert writer.cache_stats is not None
    assert writer.cache_stats.errors > 0
    assert writer.cache_stats.pending_invalidations == 0  # nothing to replay: SQL has it

    server.start()  # back, with the views it cached before the outage
    await asyncio.sleep(RETRY_AFTER)  # past the back-off of the failures
    hits = reader.cache_stats.hits
    for store in (writer, reader):
        assert await contents(store, "c") == ["sys"]
        assert await contents(store, "c") == ["sys"]  # and cached again, fresh
    assert reader.cache_stats.hits > hits


async def test_unreachable_redis_serves_from_the_store(tmp_path: Path) -> None:
    """With nothing listening on the cache's port, every call works from SQL and is counted."""
    (port,) = free_ports(1)
    async with open_store(tmp_path / "m.db", f"redis://127.0.0.1:{port}/0") as store:
        await store.store_message(user_message("kept"), "c")
        assert await contents(store, "c") == ["kept"]
        session = await store.create_session("u")
        assert await store.get_session(session.session_id) == session
        context = await store.get_context("u", session.session_id)
        assert context.session.session_id == session.session_id
        stats = store.cache_stats
        assert stats is not None
        assert stats.errors >= 1
        assert stats.hits == 0


async def test_other_process_writes_are_never_served_stale(stores: list[Memory]) -> None:
    """A view held in one process's memory is not served once another process has written:
    every read checks it against the conversation's version in the database."""
    writer, reader = stores
    session = await writer.create_session("u2")
    await writer.store_message(user_message("first"), session.conversation_id)
    for _ in range(2):  # the second read is served from the reader's memory
        assert await contents(reader, session.conversation_id) == ["first"]
        assert (await reader.get_session(session.session_id)).is_active  # type: ignore[union-attr]
    assert reader.cache_stats is not None
    assert reader.cache_stats.local_hits >= 1
    await writer.store_message(user_message("second"), session.conversation_id)
    await writer.end_session(session.session_id)
    assert await contents(reader, session.conversation_id) == ["second", "first"]
    ended = await reader.get_session(session.session_id)
    assert ended is not None
    assert not ended.is_active


def reads_processed(client: redis.Redis) -> int:
    """How many times the server has read from its clients' sockets (a round trip is one)."""
    return int(client.info("stats")["total_reads_processed"])


async def test_invalidating_many_entities_is_one_round_trip(server: RestartableServer) -> None:
    """Invalidating many entities at once sends one pipeline to Redis, not one per entity."""
    client = aioredis.Redis.from_url(server.url, decode_responses=True)
    cache = RedisEntityCache(client, prefix="t", ttl_seconds={})
    try:
        await client.ping()  # the connection is made (and introduced) before counting
        with redis.Redis.from_url(server.url) as plain:
            before = reads_processed(plain)
            await cache.invalidate([("conversation", f"c{n}") for n in range(20)])
            # The second INFO is a read too.
            assert reads_processed(plain) - before <= 2
        assert cache.stats.errors == 0
    finally:
        await cache.close()
        await client.aclose()


async def context_contents(store: Memory, user: str, session: str) -> list[str]:
    return [m.content for m in (await store.get_context(user, session)).messages]


async def test_write_of_a_process_gone_before_redis_returns_is_not_hidden(
    stores: list[Memory], server: RestartableServer, tmp_path: Path
) -> None:
    """A write committed while Redis was down, by a process that closed before Redis came
    back, is seen by every other process once Redis is back with its old views."""
    _, reader = stores
    session = await reader.create_session("u")
    conversation = session.conversation_id
    await reader.store_message(user_message("one"), conversation)
    for _ in range(2):  # cached in Redis and in the reader's memory
        assert await contents(reader, conversation) == ["one"]
        assert await context_contents(reader, "u", session.session_id) == ["one"]

    writer = open_store(tmp_path / "memory.db", server.url)
    await writer.open()
    server.kill()
    await writer.store_message(user_message("during outage"), conversation)
    await writer.close()  # gone, with whatever it could not tell Redis
    server.start()  # back, with the views cached before the outage

    late = open_store(tmp_path / "memory.db", server.url)  # never saw the outage
    async with late:
        assert await contents(late, conversation) == ["during outage", "one"]
        assert await context_contents(late, "u", session.session_id) == ["one", "during outage"]
        assert late.cache_stats is not None
        assert late.cache_stats.errors == 0
    await asyncio.sleep(RETRY_AFTER)  # the reader's own connection failure is behind it
    for _ in range(2):
        assert await contents(reader, conversation) == ["during outage", "one"]
        assert await context_contents(reader, "u", session.session_id) == ["one", "during outage"]


async def test_write_of_a_process_cut_off_from_redis_is_seen_at_once(
    stores: list[Memory], server: RestartableServer, tmp_path: Path
) -> None:
    """A write committed by a process that cannot reach Redis (while the others can) is
    seen at once by the others, whether or not that process ever reaches Redis again."""
    _, reader = stores
    with redis.Redis.from_url(server.url) as admin:
        admin.acl_setuser("writer", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all"])
        writer = open_store(tmp_path / "memory.db", server.url.replace("//", "//writer:pw@"))
        await writer.open()
        try:
            await writer.store_message(user_message("one"), "c")
            for _ in range(2):
                assert await contents(reader, "c") == ["one"]
            admin.acl_setuser("writer", enabled=False)  # only the writer is cut off
            admin.client_kill_filter(user="writer")
            await writer.store_message(user_message("cut off"), "c")
            assert writer.cache_stats is not None
            assert writer.cache_stats.errors > 0
            assert await contents(reader, "c") == ["cut off", "one"]
            assert reader.cache_stats is not None
            assert reader.cache_stats.errors == 0
        finally:
            await writer.close()


async def test_lost_keyspace_never_serves_an_erased_view(
    stores: list[Memory], server: RestartableServer
) -> None:
    """When Redis loses its keys, a view held in a process's memory is not served again,
    not even after the loss repeated: messages delete_user erased stay erased."""
    writer, reader = stores
    session = await writer.create_session("u")
    conversation = session.conversation_id
    with redis.Redis.from_url(server.url) as admin:
        admin.flushall()  # lost (a restart without persistence, eviction)
        await writer.store_message(user_message("secret"), conversation)
        for _ in range(2):  # held in the reader's memory
            assert await contents(reader, conversation) == ["secret"]
        admin.flushall()  # lost again
    await writer.delete_user("u")
    assert await contents(reader, conversation) == []
    assert await contents(writer, conversation) == []
