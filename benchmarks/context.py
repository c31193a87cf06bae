"""Context-engine benchmark: ``build_context`` per strategy and ``compress``, beside
``get_context`` and ``retrieve_messages`` in the same run.

::

    python -m benchmarks.context --quick            # smoke run: 1,000 messages, 500 memories
    python -m benchmarks.context                    # 10,000 messages, 5,000 memories
    python -m benchmarks.context --backends sqlite --rounds 500
    python -m benchmarks.context --profile hybrid   # cProfile of that strategy, top functions

Per dialect (a SQLite file; PostgreSQL, from ``pgserver`` unless
``BRUNO_MEMORY_BENCH_POSTGRES_URL`` names a server), in a fresh database migrated by the
library, opened with ``embedder=None`` and no cache:

1. **build_context**: one user with one session (``create_session``) whose conversation
   holds ``--messages`` seeded synthetic messages (``_data.Corpus``, preloaded with
   ``store_messages``) and ``--memories`` memory entries (the same Zipf vocabulary,
   importance 0-1, stored with ``store_memory``). Timed round by round (the order reversed
   every round, ``_stats.interleaved``): ``build_context(user, conversation,
   query=q, max_tokens=4096, strategy=s)`` for each strategy (``q``: another of the
   conversation's user messages on every call, so that no call is served by the search
   cache, as in an assistant whose every turn is a new query; without an embedder no
   query is embedded, so the numbers exclude query embedding and ranking is full text),
   and as references ``get_context(user, conversation)``,
   ``retrieve_messages(conversation, limit=20)`` and, on the raw driver, the two full-text
   statements a ranking strategy cannot avoid (``RawDriver.rank_any``: the user's best 400
   messages and best 200 memories holding any word of the hybrid call's query, stop words
   left out as the library leaves them out; only their keys read). Targets (reported,
   never asserted): p50 <= 50 ms and p99 <= 150 ms per strategy.
2. **compress**: a conversation of ``--compress-messages`` messages (a second user, no
   memories) per policy (the default :class:`CompressionPolicy`; ``fanout=4,
   chunk_messages=20``), compressed once with ``tests.llms.ExtractiveLLM`` (deterministic,
   no model: the time is the library's and the database's). Reported: wall time, LLM calls,
   messages before/after (checked unchanged), summaries by level, and ``build_context``
   p50 per strategy on the compressed conversation beside an uncompressed copy of it
   (interleaved).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import io
import os
import pstats
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bruno_core.models.memory import MemoryEntry, MemoryMetadata, MemoryType
from bruno_core.models.message import MessageRole
from rich.table import Table
from tests.llms import ExtractiveLLM

from benchmarks import _data
from benchmarks._report import (
    Phases,
    console,
    load_average,
    machine_info,
    now_iso,
    phase_table,
    print_wall,
    write_json,
)
from benchmarks._servers import Backend, open_backend
from benchmarks._stats import Measurement, Target, interleaved
from bruno_memory import CompressionPolicy, Memory, create_memory
from bruno_memory.context.window import ContextStrategy
from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.retrieval.stopwords import without_stop_words

if TYPE_CHECKING:
    from bruno_core.models.message import Message

    from benchmarks._raw import RawDriver
    from benchmarks._stats import Call

USER, COMPRESS_USER = "context-user", "compress-user"
MAX_TOKENS = 4096
WINDOW = 20  # retrieve_messages(limit=20)
STRATEGIES: tuple[ContextStrategy, ...] = ("recent", "semantic", "importance", "hybrid")
GET_CONTEXT, RETRIEVE = "get_context", "retrieve_messages(limit=20)"
#: The reference of the strategies that rank by the query: their two full-text statements
#: (the recall's over messages, the memory pool's over memories) on the raw driver.
FULLTEXT = "full-text statements alone (raw driver)"
REFERENCES = (GET_CONTEXT, RETRIEVE, FULLTEXT)
#: Rows those statements rank: the recall's candidates per signal (4 x 100) and the
#: memory pool (4 x 50).
RECALL_POOL, MEMORY_POOL = 400, 200
#: Targets per strategy (reported, never asserted).
P50_GOAL_MS, P99_GOAL_MS = 50.0, 150.0
POLICIES = {
    "default": CompressionPolicy(),
    "fanout=4, chunk_messages=20": CompressionPolicy(fanout=4, chunk_messages=20),
}
_MEMORY_TYPES = (MemoryType.FACT, MemoryType.LONG_TERM, MemoryType.EPISODIC, MemoryType.SEMANTIC)


@dataclass(frozen=True)
class Plan:
    """How much to do, per dialect."""

    messages: int = 10_000  # in the one conversation
    memories: int = 5_000  # of its user
    rounds: int = 300  # timed rounds (each round: every subject once)
    warmup: int = 20  # untimed rounds first
    compress_messages: int = 1_000  # in each compressed conversation
    compress_rounds: int = 100  # build_context rounds after compression


QUICK_PLAN = Plan(
    messages=1_000, memories=500, rounds=30, warmup=5, compress_messages=200, compress_rounds=20
)

NOTES = [
    "embedder=None: no query is embedded, so build_context's numbers exclude query embedding; "
    "memories and recalled messages are ranked by full text (the storage's hybrid search "
    "without vectors). Each call asks another user message of the conversation (8-30 words) "
    "as its query, so none is served by the search cache.",
    "No cache (no redis_url): every read goes to SQL. Memories read for a context count an "
    "access, as any retrieval does (a write per build_context with memories).",
    "Rounds: every subject once per round on the same conversation, the order reversed every "
    "round; warm-up rounds untimed. The conversation does not change during the timings.",
    "get_context: the session and its last 20 messages; retrieve_messages: the last 20 "
    "messages. build_context reads the newest messages in growing pages (max_tokens/32, 128 "
    "here, first) until they cost the budget, the summary frontier and (except recent) 50 "
    "candidate memories (of a pool of 200) and 100 older messages (of 400 candidates).",
    "full-text statements alone: an any-word query of this corpus matches most rows (its "
    "most frequent words are in most messages), and both dialects score every match "
    "(bm25, ts_rank) before keeping the best: the floor under the semantic, importance "
    "and hybrid rows.",
]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.context",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--messages", type=int, help="messages in the conversation (10,000)")
    parser.add_argument("--memories", type=int, help="memories of the user (5,000)")
    parser.add_argument("--rounds", type=int, help="timed rounds (default 300)")
    parser.add_argument("--warmup", type=int, help="untimed rounds first (default 20)")
    parser.add_argument("--compress-messages", type=int, help="messages compressed (1,000)")
    parser.add_argument("--quick", action="store_true", help="1,000 messages, 500 memories")
    parser.add_argument(
        "--profile",
        choices=STRATEGIES,
        help="after the timings, profile this strategy's build_context (cProfile, top 30)",
    )
    parser.add_argument("--skip-compress", action="store_true", help="build_context only")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/context.json"))
    parser.add_argument("--seed", type=int, default=20251203)
    return parser.parse_args(argv)


def plan_of(arguments: argparse.Namespace) -> Plan:
    """The plan: the default or quick one, with any explicit sizes."""
    plan = QUICK_PLAN if arguments.quick else Plan()
    given = {
        name: value
        for name in ("messages", "memories", "rounds", "warmup", "compress_messages")
        if (value := getattr(arguments, name)) is not None
    }
    plan = dataclasses.replace(plan, **given)
    if plan.messages < WINDOW or plan.rounds < 1 or plan.warmup < 0:
        raise SystemExit(f"need --messages >= {WINDOW}, --rounds >= 1, --warmup >= 0")
    return plan


# -- data -------------------------------------------------------------------------------------


def memories(corpus: _data.Corpus, user_id: str, count: int) -> list[MemoryEntry]:
    """``count`` seeded memory entries of ``user_id``: Zipf text, importance 0-1."""
    rng = random.Random(f"{corpus.seed}:memories:{user_id}")
    return [
        MemoryEntry(
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            content=corpus.text(rng),
            memory_type=_MEMORY_TYPES[number % len(_MEMORY_TYPES)],
            user_id=user_id,
            metadata=MemoryMetadata(
                importance=round(rng.random(), 3), confidence=round(rng.uniform(0.5, 1), 3)
            ),
        )
        for number in range(count)
    ]


def copies(messages: list[Message], key: str) -> list[Message]:
    """The same messages under new ids (a second conversation with the same content)."""
    return [
        m.model_copy(update={"id": uuid.uuid5(uuid.NAMESPACE_OID, f"{key}:{n}")})
        for n, m in enumerate(messages)
    ]


def shape(window: Any) -> dict[str, int]:
    """What a ContextWindow holds."""
    return {
        "token_count": window.token_count,
        "window_messages": len(window.messages),
        "recalled": len(window.recalled),
        "memories": len(window.memories),
        "summaries": len(window.summaries),
        "omitted": len(window.omitted),
    }


# -- 1. build_context -------------------------------------------------------------------------


def _build(
    memory: Memory,
    user: str,
    conversation: str,
    strategy: ContextStrategy,
    queries: Sequence[str] = (),
) -> Call:
    """A call of ``build_context``; with ``queries``, call ``i`` of strategy ``k`` asks
    ``queries[i * len(STRATEGIES) + k]`` (cycling), so no two calls share a query and none
    is served by the search cache (as in an assistant, whose every turn is a new query)."""
    offset = STRATEGIES.index(strategy)

    async def call(number: int) -> None:
        query = queries[(number * len(STRATEGIES) + offset) % len(queries)] if queries else None
        await memory.build_context(
            user, conversation, query=query, max_tokens=MAX_TOKENS, strategy=strategy
        )

    return call


async def measure_context(
    memory: Memory,
    raw: RawDriver,
    name: str,
    corpus: _data.Corpus,
    plan: Plan,
    phases: Phases,
) -> tuple[list[Measurement], dict[str, Any]]:
    """build_context per strategy beside get_context and retrieve_messages (after the
    preload, the database settled as autovacuum would leave it: ``RawDriver.settle``)."""
    with phases.phase(name, f"preload {plan.messages:,} messages, {plan.memories:,} memories"):
        session = await memory.create_session(USER)
        conversation = session.conversation_id
        history = corpus.messages("context", USER, plan.messages)
        await memory.store_messages(history, conversation)
        for entry in memories(corpus, USER, plan.memories):
            await memory.store_memory(entry)
        await raw.settle()
    shapes = {}
    for strategy in STRATEGIES:
        built = await memory.build_context(
            USER, conversation, max_tokens=MAX_TOKENS, strategy=strategy
        )
        shapes[strategy] = shape(built)
        if built.token_count > MAX_TOKENS:
            raise AssertionError(f"{strategy}: {built.token_count} tokens > {MAX_TOKENS}")
    queries = [m.content for m in history if m.role == MessageRole.USER]
    context = await memory.get_context(USER, conversation)
    if context.session.session_id != session.session_id or len(context.messages) != WINDOW:
        raise AssertionError("get_context read another session or window")

    async def get_context(_: int) -> None:
        await memory.get_context(USER, conversation)

    async def retrieve(_: int) -> None:
        await memory.retrieve_messages(conversation, limit=WINDOW)

    hybrid = STRATEGIES.index("hybrid")

    async def fulltext(number: int) -> None:
        query = queries[(number * len(STRATEGIES) + hybrid) % len(queries)]
        words = list(without_stop_words(FullTextQuery.parse(query, MatchMode.ANY)).terms)
        await raw.rank_any("messages", words, USER, RECALL_POOL)
        await raw.rank_any("memories", words, USER, MEMORY_POOL)

    subjects: dict[str, Call] = {
        **{s: _build(memory, USER, conversation, s, queries) for s in STRATEGIES},
        GET_CONTEXT: get_context,
        RETRIEVE: retrieve,
        FULLTEXT: fulltext,
    }
    with phases.phase(name, f"build_context x 4 + references, {plan.rounds:,} rounds"):
        samples = await interleaved(subjects, plan.rounds, plan.warmup)
    results = [
        Measurement(
            name,
            subject if subject in REFERENCES else "build_context",
            subject if subject in REFERENCES else "library",
            plan.messages,
            1,
            times,
            {"strategy": subject, **shapes.get(subject, {})} if subject in shapes else {},
        )
        for subject, times in samples.items()
    ]
    return results, {"conversation": conversation}


def profile(memory: Memory, conversation: str, strategy: ContextStrategy, calls: int) -> Any:
    """A coroutine profiling ``calls`` build_context calls; returns the top functions."""

    async def run() -> str:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            await memory.build_context(USER, conversation, max_tokens=MAX_TOKENS, strategy=strategy)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(25)
        return out.getvalue()

    return run()


# -- 2. compress ------------------------------------------------------------------------------


async def _history(memory: Memory, conversation: str) -> list[tuple[Any, ...]]:
    messages = await memory.retrieve_messages(conversation, limit=None)
    return [(m.id, m.role, m.content, m.timestamp, dict(m.metadata)) for m in messages]


async def measure_compress(
    memory: Memory, name: str, corpus: _data.Corpus, plan: Plan, phases: Phases
) -> tuple[list[dict[str, Any]], list[Measurement]]:
    """Each policy: one compress() run on its own copy of the conversation; then
    build_context per strategy on the compressed copies beside an uncompressed one."""
    base = corpus.messages("compress", COMPRESS_USER, plan.compress_messages)
    conversations: dict[str, str] = {}
    for label in ("uncompressed", *POLICIES):
        session = await memory.create_session(COMPRESS_USER)
        await memory.store_messages(copies(base, label), session.conversation_id)
        conversations[label] = session.conversation_id
    runs = []
    for label, policy in POLICIES.items():
        conversation = conversations[label]
        before = await _history(memory, conversation)
        llm = ExtractiveLLM()
        with phases.phase(name, f"compress {plan.compress_messages:,} messages ({label})"):
            started = time.perf_counter()
            report = await memory.compress(conversation, llm=llm, policy=policy)
            wall = time.perf_counter() - started
        after = await _history(memory, conversation)
        if after != before:
            raise AssertionError(f"compress ({label}) changed the messages")
        stored = await memory.list_summaries(conversation)
        frontier = await memory.list_summaries(conversation, include_covered=False)
        levels = Counter(s.level for s in stored)
        runs.append(
            {
                "backend": name,
                "policy": label,
                "policy_fields": policy.model_dump(mode="json", exclude={"prices"}),
                "outcome": report.outcome,
                "wall_seconds": round(wall, 3),
                "llm_calls": llm.calls,
                "messages_summarized": report.messages_summarized,
                "messages_before": len(before),
                "messages_after": len(after),
                "messages_unchanged": after == before,
                "summaries_before": 0,
                "summaries_after": len(stored),
                "summaries_by_level": {str(k): levels[k] for k in sorted(levels)},
                "frontier": len(frontier),
                "frontier_levels": [s.level for s in frontier],
                "input_tokens": report.input_tokens,
                "output_tokens": report.output_tokens,
                "per_llm_call_ms": round(wall * 1000 / max(llm.calls, 1), 2),
                "context_after": {},
            }
        )
    subjects: dict[str, Call] = {}
    for label, conversation in conversations.items():
        for strategy in STRATEGIES:
            subjects[f"{label}|{strategy}"] = _build(memory, COMPRESS_USER, conversation, strategy)
    with phases.phase(name, f"build_context after compression, {plan.compress_rounds} rounds"):
        samples = await interleaved(subjects, plan.compress_rounds, min(plan.warmup, 10))
    measurements = []
    for subject, times in samples.items():
        label, strategy = subject.split("|")
        built = await memory.build_context(
            COMPRESS_USER, conversations[label], max_tokens=MAX_TOKENS, strategy=strategy
        )
        extra = {"strategy": strategy, "conversation": label, **shape(built)}
        measurements.append(
            Measurement(
                name, "build_context after compress", label, plan.compress_messages, 1, times, extra
            )
        )
        for run in runs:
            if run["policy"] == label:
                run["context_after"][strategy] = {
                    "p50_ms": round(measurements[-1].percentile_ms(50), 3),
                    **shape(built),
                }
    return runs, measurements


# -- the run ----------------------------------------------------------------------------------


async def measure(
    backend: Backend, arguments: argparse.Namespace, plan: Plan, phases: Phases
) -> dict[str, Any]:
    """Everything on one dialect, each part in a database of its own."""
    name, corpus = backend.name, _data.Corpus(arguments.seed)
    out: dict[str, Any] = {"measurements": [], "compress": [], "profile": None}
    async with backend.database("context") as url:
        memory = create_memory(url, embedder=None)
        with phases.phase(name, "open (migrations)"):
            await memory.open()
        raw = await backend.connect_raw(url)
        try:
            measured, info = await measure_context(memory, raw, name, corpus, plan, phases)
            out["measurements"] += measured
            if arguments.profile:
                with phases.phase(name, f"profile {arguments.profile}"):
                    out["profile"] = await profile(
                        memory, info["conversation"], arguments.profile, 50
                    )
        finally:
            await raw.close()
            await memory.close()
    if arguments.skip_compress:
        return out
    async with backend.database("compress") as url:
        memory = create_memory(url, embedder=None)
        await memory.open()
        try:
            runs, measured = await measure_compress(memory, name, corpus, plan, phases)
            out["compress"] += runs
            out["measurements"] += measured
        finally:
            await memory.close()
    return out


def _verdict(passed: bool) -> str:
    return "[green]PASS[/green]" if passed else "[red]FAIL[/red]"


def targets_of(measurements: list[Measurement]) -> list[Target]:
    """p50 and p99 goals of each strategy on each dialect."""
    targets = []
    for m in measurements:
        if m.operation != "build_context":
            continue
        for q, goal in ((50, P50_GOAL_MS), (99, P99_GOAL_MS)):
            value = m.percentile_ms(q)
            targets.append(
                Target(
                    m.backend,
                    f"build_context {m.extra['strategy']} p{q}",
                    f"<= {goal:g} ms",
                    f"{value:.2f} ms",
                    value <= goal,
                )
            )
    return targets


def context_table(
    measurements: list[Measurement], descriptions: dict[str, str], plan: Plan
) -> Table:
    """build_context per strategy and dialect, beside the references."""
    table = Table(
        title=f"build_context(max_tokens={MAX_TOKENS}, embedder=None: query embedding "
        f"excluded), {plan.messages:,} messages + {plan.memories:,} memories, "
        f"{plan.rounds:,} interleaved rounds (+{plan.warmup} warm-up), ms",
        title_justify="left",
    )
    for heading in ("dialect", "call", "p50", "p95", "p99", "p50 / get_context"):
        table.add_column(heading, justify="left" if heading in ("dialect", "call") else "right")
    table.add_column("target p50<=50, p99<=150", no_wrap=True)
    table.add_column("context: tokens, window, recalled, memories", no_wrap=True)
    for backend in descriptions:
        rows = [m for m in measurements if m.backend == backend and m.stored == plan.messages]
        rows = [m for m in rows if m.operation in ("build_context", *REFERENCES)]
        reference = next(m for m in rows if m.operation == GET_CONTEXT).percentile_ms(50)
        for m in rows:
            built = m.operation == "build_context"
            p50, p99 = m.percentile_ms(50), m.percentile_ms(99)
            table.add_row(
                backend,
                f"build_context {m.extra['strategy']}" if built else m.operation,
                *(f"{m.percentile_ms(q):.2f}" for q in (50, 95, 99)),
                f"{p50 / reference:.1f}x",
                f"{_verdict(p50 <= P50_GOAL_MS)} {_verdict(p99 <= P99_GOAL_MS)}" if built else "",
                (
                    f"{m.extra['token_count']}, {m.extra['window_messages']}, "
                    f"{m.extra['recalled']}, {m.extra['memories']}"
                )
                if built
                else "",
                end_section=m.operation == FULLTEXT,
            )
    table.caption = "; ".join(f"{name}: {text}" for name, text in descriptions.items())
    table.caption_justify = "left"
    return table


def compress_table(runs: list[dict[str, Any]], plan: Plan) -> Table:
    """One compress() run per policy and dialect."""
    table = Table(
        title=f"compress: {plan.compress_messages:,} messages, ExtractiveLLM (deterministic, "
        "no model)",
        title_justify="left",
    )
    for heading in (
        "dialect",
        "policy",
        "wall s",
        "LLM calls",
        "ms / call",
        "messages before/after",
        "summarized",
        "summaries by level",
        "frontier",
    ):
        table.add_column(heading, justify="left" if heading in ("dialect", "policy") else "right")
    for run in runs:
        levels = ", ".join(f"L{k}: {v}" for k, v in run["summaries_by_level"].items())
        table.add_row(
            run["backend"],
            run["policy"],
            f"{run['wall_seconds']:.2f}",
            str(run["llm_calls"]),
            f"{run['per_llm_call_ms']:.1f}",
            f"{run['messages_before']:,}/{run['messages_after']:,}"
            + (" same" if run["messages_unchanged"] else " CHANGED"),
            str(run["messages_summarized"]),
            f"0 -> {run['summaries_after']} ({levels})",
            str(run["frontier"]),
        )
    return table


def after_table(measurements: list[Measurement], plan: Plan) -> Table:
    """build_context p50 on the compressed conversations beside the uncompressed copy."""
    table = Table(
        title=f"build_context(max_tokens={MAX_TOKENS}) p50 ms on {plan.compress_messages:,} "
        f"messages, after compression vs an uncompressed copy ({plan.compress_rounds} "
        "interleaved rounds)",
        title_justify="left",
    )
    table.add_column("dialect")
    table.add_column("conversation")
    for strategy in STRATEGIES:
        table.add_column(strategy, justify="right")
    table.add_column("hybrid: tokens, window, summaries shown", justify="right")
    after = [m for m in measurements if m.operation == "build_context after compress"]
    seen: list[tuple[str, str]] = []
    for m in after:
        if (m.backend, m.subject) not in seen:
            seen.append((m.backend, m.subject))
    for backend, label in seen:
        cells = {
            m.extra["strategy"]: m for m in after if (m.backend, m.subject) == (backend, label)
        }
        hybrid = cells["hybrid"].extra
        table.add_row(
            backend,
            label,
            *(f"{cells[s].percentile_ms(50):.2f}" for s in STRATEGIES),
            f"{hybrid['token_count']}, {hybrid['window_messages']}, {hybrid['summaries']}",
        )
    return table


async def run(arguments: argparse.Namespace) -> int:
    """Run the benchmark; print and write the results. Exit status 0 (targets are reported)."""
    started, load_before = time.perf_counter(), load_average()
    plan = plan_of(arguments)
    wanted = [name.strip() for name in arguments.backends.split(",") if name.strip()]
    if unknown := set(wanted) - {"sqlite", "postgres"}:
        raise SystemExit(f"unknown backends: {', '.join(sorted(unknown))}")
    phases = Phases()
    console.print(
        f"[bold]bruno-memory context benchmark[/bold]  {plan.messages:,} messages, "
        f"{plan.memories:,} memories, {plan.rounds:,} rounds (+{plan.warmup} warm-up), "
        f"compress {plan.compress_messages:,} messages, seed {arguments.seed}"
    )
    console.print(f"load average before (1/5/15 min): {load_before} on {os.cpu_count()} CPUs")
    descriptions: dict[str, str] = {}
    measurements: list[Measurement] = []
    runs: list[dict[str, Any]] = []
    profiles: dict[str, str] = {}
    for name in wanted:
        async with open_backend(name) as backend:
            descriptions[name] = backend.description
            result = await measure(backend, arguments, plan, phases)
        measurements += result["measurements"]
        runs += result["compress"]
        if result["profile"]:
            profiles[name] = result["profile"]
    load_after = load_average()
    targets = targets_of(measurements)
    console.print(context_table(measurements, descriptions, plan))
    if runs:
        console.print(compress_table(runs, plan))
        console.print(after_table(measurements, plan))
    for note in NOTES:
        console.print(f"[dim]- {note}[/dim]")
    console.print(phase_table(phases))
    for name, text in profiles.items():
        console.print(f"[bold]{name}: cProfile of build_context {arguments.profile}[/bold]")
        console.print(text, markup=False)
    wall = time.perf_counter() - started
    machine = machine_info()
    machine["load_average_1_5_15_min"] = {"before": load_before, "after": load_after}
    write_json(
        arguments.out,
        {
            "benchmark": "context",
            "date": now_iso(),
            "command": " ".join(["python -m benchmarks.context", *sys.argv[1:]]),
            "machine": machine,
            "backends": descriptions,
            "parameters": {
                "quick": arguments.quick,
                "seed": arguments.seed,
                "plan": dataclasses.asdict(plan),
                "max_tokens": MAX_TOKENS,
                "embedder": None,
                "goals_ms": {"p50": P50_GOAL_MS, "p99": P99_GOAL_MS},
                "policies": {k: p.model_dump(mode="json") for k, p in POLICIES.items()},
                "notes": NOTES,
            },
            "measurements": [m.summary() for m in measurements],
            "compress": runs,
            "targets": [t.summary() for t in targets],
            "profiles": profiles,
            "phases": phases.records,
            "wall_seconds": round(wall, 1),
        },
    )
    print_wall(wall, load_before, load_after, arguments.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.context``."""
    return asyncio.run(run(parse_arguments(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
