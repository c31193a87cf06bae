"""LoCoMo as a context benchmark: the share of evidence turns inside ``build_context``.

::

    python -m benchmarks.locomo_context                        # SQLite, every strategy
    python -m benchmarks.locomo_context --limit-conversations 1
    python -m benchmarks.locomo_context --backends sqlite,postgres

The conversations are stored as :mod:`benchmarks.locomo` stores them (``ingest``: one user
and one conversation per sample, a ``store_messages`` call per session, the default
embedder, ``wait_for_embeddings()``). For every question of categories 1-4,
``build_context(sample.user_id, sample.conversation_id, query=question,
max_tokens=2000, strategy=s)`` per strategy; its messages (the window and the recalled
messages) map back to turns through ``metadata["dia_id"]``. The score of a question is the
share of its evidence turns inside the context, averaged over questions.

Baseline, measured in the same run on the same store: the conversation's 5 newest turns,
then ``search(question, user_id=..., conversation_id=..., mode="hybrid", limit=100)`` hits
in rank order while they fit the same 2,000 tokens (each message counted with
``message_tokens`` and ``default_counter()``, the reply priming once; the first hit that does
not fit ends the list). Target (reported, never asserted): hybrid >= 0.90 and above the
baseline.

Every question is asked of every sample: ``benchmarks.locomo`` has no split (its file is six
of LoCoMo's ten conversations, all used), so neither has this. Each strategy and the
baseline run on a freshly opened store over the same database. A constant of the library
chosen with this benchmark is chosen on the first two conversations
(``--limit-conversations 2``, the development split) and reported on the other four
(``--skip-conversations 2``, held out) and on all six; its docstring says so. Data:
``--data``, ``$LOCOMO_PATH`` or ``../shared/data/locomo`` beside the repository (as
``benchmarks.locomo``). LoCoMo: Maharana et al., ACL 2024, arXiv 2402.17753, CC BY-NC 4.0.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bruno_core.models.message import Message
from rich.table import Table

from benchmarks._locomo_data import CATEGORIES, Sample, load
from benchmarks._report import console, machine_info, now_iso, write_json
from benchmarks._servers import open_backend
from benchmarks._stats import percentile
from benchmarks.locomo import data_path, ingest
from bruno_memory import create_memory
from bruno_memory.adapters.embeddings import default_embedder
from bruno_memory.context.tokens import REPLY_PRIMING, default_counter, message_tokens
from bruno_memory.context.window import ContextStrategy
from bruno_memory.ports.embedding import embedder_key

MAX_TOKENS = 2_000
STRATEGIES: tuple[ContextStrategy, ...] = ("recent", "semantic", "importance", "hybrid")
BASELINE = "baseline"
NEWEST = 5  # the baseline's newest turns
SEARCH_LIMIT = 100  # the baseline's hits considered (more than 2,000 tokens of turns)
TARGET = 0.90  # hybrid's share, and above the baseline


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line (``benchmarks.locomo``'s other options are accepted and ignored, so
    that ``nox -s bench-locomo -- ...`` passes the same arguments to both)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.locomo_context",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, help="LoCoMo JSON (default: $LOCOMO_PATH)")
    parser.add_argument("--backends", default="sqlite", help="sqlite and/or postgres")
    parser.add_argument("--limit-conversations", type=int, help="only the first N samples")
    parser.add_argument(
        "--skip-conversations", type=int, default=0, help="leave out the first N samples"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/locomo_context.json"))
    arguments, ignored = parser.parse_known_args(argv)
    if ignored:
        console.print(f"[dim]ignored (benchmarks.locomo options): {' '.join(ignored)}[/dim]")
    arguments.backends = [
        name.strip()
        for name in arguments.backends.split(",")
        if name.strip() in ("sqlite", "postgres")
    ]
    return arguments


def dia_ids(messages: Sequence[Message]) -> set[str]:
    """The turns some messages are."""
    return {str(m.metadata["dia_id"]) for m in messages if "dia_id" in m.metadata}


def share(evidence: Sequence[str], found: set[str]) -> float:
    """Share of ``evidence`` in ``found``."""
    return sum(dia_id in found for dia_id in evidence) / len(evidence)


def baseline_messages(newest: list[Message], hits: list[Message]) -> list[Message]:
    """The newest turns, then hits in rank order while they fit :data:`MAX_TOKENS`."""
    counter = default_counter()
    chosen = list(newest)
    spent = REPLY_PRIMING + sum(message_tokens(counter, m) for m in chosen)
    seen = {m.id for m in chosen}
    for message in hits:
        if message.id in seen:
            continue
        cost = message_tokens(counter, message)
        if spent + cost > MAX_TOKENS:
            break
        chosen.append(message)
        seen.add(message.id)
        spent += cost
    return chosen


async def ask(memory: Any, samples: Sequence[Sample], subject: str) -> dict[str, Any]:
    """Every question through one subject (a strategy or the baseline)."""
    scores: list[tuple[int, float]] = []
    latencies: list[int] = []
    sizes: list[int] = []
    tokens: list[int] = []
    for sample in samples:
        newest = list(reversed(await memory.retrieve_messages(sample.conversation_id, NEWEST)))
        for question in sample.questions:
            started = time.perf_counter_ns()
            if subject == BASELINE:
                hits = await memory.search(
                    question.text,
                    user_id=sample.user_id,
                    conversation_id=sample.conversation_id,
                    limit=SEARCH_LIMIT,
                    mode="hybrid",
                )
                found = baseline_messages(newest, [h.message for h in hits if h.message])
                latencies.append(time.perf_counter_ns() - started)
                counter = default_counter()
                tokens.append(REPLY_PRIMING + sum(message_tokens(counter, m) for m in found))
            else:
                window = await memory.build_context(
                    sample.user_id,
                    sample.conversation_id,
                    query=question.text,
                    max_tokens=MAX_TOKENS,
                    strategy=subject,
                )
                latencies.append(time.perf_counter_ns() - started)
                found = [*window.messages, *window.recalled]
                tokens.append(window.token_count)
            sizes.append(len(found))
            scores.append((question.category, share(question.evidence, dia_ids(found))))
    by_category = {
        str(c): {
            "n": len(values := [s for k, s in scores if k == c]),
            "share": round(sum(values) / len(values), 4) if values else 0.0,
        }
        for c in sorted({k for k, _ in scores})
    }
    return {
        "n": len(scores),
        "share": round(sum(s for _, s in scores) / len(scores), 4),
        "by_category": by_category,
        "mean_messages": round(sum(sizes) / len(sizes), 1),
        "mean_tokens": round(sum(tokens) / len(tokens), 1),
        "max_tokens_seen": max(tokens),
        "latency_ms": {
            "p50": round(percentile(latencies, 50) / 1e6, 2),
            "p95": round(percentile(latencies, 95) / 1e6, 2),
        },
    }


async def run_backend(name: str, samples: Sequence[Sample], embedder: Any) -> dict[str, Any]:
    """Ingest into a fresh database of ``name``; every subject on a freshly opened store."""
    async with open_backend(name) as backend, backend.database("locomo_context") as url:
        console.print(f"[bold]{name}[/bold]: {backend.description}")
        async with create_memory(url, embedder=embedder) as memory:
            ingested = await ingest(memory, samples)
        console.print(
            f"  ingest: {ingested['messages']:,} messages in {ingested['seconds']:.1f} s "
            f"(embedding wait {ingested['embedding_wait_seconds']:.1f} s)"
        )
        subjects: dict[str, Any] = {}
        for subject in (BASELINE, *STRATEGIES):
            started = time.perf_counter()
            async with create_memory(url, embedder=embedder) as memory:
                subjects[subject] = await ask(memory, samples, subject)
            console.print(
                f"  {subject}: share {subjects[subject]['share']:.3f} "
                f"({time.perf_counter() - started:.1f} s)"
            )
        return {"description": backend.description, "ingest": ingested, "subjects": subjects}


def context_table(name: str, result: dict[str, Any]) -> Table:
    """Share of evidence in the context per strategy and category, beside the baseline."""
    subjects = result["subjects"]
    categories = list(subjects[BASELINE]["by_category"])
    table = Table(
        title=f"{name}: LoCoMo evidence turns inside a {MAX_TOKENS:,}-token context "
        f"({subjects[BASELINE]['n']} questions, categories 1-4)",
        title_justify="left",
    )
    table.add_column("subject")
    table.add_column("all", justify="right")
    for c in categories:
        table.add_column(f"{c} {CATEGORIES[int(c)]}", justify="right")
    for heading in ("messages", "tokens", "p50 ms", "p95 ms", "target"):
        table.add_column(heading, justify="right")
    base = subjects[BASELINE]["share"]
    for subject, outcome in subjects.items():
        target = ""
        if subject == "hybrid":
            passed = outcome["share"] >= TARGET and outcome["share"] > base
            verdict = "[green]PASS[/green]" if passed else "[red]FAIL[/red]"
            target = f">= {TARGET:.2f}, > baseline {verdict}"
        table.add_row(
            f"build_context {subject}" if subject != BASELINE else "baseline: 5 newest + hits",
            f"{outcome['share']:.3f}",
            *(f"{outcome['by_category'][c]['share']:.3f}" for c in categories),
            f"{outcome['mean_messages']:.1f}",
            f"{outcome['mean_tokens']:.0f}",
            f"{outcome['latency_ms']['p50']:.1f}",
            f"{outcome['latency_ms']['p95']:.1f}",
            target,
        )
    table.caption = (
        "share: evidence turns in the context (window + recalled), averaged over questions; "
        "baseline: the 5 newest turns, then search(mode='hybrid') hits in rank order while they "
        f"fit {MAX_TOKENS:,} tokens (message_tokens, cl100k); latency includes query embedding"
    )
    table.caption_justify = "left"
    return table


async def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 on success."""
    arguments = parse_arguments(argv)
    path = data_path(arguments.data)
    if not path.is_file():
        console.print(f"[red]no LoCoMo data at {path}[/red]: pass --data or set LOCOMO_PATH")
        return 2
    samples = load(path)[arguments.skip_conversations :][: arguments.limit_conversations]
    console.print(
        f"{len(samples)} conversations (all of the file: no split), "
        f"{sum(len(s.turns) for s in samples):,} turns, "
        f"{sum(len(s.questions) for s in samples)} questions (categories 1-4)"
    )
    embedder = default_embedder()
    if embedder is None:
        console.print("[red]the embeddings extra is not installed[/red]")
        return 2
    document: dict[str, Any] = {
        "benchmark": "locomo-context",
        "started": now_iso(),
        "data": {
            "path": str(path),
            "conversations": [s.sample_id for s in samples],
            "split": "none: every conversation of the file (as benchmarks.locomo)",
            "questions": sum(len(s.questions) for s in samples),
        },
        "context": {"max_tokens": MAX_TOKENS, "strategies": list(STRATEGIES)},
        "baseline": {"newest": NEWEST, "search_limit": SEARCH_LIMIT, "mode": "hybrid"},
        "target": {"hybrid_at_least": TARGET, "hybrid_above_baseline": True},
        "embedder": embedder_key(embedder),
        "machine": machine_info(),
        "backends": {},
    }
    for name in arguments.backends:
        result = await run_backend(name, samples, embedder)
        document["backends"][name] = result
        console.print(context_table(name, result))
    document["finished"] = now_iso()
    write_json(arguments.out, document)
    console.print(f"results: {arguments.out}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
