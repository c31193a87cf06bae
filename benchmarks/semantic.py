"""Semantic search benchmark: vector search latency and recall, and ingest with embedding on.

```
python -m benchmarks.semantic                  # 10k and 100k vectors; SQLite, pgvector, Qdrant
python -m benchmarks.semantic --quick          # 10k only
```

Vectors: 384-d, L2-normalized, drawn around 200 cluster centres (recall measured on uniform
random vectors says nothing about an ANN index). Each index gets the same records (10 users,
100 conversations) and 200 queries, with and without a user filter; recall@10 compares its
ids with the exact answer (:class:`ExactVectorIndex`) in the same run.

pgvector: vectors are loaded with the HNSW index dropped, then the index is built (its build
time is reported, with ``maintenance_work_mem`` as configured), because maintaining HNSW row
by row costs ~5 ms a vector on two cores; incremental ingest is measured separately below.

Ingest with embedding on: messages stored with the default offline embedder (MiniLM ONNX),
timed until ``wait_for_embeddings()`` returns.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from bruno_core.models.message import Message, MessageRole
from sqlalchemy import text

from benchmarks._report import console, machine_info, now_iso, target_table, write_json
from benchmarks._servers import open_backend
from benchmarks._stats import Measurement, Target
from bruno_memory import Memory, create_memory
from bruno_memory.adapters.embeddings import default_embedder
from bruno_memory.adapters.vector.exact import ExactVectorIndex
from bruno_memory.managers.vectors import SqlVectorIndex
from bruno_memory.ports.vector import VectorFilter, VectorIndex, VectorRecord

DIMENSIONS = 384
MODEL_KEY = "benchmark/clustered@1:384"
USERS = 10
CONVERSATIONS = 100
QUERIES = 200
K = 10
LOAD_BATCH = 5_000
CENTRES_SEED = 7


def clustered_vectors(count: int, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """``count`` unit vectors around 200 fixed random centres (data and queries share them)."""
    centres = np.random.default_rng(CENTRES_SEED).standard_normal((200, DIMENSIONS))
    vectors = centres[rng.integers(0, 200, count)] + 0.35 * rng.standard_normal((count, DIMENSIONS))
    vectors = vectors.astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def records(vectors: np.ndarray[Any, Any], ids: list[uuid.UUID]) -> list[VectorRecord]:
    """Vector records spread over users and conversations."""
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    return [
        VectorRecord(
            kind="message",
            item_id=item_id,
            model_key=MODEL_KEY,
            vector=vector,
            user_id=f"user-{i % USERS}",
            conversation_id=f"conv-{i % CONVERSATIONS}",
            timestamp=start + dt.timedelta(seconds=i),
            role="user",
        )
        for i, (item_id, vector) in enumerate(zip(ids, vectors, strict=True))
    ]


async def store_items(memory: Memory, count: int) -> list[uuid.UUID]:
    """Messages for the SQL index to hang vectors on (its rows reference stored items)."""
    ids: list[uuid.UUID] = []
    per_conversation = count // CONVERSATIONS
    for c in range(CONVERSATIONS):
        batch = [
            Message(
                role=MessageRole.USER,
                content=f"item {c} {n}",
                metadata={"user_id": f"user-{c % USERS}"},
            )
            for n in range(per_conversation)
        ]
        await memory.store_messages(batch, f"conv-{c}")
        ids += [message.id for message in batch]
    return ids


async def timed_searches(
    index: VectorIndex, queries: np.ndarray[Any, Any], where: VectorFilter
) -> tuple[list[int], list[list[uuid.UUID]]]:
    """Latency (ns) and result ids of each query."""
    samples, results = [], []
    await index.search(queries[0], where, K)  # warm up (loads matrices, caches)
    for query in queries:
        started = time.perf_counter_ns()
        found = await index.search(query, where, K)
        samples.append(time.perf_counter_ns() - started)
        results.append([match.item_id for match in found])
    return samples, results


def recall(found: list[list[uuid.UUID]], truth: list[list[uuid.UUID]]) -> float:
    """Mean share of the true top-k found."""
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True) if t])
    )


async def measure_index(
    name: str, index: VectorIndex, exact: ExactVectorIndex, queries: np.ndarray[Any, Any], size: int
) -> list[Measurement]:
    """p50/p95 and recall@10 of one index, unfiltered and filtered by user."""
    measurements = []
    for label, where in (
        ("no filter", VectorFilter(model_key=MODEL_KEY)),
        ("user filter", VectorFilter(model_key=MODEL_KEY, user_id="user-3")),
    ):
        samples, found = await timed_searches(index, queries, where)
        _, truth = await timed_searches(exact, queries, where)
        measurements.append(
            Measurement(
                backend=name,
                operation=f"search ({label})",
                subject="library",
                stored=size,
                items_per_call=1,
                samples_ns=samples,
                extra={"recall_at_10": round(recall(found, truth), 4)},
            )
        )
    return measurements


async def sql_index(
    backend_name: str, size: int, phases: dict[str, float]
) -> tuple[list[Measurement], list[VectorRecord], ExactVectorIndex]:
    """The SQL store's own index on SQLite or PostgreSQL (pgvector)."""
    async with (
        open_backend(backend_name) as backend,
        backend.database(f"semantic{size}") as url,
        create_memory(url, embedder=None) as memory,
    ):
        ids = await store_items(memory, size)
        batch = records(clustered_vectors(len(ids), np.random.default_rng(size)), ids)
        exact = ExactVectorIndex()
        await exact.upsert(batch)
        index = SqlVectorIndex(memory.storage.database)
        pgvector = await index.has_pgvector()
        if pgvector:
            await _execute(memory, "DROP INDEX ix_embeddings_embedding_hnsw_384")
        started = time.perf_counter()
        for start in range(0, len(batch), LOAD_BATCH):
            await index.upsert(batch[start : start + LOAD_BATCH])
        phases[f"{backend_name} load {size:,}"] = time.perf_counter() - started
        if pgvector:
            started = time.perf_counter()
            await _execute(
                memory,
                "CREATE INDEX ix_embeddings_embedding_hnsw_384 ON embeddings USING hnsw "
                "((embedding::vector(384)) vector_cosine_ops) WITH (m = 16, "
                "ef_construction = 64) WHERE dimensions = 384",
            )
            phases[f"{backend_name} HNSW build {size:,}"] = time.perf_counter() - started
        name = f"{backend_name} ({'pgvector HNSW' if pgvector else 'exact numpy'})"
        queries = clustered_vectors(QUERIES, np.random.default_rng(size + 1))
        return await measure_index(name, index, exact, queries, len(batch)), batch, exact


