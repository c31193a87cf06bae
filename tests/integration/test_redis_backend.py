"""The Redis-only backend beyond the conformance suite: keys, hash tags, TTL expiry, the
search index, atomic batches, failures and URLs (cluster and Sentinel: test_redis_topologies)."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from bruno_core.models.memory import MemoryQuery
from redis.crc import key_slot

from bruno_memory import ConfigurationError, ConflictError, Memory, StorageError, create_memory
from bruno_memory.adapters.redis.client import parse_redis_url
from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.backends.redis import RedisStorage
from tests.conformance.helpers import memory_entry, user_message
from tests.conftest import selected_targets
from tests.redis_servers import (
    delete_prefix,
    free_ports,
    private_server,
    skip_unless_selected,
    unique_prefix,
)


@pytest.fixture(scope="module", autouse=True)
def _redis_selected(request: pytest.FixtureRequest) -> None:
    skip_unless_selected(selected_targets(request.config))


@pytest.fixture
def prefix(plain: redis.Redis) -> Iterator[str]:
    chosen = unique_prefix()
    yield chosen
    delete_prefix(plain, chosen)


@pytest.fixture
async def memory(server_url: str, prefix: str) -> AsyncIterator[Memory]:
    async with create_memory(server_url, key_prefix=prefix) as backend:
        yield backend


def keys_of(client: redis.Redis | redis.RedisCluster, prefix: str) -> set[str]:
    return set(client.scan_iter(match=f"{prefix}:*", count=1000))


async def exercise(memory: Memory, user: str, word: str) -> str:
    """Use every kind of record; returns the session's conversation id."""
    session = await memory.create_session(user, {"channel": "test"})
    await memory.store_messages(
        [user_message(f"{word} hello"), user_message("second")], session.conversation_id
    )
    await memory.store_memory(memory_entry(user, f"{word} fact", tags=["t"], category="c"))
    await memory.search_messages(word, user_id=user)
    await memory.retrieve_memories(MemoryQuery(user_id=user, query_text=word))
    await memory.get_context(user)
    return session.conversation_id


# -- URLs and settings -----------------------------------------------------------------------


def test_urls() -> None:
    """Single server, TLS, cluster (two spellings) and Sentinel URLs."""
    single = parse_redis_url("redis://user:pw@cache:6380/3")
    assert (single.topology, single.nodes, single.db) == ("standalone", (("cache", 6380),), 3)
    assert (single.username, single.password) == ("user", "pw")
    assert single.standalone_url() == "redis://user:pw@cache:6380/3"
    assert parse_redis_url("rediss://cache").ssl
    listed = parse_redis_url("redis+cluster://a:7000,b:7001,[::1]:7002")
    assert listed.topology == "cluster"
    assert listed.nodes == (("a", 7000), ("b", 7001), ("::1", 7002))
    flagged = parse_redis_url("redis://a:7000?cluster=true")
    assert (flagged.topology, flagged.options) == ("cluster", ())
    sentinel = parse_redis_url("redis+sentinel://:secret@s1:26379,s2:26380/mymaster/2")
    assert sentinel.topology == "sentinel"
    assert sentinel.nodes == (("s1", 26379), ("s2", 26380))
    assert (sentinel.service_name, sentinel.db, sentinel.password) == ("mymaster", 2, "secret")


@pytest.mark.parametrize(
    "url",
    [
        "http://cache:6379",
        "redis+sentinel://s1:26379",
        "redis+cluster://a:7000/2",
        "redis://a:1,b:2",
        "redis://a:port",
        "redis://a/x",
    ],
)
def test_bad_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        create_memory(url)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """BRUNO_MEMORY_REDIS_* variables configure the backend; bad values are typed errors."""
    monkeypatch.setenv("BRUNO_MEMORY_REDIS_KEY_PREFIX", "fromenv")
    monkeypatch.setenv("BRUNO_MEMORY_REDIS_SESSION_TTL_SECONDS", "60")
    storage = RedisStorage()
    assert (storage.settings.key_prefix, storage.settings.session_ttl_seconds) == ("fromenv", 60)
    with pytest.raises(ConfigurationError):
        RedisStorage(key_prefix="a{b}")


