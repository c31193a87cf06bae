"""``bruno-memory erase-user`` and ``bruno-memory reembed``: erasing a user, changing the
embedding model."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

import typer
from bruno_core.interfaces.embedding import EmbeddingInterface

from bruno_memory.adapters.embeddings import HashingEmbedder, default_embedder, missing_dependency
from bruno_memory.cli.output import AsJson, Url, emit, errors, progress, run
from bruno_memory.cli.store import open_store
from bruno_memory.errors import MissingDependencyError
from bruno_memory.ports.embedding import embedder_key

#: Seconds between looks at the backlog while a progress bar shows it.
PROGRESS_INTERVAL = 0.5


def erase_user(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Erase without asking.")] = False,
    url: Url = None,
    as_json: AsJson = False,
) -> None:
    """Delete the user and everything they own (the library's delete_user()), in one
    transaction; prints what was deleted per kind. A user never stored: zero counts."""
    if not yes:
        if not sys.stdin.isatty():
            errors.print("error: erasing a user cannot be undone: pass --yes", highlight=False)
            raise typer.Exit(2)
        typer.confirm(f"Erase user {user_id} and everything they own?", abort=True)

    async def deleted() -> AsyncIterator[Mapping[str, Any]]:
        async with open_store(url) as memory:
            counts = await memory.delete_user(user_id)
        for kind, count in counts.items():
            yield {"kind": kind, "deleted": count}

    run(emit(deleted(), ("kind", "deleted"), as_json=as_json, limit=0))


def _embedder(model: str) -> EmbeddingInterface:
    """The embedder ``--model`` names: ``local`` (the offline model) or ``hashing:DIM``."""
    if model == "local":
        embedder = default_embedder()
        if embedder is None:
            raise MissingDependencyError(missing_dependency() or "onnxruntime", "embeddings")
        return embedder
    kind, _, size = model.partition(":")
    if kind != "hashing" or not size.isdigit() or int(size) < 1:
        raise typer.BadParameter("local, or hashing:DIM (e.g. hashing:64)", param_hint="--model")
    return HashingEmbedder(int(size))


def reembed(
    model: Annotated[
        str,
        typer.Option("--model", help="local (the offline model) or hashing:DIM (tests)."),
    ] = "local",
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            help="Items embedded per batch (default: BRUNO_MEMORY_EMBEDDING_BATCH_SIZE, 256).",
        ),
    ] = None,
    drop_others: Annotated[
        bool,
        typer.Option("--drop-others", help="Then delete the vectors of every other model."),
    ] = False,
    url: Url = None,
    as_json: AsJson = False,
) -> None:
    """Embed every message and memory with --model: it is registered, what it lacks queued
    and the queue drained (killed, run it again: it goes on where it stopped). Prints the
    items embedded and, with --drop-others, the vectors deleted per other model."""
    embedder = _embedder(model)
    key = embedder_key(embedder)
    options = {} if batch_size is None else {"embedding_batch_size": batch_size}

    async def work() -> tuple[int, float, dict[str, int]]:
        started = time.perf_counter()
        async with open_store(url, embedder=embedder, **options) as memory:
            total = await memory.embedding_backlog()
            with progress("embedding…", quiet=as_json, total=total) as update:
                waiting = asyncio.ensure_future(memory.wait_for_embeddings())
                while not (await asyncio.wait({waiting}, timeout=PROGRESS_INTERVAL))[0]:
                    if update is not None:
                        update(completed=total - await memory.embedding_backlog())
                await waiting
            dropped = await memory.drop_other_embeddings() if drop_others else {}
        return total, time.perf_counter() - started, dropped

    total, seconds, dropped = run(work())

    async def rows() -> AsyncIterator[Mapping[str, Any]]:
        yield {"model": key, "embedded": total, "dropped": 0, "seconds": round(seconds, 3)}
        for other, count in dropped.items():
            yield {"model": other, "embedded": 0, "dropped": count, "seconds": None}

    run(emit(rows(), ("model", "embedded", "dropped", "seconds"), as_json=as_json, limit=0))
