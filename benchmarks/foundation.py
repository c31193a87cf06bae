"""Foundation benchmark: bruno-memory beside the raw driver, on SQLite and PostgreSQL.

::

    python -m benchmarks.foundation --quick          # smoke run, 10k messages, < 1 minute
    python -m benchmarks.foundation                  # SQLite 10k/100k/1M, PostgreSQL 10k/100k
    python -m benchmarks.foundation --pg-full        # PostgreSQL up to 1M as well
    python -m benchmarks.foundation --embedder default  # background embedding on

Per backend, in a fresh database: (1) ``store_message`` one call each and (2) batches of
10,000 with ``store_messages``, alternating with a raw driver writing the same rows. Then,
in a second database grown 10k -> 100k -> 1M through ``store_messages`` (the ingest rate is
reported), at each size: (3) ``retrieve_messages(limit=20)`` and (4) ``search_messages``
beside the same statements run by the raw driver. Targets are checked at the end; results
go to a table and a JSON file. See ``_data`` for the synthetic data, ``_raw`` for the
baselines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks import _data, _measure
from benchmarks._measure import Plan
from benchmarks._report import (
    Phases,
    console,
    machine_info,
    measurement_table,
    now_iso,
    phase_table,
    search_notes,
    target_table,
    write_json,
)
from benchmarks._servers import Backend, open_backend
from benchmarks._stats import Measurement, Target
from bruno_memory import Memory, create_memory

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from benchmarks._raw import RawDriver

QUICK_PLAN = Plan(
    sizes=(10_000,),
    single_messages=300,
    single_warmup=50,
    batch_repeats=1,
    retrieve_calls=200,
    retrieve_warmup=50,
    search_queries=50,
)
NOTES = [
    "The library is opened with embedder=None (the foundation layer: no background "
    "embedding competing for the CPU) unless --embedder default is given.",
    "Raw baselines write the same rows into a database migrated by the library (same "
    "indexes, FTS5 triggers / generated tsvector), in the same transaction shape: bump "
    "conversations.last_seq, insert messages. Encoding Message objects into row values is "
    "timed for both.",
    "Library and raw calls alternate on the same database, the order flipping every round.",
    f"Queries: 1-2 words from the same Zipf distribution as the messages, excluding the "
    f"{_data.STOP_WORDS} most frequent words (stop words), scoped to a random user who owns "
    "messages; the raw driver must return the same messages in the same order.",
    "PostgreSQL: VACUUM ANALYZE after each ingest step (the state autovacuum reaches). "
    "SQLite: no ANALYZE (the library runs none).",
]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.foundation", description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="stored messages")
    parser.add_argument("--pg-sizes", help="PostgreSQL sizes (default: those <= 100k)")
    parser.add_argument("--pg-full", action="store_true", help="PostgreSQL at every --sizes")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/foundation.json"))
    parser.add_argument("--quick", action="store_true", help="10k only, fewer repetitions")
    parser.add_argument("--seed", type=int, default=20251125)
    parser.add_argument(
        "--embedder",
        choices=("none", "default"),
        default="none",
        help="none: the foundation layer alone (embedder=None); default: the library's "
        "default embedder, indexing in the background during the timings",
    )
    return parser.parse_args(argv)


def sizes(text: str) -> tuple[int, ...]:
    """Parse ``10000,100000``: growing multiples of the conversation length."""
    values = sorted({int(value) for value in text.split(",") if value.strip()})
    if not values or any(v <= 0 or v % _data.CONVERSATION_LENGTH for v in values):
        raise SystemExit(f"sizes must be multiples of {_data.CONVERSATION_LENGTH}: {text!r}")
    return tuple(values)


def plans(arguments: argparse.Namespace) -> dict[str, Plan]:
    """The plan of each backend asked for."""
    base = QUICK_PLAN if arguments.quick else Plan(sizes=sizes(arguments.sizes))
    base = dataclasses.replace(base, embedder=arguments.embedder)
    pg_sizes = base.sizes if arguments.pg_full else tuple(s for s in base.sizes if s <= 100_000)
    if arguments.pg_sizes:
        pg_sizes = sizes(arguments.pg_sizes)
    every = {"sqlite": base, "postgres": dataclasses.replace(base, sizes=pg_sizes or base.sizes)}
    wanted = [name.strip() for name in arguments.backends.split(",") if name.strip()]
    if unknown := set(wanted) - set(every):
        raise SystemExit(f"unknown backends: {', '.join(sorted(unknown))}")
    return {name: every[name] for name in wanted}


@contextlib.asynccontextmanager
async def connected(
    backend: Backend, label: str, plan: Plan, phases: Phases
) -> AsyncIterator[tuple[Memory, RawDriver]]:
    """A new database, open in the library (migrated) and in the raw driver."""
    async with backend.database(label) as url:
        memory = (
            create_memory(url) if plan.embedder == "default" else create_memory(url, embedder=None)
        )
        with phases.phase(backend.name, f"{label}: create database, run migrations"):
            await memory.open()
        raw = await backend.connect_raw(url)
        try:
            yield memory, raw
        finally:
            await raw.close()
            await memory.close()


async def run_backend(
    backend: Backend, corpus: _data.Corpus, plan: Plan, phases: Phases
) -> list[Measurement]:
    """Every measurement of one backend."""
    name, results = backend.name, []
    async with connected(backend, "writes", plan, phases) as (memory, raw):
        with phases.phase(name, f"store_message x {plan.single_messages:,} (each side)"):
            results += await _measure.single_writes(name, memory, raw, corpus, plan)
        with phases.phase(name, f"store_messages {plan.batch_messages:,} x {plan.batch_repeats}"):
            results += await _measure.batch_writes(name, memory, raw, corpus, plan)
    async with connected(backend, "history", plan, phases) as (memory, raw):
        stored = 0
        for size in plan.sizes:
            with phases.phase(name, f"ingest {stored:,} -> {size:,} messages"):
                results.append(await _measure.fill(name, memory, corpus, stored, size))
                await raw.settle()
            stored = size
            with phases.phase(name, f"retrieve_messages at {size:,}"):
                results += await _measure.retrievals(name, memory, raw, corpus, plan, size)
            with phases.phase(name, f"search_messages at {size:,}"):
                results += await _measure.searches(name, memory, raw, corpus, plan, size)
    return results


def targets(measurements: list[Measurement], plans: dict[str, Plan]) -> list[Target]:
    """Pass or fail of each goal of the brief, per backend."""

    def find(backend: str, operation: str, subject: str, stored: int | None) -> Measurement:
        return next(
            m
            for m in measurements
            if (m.backend, m.operation, m.subject, m.stored)
            == (backend, operation, subject, stored)
        )

    results = []
    for backend, plan in plans.items():
        baseline = "sqlite3 executemany" if backend == "sqlite" else "asyncpg executemany"
        library = find(backend, "store_messages", "library", None).rate_per_s
        raw = find(backend, "store_messages", baseline, None).rate_per_s
        results.append(
            Target(
                backend,
                "batch write rate",
                f"store_messages >= 50% of {baseline}",
                f"{library / raw:.0%} ({library:,.0f} vs {raw:,.0f} msgs/s)",
                library >= 0.5 * raw,
            )
        )
        low, high = plan.sizes[0], plan.sizes[-1]
        goal = f"p50 at {high:,} <= 2x p50 at {low:,}"
        if high == low:
            results.append(Target(backend, "retrieve scaling", goal, "one size only", None))
        else:
            small = find(backend, "retrieve_messages", "library", low).percentile_ms(50)
            large = find(backend, "retrieve_messages", "library", high).percentile_ms(50)
            measured = f"{large:.3f} ms vs {small:.3f} ms ({large / small:.2f}x)"
            results.append(Target(backend, "retrieve scaling", goal, measured, large <= 2 * small))
        if backend == "sqlite":
            goal = "p50 <= 20 ms at 1,000,000"
            if 1_000_000 not in plan.sizes:
                results.append(Target(backend, "search latency", goal, "1M not run", None))
            else:
                p50 = find(backend, "search_messages", "library", 1_000_000).percentile_ms(50)
                results.append(Target(backend, "search latency", goal, f"{p50:.2f} ms", p50 <= 20))
    return results


async def run(arguments: argparse.Namespace) -> int:
    """Run the benchmark; print and write the results. Exit status 0 (targets are reported)."""
    started = time.perf_counter()
    load_before = os.getloadavg()
    chosen = plans(arguments)
    corpus = _data.Corpus(arguments.seed)
    phases = Phases()
    descriptions: dict[str, str] = {}
    measurements: list[Measurement] = []
    console.print(
        f"[bold]bruno-memory foundation benchmark[/bold]  seed {arguments.seed}, "
        f"embedder {arguments.embedder}"
    )
    console.print(f"stop words excluded from queries: {' '.join(corpus.stop_words)}")
    for name, plan in chosen.items():
        console.print(f"[bold]{name}[/bold]: sizes {', '.join(f'{s:,}' for s in plan.sizes)}")
        async with open_backend(name) as backend:
            descriptions[name] = backend.description
            measurements += await run_backend(backend, corpus, plan, phases)

    goals = targets(measurements, chosen)
    for name in chosen:
        console.print(measurement_table(name, descriptions[name], measurements))
    console.print(target_table(goals))
    console.print(phase_table(phases))
    for note in [*search_notes(measurements), *NOTES]:
        console.print(f"[dim]- {note}[/dim]")
    wall = time.perf_counter() - started
    document = {
        "benchmark": "foundation",
        "date": now_iso(),
        "command": " ".join(["python -m benchmarks.foundation", *sys.argv[1:]]),
        # Other work on the machine skews timings: compare with the number of CPUs.
        "machine": {
            **machine_info(),
            "load_average_1_5_15_min": {
                "before": [round(value, 2) for value in load_before],
                "after": [round(value, 2) for value in os.getloadavg()],
            },
        },
        "backends": descriptions,
        "parameters": {
            "quick": arguments.quick,
            "seed": arguments.seed,
            "plans": {name: dataclasses.asdict(plan) for name, plan in chosen.items()},
            "data": {
                "users": _data.USERS,
                "conversation_length": _data.CONVERSATION_LENGTH,
                "vocabulary_size": _data.VOCABULARY_SIZE,
                "zipf_exponent": _data.ZIPF_EXPONENT,
                "words_per_message": [_data.MIN_WORDS, _data.MAX_WORDS],
                "stop_words_excluded_from_queries": corpus.stop_words,
            },
            "notes": NOTES,
        },
        "measurements": [m.summary() for m in measurements],
        "targets": [t.summary() for t in goals],
        "phases": phases.records,
        "wall_seconds": round(wall, 1),
    }
    write_json(arguments.out, document)
    console.print(
        f"wall time {wall:,.1f} s; load average before/after {load_before[0]:.2f}/"
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; results in {arguments.out}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.foundation``."""
    return asyncio.run(run(parse_arguments(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
