"""The Redis-only backend beside the SQLite store, on the same synthetic data.

::

    python -m benchmarks.redis_backend                   # 10k messages, Redis at 127.0.0.1:6379
    python -m benchmarks.redis_backend --messages 100000 --redis-url redis://host:6379/0

Each backend is filled with ``--messages`` messages (conversations of 1,000, see ``_data``)
through ``store_messages``, then measured one call at a time: ``store_message`` (appending
to the filled conversations), ``retrieve_messages(limit=20)`` and ``search_messages``
scoped to the conversation's user. The Redis run works under a key prefix of its own and
deletes it afterwards. Prints p50/p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis
from bruno_core.models.message import Message, MessageRole

from benchmarks import _data
from bruno_memory import create_memory

SEED = 7
CALLS = 1_000
SEARCHES = 500


async def timed(call: Callable[[int], Awaitable[object]], count: int) -> dict[str, float]:
    """p50/p99 (ms) of ``count`` sequential calls."""
    durations = []
    for number in range(count):
        start = time.perf_counter()
        await call(number)
        durations.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(durations, n=100)
    return {"p50": statistics.median(durations), "p99": cuts[98]}


async def measure(memory: Any, messages: int) -> dict[str, dict[str, float]]:
    """Fill ``memory`` and time the three calls."""
    corpus = _data.Corpus(SEED)
    conversations = -(-messages // _data.CONVERSATION_LENGTH)
    for index in range(conversations):
        owner = _data.owner_of(index)
        batch = corpus.messages(_data.conversation_id(index), owner, _data.CONVERSATION_LENGTH)
        await memory.store_messages(batch, _data.conversation_id(index))
    queries = corpus.queries(SEARCHES)

    async def store(number: int) -> None:
        index = number % conversations
        message = Message(
            role=MessageRole.USER,
            content=f"appended message {number}",
            metadata={"user_id": _data.owner_of(index)},
        )
        await memory.store_message(message, _data.conversation_id(index))

    async def retrieve(number: int) -> None:
        await memory.retrieve_messages(_data.conversation_id(number % conversations), limit=20)

    async def search(number: int) -> None:
        owner = _data.owner_of(number % conversations)
        await memory.search_messages(queries[number], user_id=owner)

    return {
        "store_message": await timed(store, CALLS),
        "retrieve_messages(limit=20)": await timed(retrieve, CALLS),
        "search_messages": await timed(search, SEARCHES),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    options = parser.parse_args()

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    results = {}
    try:
        async with create_memory(options.redis_url, key_prefix=prefix) as memory:
            results["redis"] = await measure(memory, options.messages)
    finally:
        with redis.Redis.from_url(options.redis_url) as client:
            for key in list(client.scan_iter(match=f"{prefix}:*", count=1000)):
                client.delete(key)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        async with create_memory(url, embedder=None) as store:
            results["sqlite (file)"] = await measure(store, options.messages)

    print(f"{options.messages:,} messages; p50 / p99 in ms, one call at a time")
    for backend, calls in results.items():
        for name, cut in calls.items():
            print(f"{backend:>14}  {name:<28} {cut['p50']:7.3f} / {cut['p99']:7.3f}")


if __name__ == "__main__":
    asyncio.run(main())
