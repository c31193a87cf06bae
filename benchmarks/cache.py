"""Redis cache benchmark: window reads with the cache warm against SQL only, and a mixed load.

```
python -m benchmarks.cache                       # PostgreSQL (pgserver) and SQLite, Redis at 6379
python -m benchmarks.cache --quick
```

Redis: ``BRUNO_MEMORY_BENCH_REDIS_URL`` or ``redis://127.0.0.1:6379/0`` (keys under a prefix of
the run's own, deleted at the end). Round trips per read are counted by the
``round_trips`` counter of the store's cache statistics.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

from bruno_core.models.message import Message, MessageRole
from rich.table import Table

from benchmarks._report import console, machine_info, now_iso, target_table, write_json
from benchmarks._servers import open_backend
from benchmarks._stats import Measurement, Target
from bruno_memory import Memory, create_memory

REDIS_URL = os.environ.get("BRUNO_MEMORY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
MESSAGES_PER_CONVERSATION = 100
WINDOW = 20


def conversation_ids(count: int) -> list[str]:
    return [f"conv-{n}" for n in range(count)]


async def fill(store: Memory, conversations: list[str]) -> None:
    """Each conversation gets its messages (alternating roles), one batch per conversation."""
    for number, conversation in enumerate(conversations):
        await store.store_messages(
            [
                Message(
                    role=MessageRole.USER if n % 2 == 0 else MessageRole.ASSISTANT,
                    content=f"message {n} of conversation {number}: some ordinary words here",
                    metadata={"user_id": f"user-{number % 20}"},
                )
                for n in range(MESSAGES_PER_CONVERSATION)
            ],
            conversation,
        )


async def timed_reads(
    store: Memory, conversations: list[str], count: int, rng: random.Random
) -> list[int]:
    samples = []
    for _ in range(count):
        conversation = rng.choice(conversations)
        started = time.perf_counter_ns()
        await store.retrieve_messages(conversation, limit=WINDOW)
        samples.append(time.perf_counter_ns() - started)
    return samples


def _round_trips(store: Memory) -> int:
    stats = store.cache_stats
    return 0 if stats is None else stats.round_trips


async def mixed_load(
    store: Memory, conversations: list[str], operations: int, rng: random.Random
) -> tuple[list[int], list[int]]:
    """80% window reads, 20% message writes, conversations picked with a skew (hot ones)."""
    reads, writes = [], []
    weights = [1 / (rank + 1) for rank in range(len(conversations))]
    for _ in range(operations):
        conversation = rng.choices(conversations, weights)[0]
        started = time.perf_counter_ns()
        if rng.random() < 0.8:
            await store.retrieve_messages(conversation, limit=WINDOW)
            reads.append(time.perf_counter_ns() - started)
        else:
            await store.store_message(
                Message(role=MessageRole.USER, content="new turn"), conversation
            )
            writes.append(time.perf_counter_ns() - started)
    return reads, writes


async def run_backend(
    backend_name: str, conversations: int, reads: int, operations: int
) -> tuple[list[Measurement], dict[str, Any]]:
    """SQL only against SQL + Redis cache on one backend."""
    import redis.asyncio as aioredis

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    redis = aioredis.from_url(REDIS_URL)
    ids = conversation_ids(conversations)
    measurements: list[Measurement] = []
    extra: dict[str, Any] = {}
    try:
        async with open_backend(backend_name) as backend, backend.database("cache") as url:
            async with create_memory(url, embedder=None) as plain:
                assert isinstance(plain, Memory)
                await fill(plain, ids)
            async with (
                create_memory(url, embedder=None) as sql_only,
                create_memory(
                    url, embedder=None, cache_url=REDIS_URL, cache_key_prefix=prefix
                ) as cached,
            ):
                assert isinstance(sql_only, Memory)
                assert isinstance(cached, Memory)
                for conversation in ids:  # warm every window
                    await cached.retrieve_messages(conversation, limit=WINDOW)
                rng = random.Random(1)
                for subject, store in (("SQL only", sql_only), ("SQL + Redis (warm)", cached)):
                    before = _round_trips(store)
                    samples = await timed_reads(store, ids, reads, rng)
                    per_read = (_round_trips(store) - before) / reads
                    measurements.append(
                        Measurement(
                            backend_name,
                            "retrieve_messages(20)",
                            subject,
                            None,
                            1,
                            samples,
                            {"redis_round_trips_per_read": round(per_read, 3)},
                        )
                    )
                assert cached.cache_stats is not None
                before_hits, before_total = cached.cache_stats.hits, _total(cached)
                for subject, store in (("SQL only", sql_only), ("SQL + Redis", cached)):
                    read_ns, write_ns = await mixed_load(store, ids, operations, random.Random(2))
                    measurements.append(
                        Measurement(backend_name, "mixed: reads", subject, None, 1, read_ns)
                    )
                    measurements.append(
                        Measurement(backend_name, "mixed: writes", subject, None, 1, write_ns)
                    )
                hits = cached.cache_stats.hits - before_hits
                extra["mixed_hit_ratio"] = round(hits / max(_total(cached) - before_total, 1), 3)
    finally:
        async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
            await redis.delete(key)
        await redis.aclose()
    return measurements, extra


def _total(store: Memory) -> int:
    stats = store.cache_stats
    assert stats is not None
    return stats.hits + stats.misses + stats.fallbacks


def table(measurements: list[Measurement], extras: dict[str, dict[str, Any]]) -> Table:
    result = Table(title="Redis cache: window reads (limit 20)", title_justify="left")
    for heading in (
        "backend",
        "operation",
        "subject",
        "n",
        "p50 ms",
        "p99 ms",
        "Redis round trips/read",
    ):
        result.add_column(
            heading, justify="right" if heading in ("n", "p50 ms", "p99 ms") else "left"
        )
    for m in measurements:
        result.add_row(
            m.backend,
            m.operation,
            m.subject,
            str(len(m.samples_ns)),
            f"{m.percentile_ms(50):.3f}",
            f"{m.percentile_ms(99):.3f}",
            str(m.extra.get("redis_round_trips_per_read", "")),
        )
    for backend, extra in extras.items():
        result.add_row(
            backend,
            "mixed: cache hit ratio",
            "SQL + Redis",
            "",
            "",
            "",
            str(extra["mixed_hit_ratio"]),
        )
    return result


def targets(measurements: list[Measurement]) -> list[Target]:
    """Warm window read p50 >= 3x faster than SQL only on PostgreSQL, one round trip."""
    found = []
    for backend in {m.backend for m in measurements}:
        pair = {
            m.subject: m
            for m in measurements
            if m.backend == backend and m.operation == "retrieve_messages(20)"
        }
        sql, cached = pair.get("SQL only"), pair.get("SQL + Redis (warm)")
        if sql is None or cached is None:
            continue
        speedup = sql.percentile_ms(50) / cached.percentile_ms(50)
        commands = cached.extra["redis_round_trips_per_read"]
        found.append(
            Target(
                backend,
                "warm window read",
                ">= 3x faster p50 than SQL only, 1 round trip",
                f"{speedup:.1f}x ({sql.percentile_ms(50):.3f} -> "
                f"{cached.percentile_ms(50):.3f} ms), {commands} round trips/read",
                speedup >= 3 and commands <= 1.0,
            )
        )
    return found


async def run(
    backends: list[str], conversations: int, reads: int, operations: int, out: Path
) -> None:
    measurements: list[Measurement] = []
    extras: dict[str, dict[str, Any]] = {}
    for backend in backends:
        console.print(
            f"[bold]{backend}[/bold]: {conversations} conversations x {MESSAGES_PER_CONVERSATION}"
        )
        found, extra = await run_backend(backend, conversations, reads, operations)
        measurements += found
        extras[backend] = extra
    console.print(table(measurements, extras))
    goals = targets(measurements)
    console.print(target_table(goals))
    write_json(
        out,
        {
            "benchmark": "cache",
            "date": now_iso(),
            "machine": machine_info(),
            "parameters": {
                "conversations": conversations,
                "reads": reads,
                "operations": operations,
            },
            "measurements": [m.summary() for m in measurements],
            "mixed": extras,
            "targets": [t.summary() for t in goals],
        },
    )
    console.print(f"written: {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cache.json"))
    arguments = parser.parse_args()
    conversations, reads, operations = (50, 500, 500) if arguments.quick else (200, 3000, 3000)
    asyncio.run(run(arguments.backends.split(","), conversations, reads, operations, arguments.out))


if __name__ == "__main__":
    main()
