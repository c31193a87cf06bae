"""The sync twin: many blocking calls on one loop of its own, from plain code and from code
that already runs an event loop (notebooks), with typed errors after close."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bruno_memory import ConfigurationError, MessageNotFoundError, SyncMemory, create_memory_sync
from tests.conformance.helpers import user_message
from tests.conftest import Backend


def script(url: str, conversation: str, calls: int) -> list[str]:
    """What a plain script does: open, call many times, close; no event loop of its own."""
    with create_memory_sync(url, embedder=None) as memory:
        for n in range(calls):
            memory.store_message(user_message(f"turn {n}"), conversation)
            memory.retrieve_messages(conversation, limit=5)
        memory.get_context("someone", conversation)
        return [m.content for m in memory.retrieve_messages(conversation, limit=3)]


async def test_many_blocking_calls_share_one_loop(backend: Backend, uid: str) -> None:
    """Sixty blocking calls in a script (no loop of its own) all succeed, on every SQL
    target; asyncio.run per call fails on PostgreSQL once pooled connections outlive their
    loop ('Event loop is closed')."""
    if backend.dialect == "redis":
        pytest.skip("the Redis storage is covered by the conformance suite")
    found = await asyncio.to_thread(script, backend.url, uid, 30)
    assert found == ["turn 29", "turn 28", "turn 27"]


async def test_the_twin_works_where_a_loop_already_runs(backend: Backend, uid: str) -> None:
    """Called straight from a coroutine (as in a notebook cell), the twin runs on its own loop
    and returns; errors stay typed."""
    if backend.dialect == "redis":
        pytest.skip("the Redis storage is covered by the conformance suite")
    memory = create_memory_sync(backend.url, embedder=None)
    try:
        memory.store_message(user_message("from a running loop"), uid)
        assert [m.content for m in memory.retrieve_messages(uid)] == ["from a running loop"]
        with pytest.raises(MessageNotFoundError):
            memory.list_messages(uid, after="00000000-0000-0000-0000-000000000000")
    finally:
        memory.close()


def test_calls_from_several_threads_and_after_close(tmp_path: object) -> None:
    """Threads share one twin safely; after close, a call is a typed error and close is
    idempotent."""
    memory: SyncMemory = create_memory_sync("sqlite+aiosqlite://", embedder=None)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for k in range(10):
                memory.store_message(user_message(f"{n}-{k}"), f"thread-{n}")
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(len(memory.retrieve_messages(f"thread-{n}")) == 10 for n in range(4))
    memory.close()
    memory.close()
    with pytest.raises(ConfigurationError):
        memory.retrieve_messages("thread-0")


def test_a_user_bound_twin_shares_the_loop_and_its_closing() -> None:
    """``for_user`` gives a twin on the same loop whose writes are the user's; closing one
    closes both, and neither hangs afterwards."""
    memory: SyncMemory = create_memory_sync("sqlite+aiosqlite://", embedder=None)
    alice = memory.for_user("alice")
    alice.store_message(user_message("mine"), "conversation-1")
    assert memory.get_statistics("alice")["conversations"] == 1
    alice.close()
    assert memory.closed
    with pytest.raises(ConfigurationError):
        memory.retrieve_messages("conversation-1")
    memory.close()
