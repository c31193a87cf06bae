"""LoCoMo as a retrieval benchmark: evidence recall@k of the library's search.

::

    python -m benchmarks.locomo                                  # every backend and mode
    python -m benchmarks.locomo --backends sqlite --modes hybrid --limit-conversations 2
    python -m benchmarks.locomo --set search_rrf_k=30            # a MemorySettings variant

Each conversation is stored through the public API (see ``_locomo_data`` for the mapping of
turns to messages), one ``store_messages`` call per session, then
``wait_for_embeddings()``; the ingest rate counts both. Every question of categories 1-4 is
asked with ``memory.search(question, user_id=..., limit=20, mode=...)``; hits map back to
turns through ``metadata["dia_id"]``. Recall@k (k = 5, 10, 20) is the share of a question's
evidence turns in its top k, averaged over questions, overall and per category. Each mode
runs on a freshly opened store over the same database, so no mode profits from another's
cached query vectors or results.

Backends: ``sqlite`` (a file in a temporary folder; exact numpy vector search), ``postgres``
(``BRUNO_MEMORY_BENCH_POSTGRES_URL`` or a throwaway ``pgserver`` with pgvector) and ``qdrant``
(the SQLite store with an embedded local Qdrant as its vector index). The data comes from
``--data``, else ``$LOCOMO_PATH``, else ``../shared/data/locomo/locomo_dev6.json`` beside the
repository; it is never copied into the repository. LoCoMo: Maharana et al., ACL 2024,
arXiv 2402.17753, CC BY-NC 4.0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from benchmarks._locomo_data import CATEGORIES, Sample, load
from benchmarks._recall import KS, Answered, recall_report
from benchmarks._report import console, machine_info, now_iso, write_json
from benchmarks._servers import open_backend
from benchmarks._stats import percentile
from bruno_memory import Memory, create_memory
from bruno_memory.adapters.embeddings import default_embedder
from bruno_memory.errors import MissingDependencyError
from bruno_memory.ports.embedding import embedder_key
from bruno_memory.ports.vector import VectorIndex
from bruno_memory.results import SearchMode
from bruno_memory.settings import SECTIONS, shortcut_field

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY.parent / "shared" / "data" / "locomo" / "locomo_dev6.json"
DATA_VARIABLE = "LOCOMO_PATH"
BACKENDS = ("sqlite", "postgres", "qdrant")
MODES: tuple[SearchMode, ...] = ("fulltext", "semantic", "hybrid")
SEARCH_LIMIT = 20
#: Hybrid RRF (k=60) of BM25 and MiniLM cosine on these six conversations, turns indexed as
#: ``[<session date>] <speaker>: <text>`` (measured outside the library; the reference).
BASELINE = {"r@5": 0.513, "r@10": 0.596, "r@20": 0.690}


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.locomo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, help=f"LoCoMo JSON (default: ${DATA_VARIABLE})")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/locomo.json"))
    parser.add_argument("--limit-conversations", type=int, help="only the first N samples")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="SECTION_FIELD=VALUE",
        help="a MemorySettings field as <section>_<field> (e.g. search_rrf_k) for every store "
        "(JSON value or string); repeatable",
    )
    parser.add_argument(
        "--details", action="store_true", help="also write each question's evidence ranks"
    )
    arguments = parser.parse_args(argv)
    arguments.backends = _choices(arguments.backends, BACKENDS, "backend")
    arguments.modes = _choices(arguments.modes, MODES, "mode")
    arguments.settings = _settings(arguments.settings, parser)
    return arguments


def _choices(text: str, allowed: Sequence[str], what: str) -> list[str]:
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in allowed]
    if unknown or not chosen:
        raise SystemExit(f"unknown {what} {unknown}: choose from {', '.join(allowed)}")
    return chosen


def _settings(pairs: list[str], parser: argparse.ArgumentParser) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or shortcut_field(name, SECTIONS) is None:
            parser.error(
                f"--set wants SECTION_FIELD=VALUE with a MemorySettings field, got {pair!r}"
            )
        try:
            settings[name] = json.loads(value)
        except json.JSONDecodeError:
            settings[name] = value
    return settings


def data_path(given: Path | None) -> Path:
    """``--data``, else ``$LOCOMO_PATH``, else the shared copy beside the repository."""
    if given is not None:
        return given
    if os.environ.get(DATA_VARIABLE):
        return Path(os.environ[DATA_VARIABLE])
    return DEFAULT_DATA


# -- one backend ----------------------------------------------------------------------------


async def ingest(memory: Memory, samples: Sequence[Sample]) -> dict[str, Any]:
    """Store every sample, a session per call, and wait until everything is embedded."""
    messages = 0
    started = time.perf_counter()
    for sample in samples:
        for session in sample.sessions():
            await memory.store_messages(session, sample.conversation_id)
            messages += len(session)
    stored = time.perf_counter()
    await memory.wait_for_embeddings()
    done = time.perf_counter()
    return {
        "messages": messages,
        "store_seconds": round(stored - started, 2),
        "embedding_wait_seconds": round(done - stored, 2),
        "seconds": round(done - started, 2),
        "messages_per_s": round(messages / (done - started), 1),
    }


async def ask(
    memory: Memory, samples: Sequence[Sample], mode: SearchMode
) -> tuple[list[Answered], list[int]]:
    """Every question of every sample, scoped to its user; the answers and latencies (ns)."""
    answered: list[Answered] = []
    latencies: list[int] = []
    for sample in samples:
        for question in sample.questions:
            started = time.perf_counter_ns()
            hits = await memory.search(
                question.text, user_id=sample.user_id, limit=SEARCH_LIMIT, mode=mode
            )
            latencies.append(time.perf_counter_ns() - started)
            found = tuple(
                str(hit.message.metadata.get("dia_id"))
                for hit in hits
                if hit.message is not None and "dia_id" in hit.message.metadata
            )
            answered.append(
                Answered(
                    sample.sample_id,
                    question.index,
                    question.category,
                    question.evidence,
                    found,
                )
            )
    return answered, latencies


def mode_result(answered: list[Answered], latencies: list[int], details: bool) -> dict[str, Any]:
    """Recall and latency of one mode (and each question's evidence ranks, if asked)."""
    result: dict[str, Any] = {
        "recall": recall_report(answered),
        "latency_ms": {
            "p50": round(percentile(latencies, 50) / 1e6, 2),
            "p95": round(percentile(latencies, 95) / 1e6, 2),
            "mean": round(sum(latencies) / len(latencies) / 1e6, 2),
        },
    }
    if details:
        result["questions"] = [
            {"sample": a.sample_id, "qa": a.index, "category": a.category, "ranks": a.ranks()}
            for a in answered
        ]
    return result


def _index_factory(name: str, folder: Path) -> Callable[[], VectorIndex | None]:
    """What each store of backend ``name`` searches vectors with (None: the SQL database)."""
    if name != "qdrant":
        return lambda: None
    from bruno_memory.adapters.vector.qdrant import QdrantVectorIndex

    return lambda: QdrantVectorIndex.local(folder / "qdrant")


def qdrant_missing() -> str | None:
    """Why the ``qdrant`` backend cannot run here, or None when it can."""
    try:
        from bruno_memory.adapters.vector.qdrant import QdrantVectorIndex  # noqa: F401
    except (ImportError, MissingDependencyError) as exc:  # the module or qdrant-client
        return f"{type(exc).__name__}: {exc}"
    return None


async def run_backend(
    name: str,
    samples: Sequence[Sample],
    modes: Sequence[SearchMode],
    embedder: Any,
    settings: dict[str, Any],
    details: bool,
) -> dict[str, Any]:
    """Ingest the samples into a fresh database of ``name`` and ask every question per mode."""
    database = "postgres" if name == "postgres" else "sqlite"
    async with (
        open_backend(database) as backend,
        backend.database(f"locomo_{name}") as url,
    ):
        with tempfile.TemporaryDirectory(prefix="bruno-bench-locomo-") as folder:
            index = _index_factory(name, Path(folder))

            def open_store() -> Memory:
                return create_memory(url, embedder=embedder, vector_index=index(), **settings)

            console.print(f"[bold]{name}[/bold]: {backend.description}")
            async with open_store() as memory:
                ingested = await ingest(memory, samples)
            console.print(
                f"  ingest: {ingested['messages']:,} messages in {ingested['seconds']:.1f} s "
                f"({ingested['messages_per_s']:,.0f}/s, embedding wait "
                f"{ingested['embedding_wait_seconds']:.1f} s)"
            )
            results: dict[str, Any] = {}
            for mode in modes:
                async with open_store() as memory:
                    started = time.perf_counter()
                    answered, latencies = await ask(memory, samples, mode)
                results[mode] = mode_result(answered, latencies, details)
                overall = results[mode]["recall"]["overall"]
                console.print(
                    f"  {mode}: R@5 {overall['r@5']:.3f} R@10 {overall['r@10']:.3f} "
                    f"R@20 {overall['r@20']:.3f} ({time.perf_counter() - started:.1f} s)"
                )
    return {
        "description": backend.description,
        "vector_index": _vector_index_note(name),
        "ingest": ingested,
        "modes": results,
    }


def _vector_index_note(name: str) -> str:
    return {
        "sqlite": "SQL table, exact numpy scan",
        "postgres": "pgvector when the server has it (a user's few hundred vectors are "
        "scanned exactly: filters matching <= 20,000 vectors skip HNSW)",
        "qdrant": "embedded local Qdrant (exact)",
    }[name]


# -- report ---------------------------------------------------------------------------------


def recall_table(name: str, result: dict[str, Any]) -> Table:
    """Recall per mode and category, latency per mode, with the reference baseline."""
    ingested = result["ingest"]
    table = Table(
        title=f"{name}: recall (ingest {ingested['messages_per_s']:,.0f} msg/s)",
        title_justify="left",
    )
    for heading in ("mode", "questions", *(f"R@{k}" for k in KS), "p50 ms", "p95 ms"):
        table.add_column(heading, justify="left" if heading in ("mode", "questions") else "right")
    for mode, outcome in result["modes"].items():
        for key, recall in outcome["recall"].items():
            overall = key == "overall"
            label = "all" if overall else f"{key} {CATEGORIES[int(key)]}"
            table.add_row(
                f"[bold]{mode}[/bold]" if overall else "",
                f"{label} ({recall['n']})",
                *(f"{recall[f'r@{k}']:.3f}" for k in KS),
                f"{outcome['latency_ms']['p50']:.1f}" if overall else "",
                f"{outcome['latency_ms']['p95']:.1f}" if overall else "",
                end_section=key == list(outcome["recall"])[-1],
            )
    table.add_row(
        "[dim]baseline[/dim]", "hybrid RRF, 6 conv.", *(f"{BASELINE[f'r@{k}']:.3f}" for k in KS)
    )
    return table


async def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 on success."""
    arguments = parse_arguments(argv)
    path = data_path(arguments.data)
    if not path.is_file():
        console.print(f"[red]no LoCoMo data at {path}[/red]: pass --data or set {DATA_VARIABLE}")
        return 2
    samples = load(path)[: arguments.limit_conversations]
    quirks: Counter[str] = sum((sample.quirks for sample in samples), Counter())
    dropped = [d for sample in samples for d in sample.dropped_evidence]
    console.print(
        f"{len(samples)} conversations, {sum(len(s.turns) for s in samples):,} turns, "
        f"{sum(len(s.questions) for s in samples)} questions (categories 1-4); "
        f"evidence: {dict(quirks)}, dropped {dropped}"
    )
    embedder = default_embedder()
    if embedder is None:
        console.print("[red]the embeddings extra is not installed[/red]")
        return 2
    document: dict[str, Any] = {
        "benchmark": "locomo-retrieval",
        "started": now_iso(),
        "data": {
            "path": str(path),
            "conversations": [s.sample_id for s in samples],
            "turns": sum(len(s.turns) for s in samples),
            "questions": sum(len(s.questions) for s in samples),
            "evidence": {**dict(quirks), "dropped_ids": dropped},
        },
        "search": {"limit": SEARCH_LIMIT, "ks": list(KS), "settings": arguments.settings},
        "embedder": embedder_key(embedder),
        "baseline_hybrid": BASELINE,
        "machine": machine_info(),
        "backends": {},
        "skipped": {},
    }
    for name in arguments.backends:
        if name == "qdrant" and (reason := qdrant_missing()) is not None:
            console.print(f"[yellow]qdrant skipped[/yellow]: {reason}")
            document["skipped"][name] = reason
            continue
        result = await run_backend(
            name, samples, arguments.modes, embedder, arguments.settings, arguments.details
        )
        document["backends"][name] = result
        console.print(recall_table(name, result))
    document["finished"] = now_iso()
    write_json(arguments.out, document)
    console.print(f"results: {arguments.out}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