async def qdrant_index(
    stored: list[VectorRecord], exact: ExactVectorIndex, phases: dict[str, float]
) -> list[Measurement]:
    """Qdrant in local (embedded) mode with the same records."""
    from bruno_memory.adapters.vector.qdrant import QdrantVectorIndex

    index = QdrantVectorIndex.local()
    try:
        started = time.perf_counter()
        for start in range(0, len(stored), LOAD_BATCH):
            await index.upsert(stored[start : start + LOAD_BATCH])
        phases[f"qdrant load {len(stored):,}"] = time.perf_counter() - started
        queries = clustered_vectors(QUERIES, np.random.default_rng(len(stored) + 1))
        return await measure_index("qdrant (local mode)", index, exact, queries, len(stored))
    finally:
        await index.close()


async def _execute(memory: Memory, statement: str) -> None:
    async with memory.storage.database.engine.begin() as connection:
        await connection.execute(text("SET maintenance_work_mem = '512MB'"))
        await connection.execute(text(statement))


async def ingest_with_embedding(count: int) -> Measurement | None:
    """Messages per second through store_messages until every one is embedded (SQLite)."""
    embedder = default_embedder()
    if embedder is None:
        console.print("[yellow]ingest with embedding skipped: the embeddings extra is missing")
        return None
    async with (
        open_backend("sqlite") as backend,
        backend.database("ingest") as url,
        create_memory(url, embedder=embedder) as memory,
    ):
        texts = [
            f"Message {i}: we talked about trip number {i % 97} and the weather."
            for i in range(count)
        ]
        started = time.perf_counter_ns()
        for start in range(0, count, 500):
            batch = [Message(role=MessageRole.USER, content=t) for t in texts[start : start + 500]]
            await memory.store_messages(batch, f"ingest-{start // 5000}")
        await memory.wait_for_embeddings()
        elapsed = time.perf_counter_ns() - started
    return Measurement("sqlite", "ingest with embedding", "library", count, count, [elapsed])