def test_redis_urls_dispatch_to_the_redis_storage() -> None:
    """create_memory picks the Redis storage by scheme, the SQL storage otherwise."""
    assert create_memory("redis://127.0.0.1:6379/0").backend == "redis"
    assert isinstance(create_memory("redis+cluster://a:1,b:2").storage, RedisStorage)
    assert create_memory("sqlite+aiosqlite://", embedder=None).backend == "sqlite"


# -- keys --------------------------------------------------------------------------------------


async def test_every_key_carries_the_prefix(
    memory: Memory, plain: redis.Redis, prefix: str, server_url: str
) -> None:
    """Everything the backend writes is under its prefix; deleting the user leaves only the
    (zeroed) global document counters and the prefix's search engine."""
    before = set(plain.scan_iter(count=1000))
    conversation = await exercise(memory, "alice", "wprefix")
    created = set(plain.scan_iter(count=1000)) - before
    assert created
    assert all(key.startswith(f"{prefix}:") for key in created)
    assert keys_of(plain, prefix) >= {
        f"{prefix}:{{conv:{conversation}}}:messages",
        f"{prefix}:{{user:alice}}:profile",
    }
    await memory.delete_user("alice")
    assert {key: plain.get(key) for key in keys_of(plain, prefix)} == {
        f"{prefix}:{{global}}:ix:msg:n": "0",
        f"{prefix}:{{global}}:ix:mem:n": "0",
        f"{prefix}:search-engine": "index",
    }


async def test_hash_tags_put_a_conversation_and_a_user_in_one_slot(
    memory: Memory, plain: redis.Redis, prefix: str
) -> None:
    """All keys of a conversation share one cluster slot, all keys of a user another; ids
    with braces or colons are escaped so that the tag stays intact and ids stay distinct."""
    conversation = "odd{id}:with:colons"
    await memory.store_message(user_message("tagged", metadata={"user_id": "u:1"}), conversation)
    await memory.create_session("u:1")
    keys = keys_of(plain, prefix)
    space = KeySpace(prefix)
    tag = space.conversation(conversation).base
    conversation_keys = [key for key in keys if key.startswith(tag)]
    user_keys = [key for key in keys if key.startswith(space.user("u:1").base)]
    assert len(conversation_keys) >= 5
    assert len(user_keys) >= 4
    assert len({key_slot(key.encode()) for key in conversation_keys}) == 1
    assert len({key_slot(key.encode()) for key in user_keys}) == 1
    assert "{conv:odd%7Bid%7D%3Awith%3Acolons}" in tag
    assert space.conversation("a:b").base != space.conversation("a%3Ab").base


# -- TTL -------------------------------------------------------------------------------------


async def test_sessions_expire_with_their_conversation(
    server_url: str, plain: redis.Redis, prefix: str
) -> None:
    """With session_ttl_seconds, a session and its conversation vanish together once no
    write touched them for that long; writes push the deadline; the sweeper then removes
    their postings, id registrations, locators and the user's hints."""
    async with create_memory(
        server_url, key_prefix=prefix, session_ttl_seconds=1, sweep_interval_seconds=3600
    ) as memory:
        session = await memory.create_session("alice")
        kept = await memory.create_session("alice")
        conversation = session.conversation_id
        await memory.store_messages([user_message("wttl expiring soon")], conversation)
        await memory.store_memory(memory_entry("alice", "wttl memories stay"))
        conversation_keys = {k for k in keys_of(plain, prefix) if f"{{conv:{conversation}}}" in k}
        assert all(0 < plain.pttl(key) <= 1000 for key in conversation_keys if ":refs" not in key)
        for _ in range(3):  # writes into `kept` keep it alive past the first deadline
            await asyncio.sleep(0.5)
            await memory.store_message(user_message("still here"), kept.conversation_id)
        assert await memory.get_session(session.session_id) is None
        assert await memory.retrieve_messages(conversation) == []
        assert await memory.search_messages("wttl") == []
        assert await memory.get_session(kept.session_id) is not None
        assert [m.content for m in await memory.search_memories("wttl")] == ["wttl memories stay"]
        stats = await memory.get_statistics("alice")
        assert (stats["sessions"], stats["conversations"], stats["total_messages"]) == (1, 1, 3)

        assert await memory.sweep_expired() == 1
        leftovers = {k for k in keys_of(plain, prefix) if conversation in k or "wttl" in k}
        assert leftovers == {  # the memory's postings
            f"{prefix}:{{global}}:ix:mem:t:wttl",
            f"{prefix}:{{user:alice}}:ix:mem:t:wttl",
        }
        assert plain.hlen(f"{prefix}:{{user:alice}}:sessions") == 1
        assert plain.get(f"{prefix}:{{global}}:ix:msg:n") == "3"  # kept's messages only


