"""The Redis-only backend on a real three-master Redis Cluster and behind a Sentinel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from bruno_core.models.memory import MemoryQuery
from redis.crc import key_slot

from bruno_memory import Memory, create_memory
from tests.conformance.helpers import memory_entry, user_message
from tests.conftest import selected_targets
from tests.redis_servers import (
    delete_prefix,
    private_server,
    redis_cluster,
    sentinel,
    skip_unless_selected,
    unique_prefix,
)


@pytest.fixture(scope="module", autouse=True)
def _redis_selected(request: pytest.FixtureRequest) -> None:
    skip_unless_selected(selected_targets(request.config))


# -- Redis Cluster ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster_url() -> Iterator[str]:
    with redis_cluster() as url:
        yield url


@pytest.fixture
async def on_cluster(cluster_url: str) -> AsyncIterator[Memory]:
    prefix = unique_prefix()
    async with create_memory(cluster_url, key_prefix=prefix) as backend:
        yield backend
    first = cluster_url.removeprefix("redis+cluster://").split(",")[0]
    host, port = first.split(":")
    with redis.RedisCluster(host=host, port=int(port)) as client:
        delete_prefix(client, prefix)


async def test_cluster_store_read_search_clear(on_cluster: Memory) -> None:
    """Conversations, sessions, search, memories and clearing on a 3-master cluster."""
    memory = on_cluster
    session = await memory.create_session("erin")
    await memory.store_messages(
        [user_message("wcluster jazz"), user_message("wcluster blues"), user_message("other")],
        session.conversation_id,
    )
    await memory.store_message(user_message("wcluster elsewhere"), "other-conversation")
    assert [m.content for m in await memory.retrieve_messages(session.conversation_id, 2)] == [
        "other",
        "wcluster blues",
    ]
    found = await memory.search_messages("wcluster", user_id="erin")
    assert {m.content for m in found} == {"wcluster jazz", "wcluster blues"}
    assert len(await memory.search_messages("wcluster")) == 3
    await memory.store_memory(memory_entry("erin", "wcluster likes jazz", tags=["music"]))
    assert len(await memory.retrieve_memories(MemoryQuery(user_id="erin", tags=["music"]))) == 1
    context = await memory.get_context("erin", session.conversation_id)
    assert len(context.messages) == 3
    await memory.clear_history(session.conversation_id)
    assert await memory.retrieve_messages(session.conversation_id) == []
    assert [m.content for m in await memory.search_messages("wcluster")] == ["wcluster elsewhere"]
    deleted = await memory.delete_user("erin")
    assert deleted == {"messages": 0, "memories": 1, "sessions": 1, "conversations": 1, "users": 1}
    assert await memory.get_session(session.session_id) is None


async def test_cluster_spreads_conversations_over_masters(
    on_cluster: Memory, cluster_url: str
) -> None:
    """Different conversations land on different masters (each in its own slot)."""
    for n in range(12):
        await on_cluster.store_message(user_message(f"m{n}"), f"spread-{n}")
    slots = {
        key_slot(on_cluster.storage.keys.conversation(f"spread-{n}").meta.encode())
        for n in range(12)
    }
    assert len(slots) == 12
    nodes = cluster_url.removeprefix("redis+cluster://").split(",")
    counts: list[int] = []
    for node in nodes:
        host, port = node.split(":")
        with redis.Redis(host=host, port=int(port)) as client:
            counts.append(client.dbsize())
    assert sum(1 for count in counts if count > 0) >= 2


async def test_cluster_concurrent_writers(cluster_url: str) -> None:
    """24 writers (each its own backend) into one conversation on the cluster: every
    message once, in each writer's order."""
    prefix = unique_prefix()
    stores = [create_memory(cluster_url, key_prefix=prefix) for _ in range(24)]
    sent = {w: [user_message(f"w{w}-{n}") for n in range(10)] for w in range(24)}

    async def write(writer: int) -> None:
        for n, msg in enumerate(sent[writer]):
            if n % 3 == 0:
                await stores[writer].store_messages([msg], "busy")
            else:
                await stores[writer].store_message(msg, "busy")

    try:
        await asyncio.gather(*(write(w) for w in range(24)))
        stored = await stores[0].list_messages("busy", limit=1000)
    finally:
        for store in stores:
            await store.close()
    assert len(stored) == 240
    assert {m.id for m in stored} == {m.id for batch in sent.values() for m in batch}
    for writer, batch in sent.items():
        mine = [m.content for m in stored if m.content.startswith(f"w{writer}-")]
        assert mine == [m.content for m in batch]


# -- Sentinel ----------------------------------------------------------------------------------


@pytest.fixture
def sentinel_url() -> Iterator[str]:
    """A Sentinel watching a private server as master ``bruno``."""
    with private_server() as (master_url, _), sentinel(master_url, "bruno") as url:
        yield url


async def test_sentinel_finds_the_master(sentinel_url: str) -> None:
    """A redis+sentinel:// URL reaches the master the Sentinel names."""
    async with create_memory(sentinel_url, key_prefix=unique_prefix()) as memory:
        await memory.store_message(user_message("via sentinel"), "s")
        assert [m.content for m in await memory.retrieve_messages("s")] == ["via sentinel"]


# -- the SQL store's cache on a cluster --------------------------------------------------------


async def test_sql_store_cache_on_cluster(cluster_url: str, tmp_path: Path) -> None:
    """Windows and invalidations of the SQL store's cache work on a cluster (each entity's
    keys share a slot), in one round trip per read, without errors."""
    prefix = unique_prefix()
    store = create_memory(
        f"sqlite+aiosqlite:///{tmp_path / 'm.db'}",
        embedder=None,
        cache_url=cluster_url,
        cache_key_prefix=prefix,
        cache_local_size=0,  # every read asks the cluster (no in-process level)
    )
    assert isinstance(store, Memory)
    async with store:
        sessions = [await store.create_session(f"user{n}") for n in range(6)]
        for session in sessions:  # conversations over the masters
            await store.store_message(user_message("first"), session.conversation_id)
            assert [
                m.content for m in await store.retrieve_messages(session.conversation_id, 5)
            ] == ["first"]
            found = await store.get_session(session.session_id)
            assert found is not None
            assert found.is_active
        stats = store.cache_stats
        assert stats is not None
        before = stats.round_trips
        for session in sessions:
            assert [
                m.content for m in await store.retrieve_messages(session.conversation_id, 5)
            ] == ["first"]
        assert stats.round_trips - before == len(sessions)
        for session in sessions:
            await store.store_message(user_message("second"), session.conversation_id)
            await store.end_session(session.session_id)
            contents = [
                m.content for m in await store.retrieve_messages(session.conversation_id, 5)
            ]
            assert contents == ["second", "first"]
            ended = await store.get_session(session.session_id)
            assert ended is not None
            assert not ended.is_active
        assert stats.errors == 0
        assert stats.hits >= len(sessions)