def targets(measurements: list[Measurement]) -> list[Target]:
    """pgvector HNSW at 100k: p95 <= 20 ms and recall@10 >= 0.95 (unfiltered and by user)."""
    found = []
    for m in measurements:
        if "pgvector" in m.backend and m.stored == 100_000:
            p95, recall_10 = m.percentile_ms(95), m.extra["recall_at_10"]
            found.append(
                Target(
                    m.backend,
                    m.operation,
                    "p95 <= 20 ms, recall@10 >= 0.95 at 100k",
                    f"p95 {p95:.1f} ms, recall@10 {recall_10:.3f}",
                    p95 <= 20 and recall_10 >= 0.95,
                )
            )
    return found or [Target("postgres", "pgvector HNSW at 100k", "p95 <= 20 ms", "-", None)]


def results_table(measurements: list[Measurement]) -> Any:
    """One row per index, size and filter."""
    from rich.table import Table

    table = Table(title="vector search, top-10, 384-d clustered vectors", title_justify="left")
    for heading in ("index", "vectors", "query", "p50 ms", "p95 ms", "recall@10", "per second"):
        table.add_column(heading, justify="left" if heading in ("index", "query") else "right")
    for m in measurements:
        recall_10 = m.extra.get("recall_at_10")
        table.add_row(
            m.backend,
            f"{m.stored:,}",
            m.operation,
            f"{m.percentile_ms(50):.2f}",
            f"{m.percentile_ms(95):.2f}",
            "" if recall_10 is None else f"{recall_10:.3f}",
            f"{m.rate_per_s:,.0f}",
        )
    return table


async def run(sizes: list[int], backends: list[str], ingest: int, out: Path) -> None:
    """Measure every index at every size, print the tables and write the JSON."""
    measurements: list[Measurement] = []
    phases: dict[str, float] = {}
    for size in sizes:
        exact: ExactVectorIndex | None = None
        stored: list[VectorRecord] = []
        for backend in (b for b in backends if b in ("sqlite", "postgres")):
            console.print(f"[bold]{backend}[/bold] {size:,} vectors")
            found, stored, exact = await sql_index(backend, size, phases)
            measurements += found
        if "qdrant" in backends and exact is not None:
            console.print(f"[bold]qdrant[/bold] {size:,} vectors")
            measurements += await qdrant_index(stored, exact, phases)
    ingest_measurement = await ingest_with_embedding(ingest) if ingest else None
    console.print(results_table(measurements))
    if ingest_measurement is not None:
        console.print(
            f"ingest with embedding on (SQLite, MiniLM ONNX, 2 cores): "
            f"{ingest_measurement.rate_per_s:,.0f} messages/s over {ingest:,} messages"
        )
        measurements.append(ingest_measurement)
    console.print("phases (s): " + " | ".join(f"{k} {v:,.1f}" for k, v in phases.items()))
    goals = targets(measurements)
    console.print(target_table(goals))
    write_json(
        out,
        {
            "benchmark": "semantic",
            "date": now_iso(),
            "machine": machine_info(),
            "parameters": {"sizes": sizes, "backends": backends, "queries": QUERIES, "k": K},
            "measurements": [m.summary() for m in measurements],
            "phases_s": {k: round(v, 2) for k, v in phases.items()},
            "targets": [t.summary() for t in goals],
        },
    )
    console.print(f"written: {out}")


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="sqlite,postgres,qdrant")
    parser.add_argument("--ingest", type=int, default=5_000, help="messages (0: skip)")
    parser.add_argument("--quick", action="store_true", help="10k vectors, 1k ingest")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/semantic.json"))
    arguments = parser.parse_args()
    sizes = [10_000] if arguments.quick else [int(s) for s in arguments.sizes.split(",")]
    ingest = 1_000 if arguments.quick else arguments.ingest
    asyncio.run(run(sizes, arguments.backends.split(","), ingest, arguments.out))


if __name__ == "__main__":
    main()