async def test_open_backend_sweeps_in_the_background(
    server_url: str, plain: redis.Redis, prefix: str
) -> None:
    """The sweeper runs every sweep_interval_seconds while the backend is open."""
    async with create_memory(
        server_url, key_prefix=prefix, session_ttl_seconds=1, sweep_interval_seconds=0.2
    ) as memory:
        session = await memory.create_session("bob")
        await memory.store_message(user_message("wsweep"), session.conversation_id)
        deadline = time.monotonic() + 5
        # The session locator goes in the sweep's last step, after the postings.
        while plain.exists(f"{prefix}:session:{session.session_id}"):
            assert time.monotonic() < deadline, "the background sweeper never ran"
            await asyncio.sleep(0.2)
        assert not plain.exists(f"{prefix}:{{global}}:ix:msg:t:wsweep")


# -- search ----------------------------------------------------------------------------------


async def test_search_is_indexed_never_a_scan(memory: Memory, plain: redis.Redis) -> None:
    """Searching, statistics and erasure use the index structures: no SCAN or KEYS; a
    search is one ranking script, then reads of its best candidates only (2 * limit + 8),
    whatever the number of messages."""
    for n in range(20):
        await memory.store_messages(
            [
                user_message(f"wscan filler {n} {i}", metadata={"user_id": "carol"})
                for i in range(10)
            ],
            f"scan-{n}",
        )
    await memory.store_memory(memory_entry("carol", "wscan memory"))

    def calls() -> dict[str, int]:
        return {name: stats["calls"] for name, stats in plain.info("commandstats").items()}

    before = calls()
    found = await memory.search_messages("wscan filler 3", user_id="carol", limit=5)
    after_one = calls()
    await memory.search_messages("wscan", limit=50)
    await memory.retrieve_context("carol", "filler or whatever", limit=5)
    await memory.search_memories("wscan")
    await memory.retrieve_memories(MemoryQuery(user_id="carol", query_text="wscan memory"))
    await memory.get_statistics("carol")
    await memory.delete_user("carol")
    after = calls()
    assert len(found) == 5
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    assert delta.get("cmdstat_scan", 0) == delta.get("cmdstat_keys", 0) == 0
    one = {name: after_one.get(name, 0) - before.get(name, 0) for name in after_one}
    assert one["cmdstat_evalsha"] == 1
    assert one.get("cmdstat_hmget", 0) <= 2 * 5 + 8  # one per candidate's conversation


async def test_stale_postings_are_verified_and_dropped(
    memory: Memory, plain: redis.Redis, prefix: str
) -> None:
    """A posting left behind by a crash (a message that never committed) is never returned
    and is removed by the search that meets it."""
    await memory.store_message(user_message("wstale real"), "conv-real")
    ghost = f"{uuid.uuid4()}@conv-ghost"
    posting = f"{prefix}:{{global}}:ix:msg:t:wstale"
    plain.zadd(posting, {ghost: 99.0})
    assert [m.content for m in await memory.search_messages("wstale")] == ["wstale real"]
    assert plain.zscore(posting, ghost) is None


