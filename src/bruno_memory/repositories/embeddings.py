"""Embeddings, the embedding job queue and the registry of models."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    Select,
    String,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.orm import aliased

from bruno_memory.db.models import Embedding, EmbeddingJob, EmbeddingModel, Memory, Message
from bruno_memory.db.vectors import HNSW_INDEX_PREFIX, PGVECTOR_COLUMN, PgVector, vector_literal
from bruno_memory.ports.vector import ItemKind, VectorFilter
from bruno_memory.repositories.base import Repository


@dataclass(frozen=True)
class VectorRows:
    """A chunk of stored vectors (raw little-endian float32 bytes) with their search fields."""

    pks: list[int]
    kinds: list[str]
    item_ids: list[uuid.UUID]
    user_ids: list[str | None]
    conversation_ids: list[str | None]
    roles: list[str | None]
    timestamps: list[dt.datetime]
    vectors: list[bytes]


@dataclass(frozen=True)
class PendingItem:
    """A queued item with what embedding it needs: its text and its search fields."""

    job_pk: int
    kind: ItemKind
    item_pk: int
    item_id: uuid.UUID
    text: str
    user_id: str | None
    conversation_id: str | None
    role: str | None
    timestamp: dt.datetime
    attempts: int


class EmbeddingRepository(Repository):
    """Rows of ``embeddings``, ``embedding_jobs`` and ``embedding_models``."""

    async def register_model(self, key: str, dimensions: int) -> bool:
        """Record a model; True if it is new (its backfill has to be queued)."""
        if await self.session.get(EmbeddingModel, key) is not None:
            return False
        await self.insert_ignoring_conflicts(
            EmbeddingModel, [{"key": key, "dimensions": dimensions}]
        )
        return True

    async def enqueue_messages(
        self, model_key: str, conversation_id: str, first_seq: int, last_seq: int
    ) -> None:
        """Queue the messages stored at positions ``first_seq..last_seq`` of a conversation."""
        chosen = select(Message.pk, literal(model_key)).where(
            Message.conversation_id == conversation_id, Message.seq.between(first_seq, last_seq)
        )
        await self.session.execute(
            insert(EmbeddingJob).from_select(["message_pk", "model_key"], chosen)
        )

    async def enqueue_memory(self, model_key: str, memory_pk: int) -> None:
        """Queue one memory (again, after its content changed)."""
        await self.session.execute(delete(Embedding).where(Embedding.memory_pk == memory_pk))
        await self.insert_ignoring_conflicts(
            EmbeddingJob, [{"memory_pk": memory_pk, "model_key": model_key}]
        )

    async def enqueue_missing(
        self, model_key: str, only: tuple[ItemKind, Sequence[int]] | None = None
    ) -> None:
        """Queue every message and memory that has no vector and no job for the model (with
        ``only``: those of one kind among these surrogate keys)."""
        for column, model in ((EmbeddingJob.message_pk, Message), (EmbeddingJob.memory_pk, Memory)):
            kind: ItemKind = "message" if model is Message else "memory"
            if only is not None and only[0] != kind:
                continue
            embedded = exists().where(
                getattr(Embedding, column.key) == model.pk, Embedding.model_key == model_key
            )
            queued = exists().where(column == model.pk, EmbeddingJob.model_key == model_key)
            chosen = select(model.pk, literal(model_key)).where(~embedded, ~queued)
            if only is not None:
                chosen = chosen.where(model.pk.in_(list(only[1])))
            await self.session.execute(
                insert(EmbeddingJob).from_select([column.key, "model_key"], chosen)
            )

    async def pending(
        self, model_key: str, limit: int, now: dt.datetime | None
    ) -> list[PendingItem]:
        """Up to ``limit`` queued items, oldest first; with ``now``, only those due by then."""
        items: list[PendingItem] = []
        for kind in ("message", "memory"):
            statement = self._pending_query(kind, model_key).order_by(EmbeddingJob.pk).limit(limit)
            if now is not None:
                statement = statement.where(EmbeddingJob.available_at <= now)
            rows = (await self.session.execute(statement)).all()
            items += [PendingItem(row[0], kind, *row[1:]) for row in rows]
        return sorted(items, key=lambda item: item.job_pk)[:limit]

    @staticmethod
    def _pending_query(kind: ItemKind, model_key: str) -> Select[Any]:
        item: type[Message] | type[Memory] = Message if kind == "message" else Memory
        job_column = EmbeddingJob.message_pk if kind == "message" else EmbeddingJob.memory_pk
        role = Message.role if kind == "message" else Memory.memory_type
        time = Message.timestamp if kind == "message" else Memory.created_at
        return (
            select(
                EmbeddingJob.pk,
                item.pk,
                item.id,
                item.content,
                item.user_id,
                item.conversation_id,
                role,
                time,
                EmbeddingJob.attempts,
            )
            .join(item, item.pk == job_column)
            .where(EmbeddingJob.model_key == model_key)
        )

    async def cached(
        self, model_key: str, hashes: Sequence[str]
    ) -> dict[str, npt.NDArray[np.float32]]:
        """Stored vectors of the model for texts with these content hashes."""
        if not hashes:
            return {}
        rows = await self.session.execute(
            select(Embedding.content_hash, Embedding.vector).where(
                Embedding.model_key == model_key, Embedding.content_hash.in_(set(hashes))
            )
        )
        return {str(row[0]): row[1] for row in rows.all()}

    async def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert embeddings; an item that already has a vector of the model keeps it."""
        if rows:
            await self.insert_ignoring_conflicts(Embedding, rows)

    async def finish(self, job_pks: Sequence[int]) -> None:
        """Remove done jobs from the queue."""
        if job_pks:
            await self.session.execute(delete(EmbeddingJob).where(EmbeddingJob.pk.in_(job_pks)))

    async def postpone(self, job_pks: Sequence[int], error: str, until: dt.datetime) -> None:
        """Record a failed attempt; the jobs are due again at ``until``."""
        await self.session.execute(
            update(EmbeddingJob)
            .where(EmbeddingJob.pk.in_(job_pks))
            .values(attempts=EmbeddingJob.attempts + 1, last_error=error[:2000], available_at=until)
        )

    async def backlog(self, model_key: str) -> int:
        """How many items wait to be embedded with the model."""
        count = await self.session.scalar(
            select(func.count())
            .select_from(EmbeddingJob)
            .where(EmbeddingJob.model_key == model_key)
        )
        return int(count or 0)

    async def drop_models_except(self, model_key: str) -> dict[str, int]:
        """Delete every other model's vectors, queued jobs and registration; the vectors
        deleted per model key (0 for a model registered without any)."""
        counts = await self.session.execute(
            select(Embedding.model_key, func.count())
            .where(Embedding.model_key != model_key)
            .group_by(Embedding.model_key)
        )
        dropped = {str(key): int(count) for key, count in counts.all()}
        others = await self.session.scalars(
            select(EmbeddingModel.key).where(EmbeddingModel.key != model_key)
        )
        dropped |= {key: 0 for key in others if key not in dropped}
        await self.session.execute(delete(Embedding).where(Embedding.model_key != model_key))
        await self.session.execute(delete(EmbeddingJob).where(EmbeddingJob.model_key != model_key))
        await self.session.execute(delete(EmbeddingModel).where(EmbeddingModel.key != model_key))
        return dropped

    async def item_pks(self, kind: ItemKind, item_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Surrogate keys of the stored messages or memories among ``item_ids``."""
        model = Message if kind == "message" else Memory
        rows = await self.session.execute(select(model.id, model.pk).where(model.id.in_(item_ids)))
        return {row[0]: int(row[1]) for row in rows.all()}

    async def upsert(self, kind: ItemKind, rows: Sequence[dict[str, Any]]) -> None:
        """Store vectors, replacing an item's vector of the same model.

        A replaced vector gets a new row (and key) rather than an update in place, so the
        in-memory matrices of :mod:`bruno_memory.managers.matrix` see the change.
        """
        column = Embedding.message_pk if kind == "message" else Embedding.memory_pk
        for model_key in {row["model_key"] for row in rows}:
            pks = [row[column.key] for row in rows if row["model_key"] == model_key]
            await self.session.execute(
                delete(Embedding).where(Embedding.model_key == model_key, column.in_(pks))
            )
        await self.session.execute(insert(Embedding), list(rows))

    async def delete(self, where: VectorFilter, item_ids: Sequence[uuid.UUID] = ()) -> None:
        """Delete the vectors matching the filter (and, if given, belonging to these items)."""
        statement = delete(Embedding).where(*conditions(where))
        if item_ids:
            statement = statement.where(Embedding.item_id.in_(item_ids))
        await self.session.execute(statement)

    async def has_pgvector_column(self) -> bool:
        """True when the pgvector column exists (PostgreSQL with the extension)."""
        if self.dialect != "postgresql":
            return False
        found = await self.session.scalar(
            text(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'embeddings' AND column_name = :column"
            ).bindparams(column=PGVECTOR_COLUMN)
        )
        return found is not None

    async def hnsw_dimensions(self) -> list[int]:
        """The vector sizes that have an HNSW index (PostgreSQL with pgvector), ascending."""
        if self.dialect != "postgresql":
            return []
        names = await self.session.scalars(
            text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = 'embeddings'"
            )
        )
        prefix = HNSW_INDEX_PREFIX
        return sorted(int(n.removeprefix(prefix)) for n in names if n.startswith(prefix))

    async def models(self) -> list[tuple[str, int, int]]:
        """Each registered model, by key: its key, vectors stored and items queued."""
        vectors = select(func.count()).select_from(Embedding)
        queued = select(func.count()).select_from(EmbeddingJob)
        statement = select(
            EmbeddingModel.key,
            vectors.where(Embedding.model_key == EmbeddingModel.key).scalar_subquery(),
            queued.where(EmbeddingJob.model_key == EmbeddingModel.key).scalar_subquery(),
        ).order_by(EmbeddingModel.key)
        rows = (await self.session.execute(statement)).all()
        return [(str(key), int(count), int(queued)) for key, count, queued in rows]

    async def set_ef_search(self, ef_search: int) -> None:
        """Size of HNSW's candidate list for the rest of this transaction."""
        await self.session.execute(text(f"SET LOCAL hnsw.ef_search = {int(ef_search)}"))

    async def nearest_pgvector(
        self,
        query: npt.NDArray[np.float32],
        where: VectorFilter,
        limit: int,
        *,
        candidates: int | None,
    ) -> list[tuple[str, uuid.UUID, float]]:
        """``(kind, item_id, cosine similarity)`` of the nearest vectors, by pgvector.

        With ``candidates``, the HNSW index yields that many nearest vectors of the right size
        and the filter applies to them (an inner query with nothing but the index's own
        predicate, so the planner cannot pick another plan whatever its statistics say).
        Without, the filtered rows are scanned exactly.
        """
        dimensions = int(query.shape[0])
        column: ColumnElement[Any] = literal_column(PGVECTOR_COLUMN)
        # A scalar subquery is evaluated once; a bare cast of the parameter would be parsed
        # again for every distance the index computes (~200x slower).
        target = select(
            cast(
                bindparam("query_vector", vector_literal(query.tolist()), String),
                PgVector(dimensions),
            )
        ).scalar_subquery()
        sized = Embedding.dimensions == dimensions
        if candidates is None:
            distance = column.op("<=>")(target)  # the bare column: no index matches it
            statement = (
                select(Embedding.kind, Embedding.item_id, distance.label("distance"))
                .where(sized, *conditions(where))
                .order_by(distance)
                .limit(limit)
            )
        else:
            # Cast to vector(n), the column matches the HNSW index expression.
            distance = cast(column, PgVector(dimensions)).op("<=>")(target)
            nearest = (
                select(Embedding, distance.label("distance"))
                .where(sized)
                .order_by(distance)
                .limit(candidates)
                .subquery()
            )
            found = aliased(Embedding, nearest)
            statement = (
                select(found.kind, found.item_id, nearest.c.distance)
                .where(*conditions(where, found))
                .order_by(nearest.c.distance)
                .limit(limit)
            )
        rows = (await self.session.execute(statement)).all()
        return [(row[0], row[1], 1.0 - float(row[2])) for row in rows]

    async def dimensions(self, model_keys: set[str]) -> dict[str, int]:
        """The vector size of each of these models that has vectors stored (one index probe
        per model: a model has one size)."""
        found = {}
        for model_key in model_keys:
            size = await self.session.scalar(
                select(Embedding.dimensions).where(Embedding.model_key == model_key).limit(1)
            )
            if size is not None:
                found[model_key] = int(size)
        return found

    async def fingerprint(self, model_key: str, user_id: str | None) -> tuple[int, int]:
        """``(row count, largest key)`` of a partition: changes whenever its rows change."""
        row = (
            await self.session.execute(
                select(func.count(), func.coalesce(func.max(Embedding.pk), 0)).where(
                    *_partition(model_key, user_id)
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    async def vector_rows(
        self,
        model_key: str,
        user_id: str | None,
        *,
        after_pk: int,
        chunk_size: int,
    ) -> AsyncIterator[VectorRows]:
        """The partition's rows with a key above ``after_pk``, in key order, chunk by chunk."""
        raw = (
            type_coerce(Embedding.vector, LargeBinary)
            if self.dialect == "sqlite"
            else Embedding.vector
        )
        statement = (
            select(
                Embedding.pk,
                Embedding.kind,
                Embedding.item_id,
                Embedding.user_id,
                Embedding.conversation_id,
                Embedding.role,
                Embedding.timestamp,
                raw,
            )
            .where(*_partition(model_key, user_id), Embedding.pk > after_pk)
            .order_by(Embedding.pk)
            .execution_options(yield_per=chunk_size)
        )
        result = await self.session.stream(statement)
        async for chunk in result.partitions(chunk_size):
            pks, kinds, item_ids, user_ids, conversation_ids, roles, timestamps, vectors = zip(
                *chunk, strict=True
            )
            yield VectorRows(
                pks=list(pks),
                kinds=list(kinds),
                item_ids=list(item_ids),
                user_ids=list(user_ids),
                conversation_ids=list(conversation_ids),
                roles=list(roles),
                timestamps=list(timestamps),
                vectors=[v if isinstance(v, bytes) else v.tobytes() for v in vectors],
            )

    async def count_up_to(self, where: VectorFilter, ceiling: int) -> int:
        """How many vectors match the filter, counting no further than ``ceiling``."""
        matching = select(Embedding.pk).where(*conditions(where)).limit(ceiling).subquery()
        return int(await self.session.scalar(select(func.count()).select_from(matching)) or 0)

    async def count(self, where: VectorFilter) -> int:
        """How many vectors match the filter."""
        count = await self.session.scalar(
            select(func.count()).select_from(Embedding).where(*conditions(where))
        )
        return int(count or 0)


def _partition(model_key: str, user_id: str | None) -> list[Any]:
    # A model key names one vector size, so the partition needs no dimension test (and its
    # count is answered from the (model_key, user_id, ...) index alone).
    clauses = [Embedding.model_key == model_key]
    if user_id is not None:
        clauses.append(Embedding.user_id == user_id)
    return clauses


def conditions(where: VectorFilter, rows: Any = Embedding) -> list[Any]:
    """SQL conditions for a vector filter, on ``embeddings`` or an alias of it."""
    clauses: list[Any] = []
    if where.model_key is not None:
        clauses.append(rows.model_key == where.model_key)
    if where.kinds:
        clauses.append(rows.kind.in_(where.kinds))
    if where.user_id is not None:
        clauses.append(rows.user_id == where.user_id)
    if where.conversation_id is not None:
        clauses.append(rows.conversation_id == where.conversation_id)
    if where.since is not None:
        clauses.append(rows.timestamp >= where.since)
    if where.until is not None:
        clauses.append(rows.timestamp < where.until)
    if where.exclude_roles:
        clauses.append(or_(rows.role.is_(None), rows.role.not_in(where.exclude_roles)))
    return clauses
