"""Embedding off the write path: queued items are embedded in the background.

Writes put a job per message or memory in ``embedding_jobs`` inside their own transaction (a
transactional outbox), so an item is stored whether or not the embedder is up. The indexer
drains the queue in batches: it reuses vectors already stored for the same text under the
same model (the cache), embeds the rest, and stores the vectors (in SQL, and in an external
index such as Qdrant when one is configured). A failed batch stays queued with its error and
is retried with backoff; ``backlog()`` shows what waits. A new model queues every item it has
no vector for, so changing the model is a resumable re-embedding job.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence

from bruno_core.interfaces.embedding import EmbeddingInterface

from bruno_memory.adapters.embeddings import EmbeddingError
from bruno_memory.db.engine import Database
from bruno_memory.db.types import utc_now
from bruno_memory.managers.vectors import write_vectors
from bruno_memory.ports.embedding import as_unit_vectors, embedder_key
from bruno_memory.ports.vector import (
    ItemKind,
    Vector,
    VectorFilter,
    VectorIndex,
    VectorRecord,
)
from bruno_memory.repositories.embeddings import PendingItem
from bruno_memory.uow import UnitOfWork

logger = logging.getLogger(__name__)

#: Seconds between looks at the queue when no write in this process signalled one.
POLL_INTERVAL = 2.0
#: Wait before the first retry of a failed batch; it doubles with each attempt, up to the max.
FIRST_BACKOFF = dt.timedelta(seconds=5)
MAX_BACKOFF = dt.timedelta(minutes=5)
#: Seconds stop() waits for the batch in progress before cancelling it.
STOP_TIMEOUT = 30.0


class EmbeddingIndexer:
    """Keeps every stored message and memory embedded with one model."""

    def __init__(
        self,
        database: Database,
        embedder: EmbeddingInterface,
        *,
        external_index: VectorIndex | None,
        batch_size: int,
        on_indexed: Callable[[], None] = lambda: None,
    ) -> None:
        self.embedder = embedder
        self.model_key = embedder_key(embedder)
        self.dimension = embedder.get_dimension()
        self._database = database
        self._external = external_index
        self._batch_size = batch_size
        self._on_indexed = on_indexed
        self._wake = asyncio.Event()
        self._drain_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Register the model (queueing what it has not embedded yet) and start draining."""
        async with UnitOfWork(self._database, write=True) as uow:
            if await uow.embeddings.register_model(self.model_key, self.dimension):
                await uow.embeddings.enqueue_missing(self.model_key)
            await uow.commit()
        if self._task is None:
            self._task = asyncio.create_task(
                self._run(), name=f"bruno-memory indexer {self.model_key}"
            )
        self.notify()

    async def stop(self) -> None:
        """Stop the background task after its current batch (queued items stay queued).

        Cancelling mid-batch could interrupt a database call half way, so the task is asked
        to stop between batches and only cancelled if it does not within STOP_TIMEOUT.
        """
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_TIMEOUT)
        except asyncio.TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        finally:
            self._task = None
            self._stopping = False

    def notify(self) -> None:
        """Tell the indexer that new items were queued."""
        self._wake.set()

    async def forget(self, where: VectorFilter) -> None:
        """Remove vectors from the external index (SQL vectors go by cascade with their items)."""
        if self._external is not None:
            await self._external.delete_where(where)

    async def forget_items(self, kind: ItemKind, item_ids: Sequence[uuid.UUID]) -> None:
        """Remove these items' vectors from the external index."""
        if self._external is not None and item_ids:
            await self._external.delete_items(kind, item_ids)

    async def backlog(self) -> int:
        """How many items wait to be embedded with the current model."""
        async with UnitOfWork(self._database) as uow:
            return await uow.embeddings.backlog(self.model_key)

    async def drop_other_models(self) -> dict[str, int]:
        """Delete the vectors, jobs and registration of every other model in one transaction
        (and their vectors in the external index), once this model has embedded every item;
        the vectors deleted per model key. A model dropped and configured again re-embeds."""
        async with UnitOfWork(self._database, write=True) as uow:
            waiting = await uow.embeddings.backlog(self.model_key)
            if waiting:
                raise EmbeddingError(
                    f"{waiting} items still wait to be embedded with {self.model_key}; "
                    "nothing was dropped (wait for the embeddings first)",
                    details={"model_key": self.model_key, "backlog": waiting},
                )
            dropped = await uow.embeddings.drop_models_except(self.model_key)
            await uow.commit()
        for model_key in dropped:
            await self.forget(VectorFilter(model_key=model_key))
        self._on_indexed()
        return dropped

    async def drain(self) -> None:
        """Embed everything queued now, retries included; raise the embedder's error if it fails."""
        await self._drain(due_only=False)

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_INTERVAL)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self._drain(due_only=True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the loop alive; the jobs record the error
                logger.warning("embedding batch failed, will retry: %s", exc)

    async def _drain(self, *, due_only: bool) -> None:
        async with self._drain_lock:
            while not (due_only and self._stopping):
                async with UnitOfWork(self._database) as uow:
                    items = await uow.embeddings.pending(
                        self.model_key, self._batch_size, utc_now() if due_only else None
                    )
                if not items:
                    return
                await self._index(items)

    async def _index(self, items: Sequence[PendingItem]) -> None:
        hashes = [hashlib.sha256(item.text.encode()).hexdigest() for item in items]
        try:
            vectors = await self._vectors([item.text for item in items], hashes)
        except Exception as exc:
            await self._postpone(items, exc)
            raise EmbeddingError(f"embedding {len(items)} items failed: {exc}", cause=exc) from exc
        records = [
            VectorRecord(
                kind=item.kind,
                item_id=item.item_id,
                model_key=self.model_key,
                vector=vector,
                user_id=item.user_id,
                conversation_id=item.conversation_id,
                timestamp=item.timestamp,
                role=item.role,
            )
            for item, vector in zip(items, vectors, strict=True)
        ]
        if self._external is not None:
            await self._external.upsert(records)
        async with UnitOfWork(self._database, write=True) as uow:
            stored = await write_vectors(uow, records, hashes)
            await uow.embeddings.finish([item.job_pk for item in items])
            await uow.commit()
        self._on_indexed()
        # Items deleted while being embedded: take them out of the external index too.
        for kind in ("message", "memory"):
            await self.forget_items(
                kind, [r.item_id for r in records if r.kind == kind and r.item_id not in stored]
            )

    async def _vectors(self, texts: list[str], hashes: list[str]) -> list[Vector]:
        """One unit vector per text: stored ones for texts seen before, fresh ones otherwise."""
        async with UnitOfWork(self._database) as uow:
            known = await uow.embeddings.cached(self.model_key, hashes)
        todo = {h: text for text, h in zip(texts, hashes, strict=True) if h not in known}
        if todo:
            fresh = as_unit_vectors(
                await self.embedder.embed_texts(list(todo.values())), self.dimension
            )
            known.update(zip(todo, fresh, strict=True))
        return [known[h] for h in hashes]

    async def _postpone(self, items: Sequence[PendingItem], exc: Exception) -> None:
        attempts = max(item.attempts for item in items)
        backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2**attempts)
        async with UnitOfWork(self._database, write=True) as uow:
            await uow.embeddings.postpone(
                [item.job_pk for item in items], f"{type(exc).__name__}: {exc}", utc_now() + backoff
            )
            await uow.commit()