async def test_adopted_conversation_becomes_searchable_for_its_user(
    memory: Memory,
) -> None:
    """Messages stored without a user are indexed for the user who claims the conversation."""
    await memory.store_message(user_message("wadopt before anyone"), "anon")
    assert await memory.search_messages("wadopt", user_id="dave") == []
    await memory.get_context("dave", "anon")
    assert [m.content for m in await memory.search_messages("wadopt", user_id="dave")] == [
        "wadopt before anyone"
    ]


# -- atomicity -------------------------------------------------------------------------------


async def test_refused_batch_leaves_no_trace(
    memory: Memory, plain: redis.Redis, prefix: str
) -> None:
    """A batch refused for a duplicate id stores nothing and leaves no posting or id behind;
    an id stored in one conversation cannot be stored in another."""
    first = user_message("watomic kept")
    await memory.store_message(first, "atomic")
    before = keys_of(plain, prefix)
    batch = [user_message("watomic new one"), first, user_message("watomic new two")]
    with pytest.raises(ConflictError):
        await memory.store_messages(batch, "atomic")
    assert [m.content for m in await memory.retrieve_messages("atomic")] == ["watomic kept"]
    assert [m.content for m in await memory.search_messages("watomic")] == ["watomic kept"]
    assert keys_of(plain, prefix) == before
    assert plain.zcard(f"{prefix}:{{global}}:ix:msg:t:new") == 0
    with pytest.raises(ConflictError):
        await memory.store_message(first, "another-conversation")
    assert await memory.retrieve_messages("another-conversation") == []


# -- failures --------------------------------------------------------------------------------


async def test_unreachable_redis_is_a_storage_error() -> None:
    """A closed port: opening and every operation raise StorageError."""
    (port,) = free_ports(1)
    memory = create_memory(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5)
    with pytest.raises(StorageError):
        await memory.open()
    with pytest.raises(StorageError):
        await memory.store_message(user_message("lost?"), "c")
    with pytest.raises(StorageError):
        await memory.retrieve_messages("c")
    await memory.close()


@pytest.fixture
def private_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis server of the test's own (to stop or stall)."""
    with private_server() as server:
        yield server


async def test_redis_stopping_mid_run_is_a_storage_error(
    private_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """Redis stops under an open backend: writes and reads raise StorageError, not silence."""
    url, process = private_redis
    async with create_memory(url, socket_connect_timeout=0.5) as memory:
        await memory.store_message(user_message("before"), "c")
        process.kill()
        process.wait()
        with pytest.raises(StorageError):
            await memory.store_message(user_message("after"), "c")
        with pytest.raises(StorageError):
            await memory.search_messages("before")


async def test_slow_redis_is_a_storage_error(
    private_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """A reply slower than socket_timeout raises StorageError."""
    url, _ = private_redis
    async with create_memory(url, socket_timeout=0.2) as memory:
        with redis.Redis.from_url(url) as admin:
            stall = asyncio.get_running_loop().run_in_executor(
                None, admin.execute_command, "DEBUG", "SLEEP", "1"
            )
            await asyncio.sleep(0.1)
            with pytest.raises(StorageError):
                await memory.retrieve_messages("c")
            await stall


def test_environment_names_mean_one_thing(monkeypatch: pytest.MonkeyPatch) -> None:
    """BRUNO_MEMORY_DATABASE_URL names the Redis storage's server and
    BRUNO_MEMORY_CONTEXT_WINDOW its window, as for SQL; BRUNO_MEMORY_CACHE_URL is only ever
    the cache in front of a SQL database."""
    monkeypatch.setenv("BRUNO_MEMORY_DATABASE_URL", "redis://127.0.0.1:6379/5")
    monkeypatch.setenv("BRUNO_MEMORY_CONTEXT_WINDOW", "7")
    monkeypatch.setenv("BRUNO_MEMORY_CACHE_URL", "redis://cache.example:6379/0")
    storage = RedisStorage()
    assert (storage.settings.url, storage.context_window) == ("redis://127.0.0.1:6379/5", 7)
    assert create_memory().context_window == 7
    assert RedisStorage(url="redis://other:6379/1", context_window=3).context_window == 3
