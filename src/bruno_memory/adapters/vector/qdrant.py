"""A vector index on Qdrant: the embedded local mode (in memory or in a folder) or a server.

Layout:

- **One collection per model** (``model_key``), named ``{prefix}_{slug}_{digest}``: a readable
  slug of the key plus 12 hex digits of its SHA-256, so any key yields a valid, distinct name.
  Vectors of different models can never meet in one search, and each collection has its
  model's dimension (fixed by its first vector) and cosine distance.
- **Point ids are ``uuid5(kind:item_id)``**, the same in every collection: an upsert replaces
  the item's point, and deleting items needs no lookup.
- **Payload**: ``kind``, ``item_id``, ``user_id``, ``conversation_id``, ``role``, ``model_key``
  and ``timestamp`` as float epoch seconds (range filters). On a server, the filter fields get
  payload indexes when the collection is created; local mode has no payload indexes.

Importing this module without ``qdrant-client`` raises
:class:`~bruno_memory.errors.MissingDependencyError`; Qdrant's own errors are raised as
:class:`~bruno_memory.errors.StorageError`. Local mode keeps everything in Python and scans
payloads one by one: fine for tests and small stores, not for large ones.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import re
import uuid
from collections.abc import Awaitable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from bruno_memory.errors import ConfigurationError, MissingDependencyError, StorageError
from bruno_memory.ports.vector import (
    ItemKind,
    Vector,
    VectorFilter,
    VectorMatch,
    VectorRecord,
    checked_vector,
    checked_vectors,
    epoch_micros,
    require_search,
)

try:
    from qdrant_client import AsyncQdrantClient, models
except ImportError as exc:  # pragma: no cover - exercised with qdrant-client hidden
    raise MissingDependencyError("qdrant-client", "qdrant") from exc

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PREFIX",
    "QdrantVectorIndex",
    "collection_name",
    "point_id",
]

DEFAULT_PREFIX = "bruno"
DEFAULT_BATCH_SIZE = 256

T = TypeVar("T")
_Point = tuple[VectorRecord, Vector]  # a record and its checked vector

_POINT_NAMESPACE = uuid.UUID("5b0d6a3e-8c1f-4f7e-9a57-2f2c1f0e6b11")
_KEYWORD_FIELDS = ("kind", "user_id", "conversation_id", "role")
_SLUG_LENGTH = 40
_DIGEST_LENGTH = 12


def collection_name(prefix: str, model_key: str) -> str:
    """The collection holding ``model_key``'s vectors for an index with this prefix."""
    slug = re.sub(r"[^a-z0-9]+", "-", model_key.lower()).strip("-")[:_SLUG_LENGTH]
    digest = hashlib.sha256(model_key.encode()).hexdigest()[:_DIGEST_LENGTH]
    return f"{prefix}_{slug}_{digest}"


def point_id(kind: ItemKind, item_id: uuid.UUID) -> str:
    """The point id of an item, the same in every collection."""
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{kind}:{item_id}"))


class QdrantVectorIndex:
    """A :class:`~bruno_memory.ports.vector.VectorIndex` on Qdrant.

    Build one with :meth:`local` (embedded Qdrant: exact search) or :meth:`server` (a Qdrant
    server: HNSW search), or pass an ``AsyncQdrantClient``. The collections named
    ``{prefix}_{slug}_{digest}`` belong to this index; indexes with other prefixes can share
    a server. ``payload_indexes`` is off for local mode, which has none.
    """

    name = "qdrant"

    def __init__(
        self,
        client: AsyncQdrantClient,
        *,
        prefix: str = DEFAULT_PREFIX,
        batch_size: int = DEFAULT_BATCH_SIZE,
        payload_indexes: bool = True,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9-]+", prefix):
            raise ConfigurationError(f"a collection prefix is letters, digits and '-': {prefix!r}")
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1, got {batch_size}")
        self._client = client
        self._prefix = prefix
        self._batch_size = batch_size
        self._payload_indexes = payload_indexes
        self._ours = re.compile(rf"{re.escape(prefix)}_[a-z0-9-]*_[0-9a-f]{{{_DIGEST_LENGTH}}}")
        self._dimensions: dict[str, int] = {}
        self._creating = asyncio.Lock()

    @classmethod
    def local(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        prefix: str = DEFAULT_PREFIX,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> QdrantVectorIndex:
        """Embedded Qdrant in folder ``path`` (locked while open), or in memory without one."""
        with _storage_errors("open the local Qdrant"):
            if path is None:
                client = AsyncQdrantClient(location=":memory:")
            else:
                client = AsyncQdrantClient(path=os.fspath(path))
        return cls(client, prefix=prefix, batch_size=batch_size, payload_indexes=False)

    @classmethod
    def server(
        cls,
        url: str,
        api_key: str | None = None,
        *,
        prefix: str = DEFAULT_PREFIX,
        batch_size: int = DEFAULT_BATCH_SIZE,
        **client_options: Any,
    ) -> QdrantVectorIndex:
        """A Qdrant server; ``client_options`` go to ``AsyncQdrantClient`` (e.g. ``timeout``)."""
        client = AsyncQdrantClient(url=url, api_key=api_key, **client_options)
        return cls(client, prefix=prefix, batch_size=batch_size)

    async def upsert(self, records: Sequence[VectorRecord]) -> None:
        """Insert or replace records (same kind, item and model replaces), in batches.

        Every vector is checked before the first batch is sent.
        """
        latest = _latest(records)
        stored = await self._stored_dimensions({record.model_key for record in latest})
        vectors = checked_vectors(latest, stored)
        for model_key, points in _by_model(zip(latest, vectors, strict=True)).items():
            name = collection_name(self._prefix, model_key)
            await self._ensure_collection(name, points[0][1].size)
            for start in range(0, len(points), self._batch_size):
                batch = _batch(points[start : start + self._batch_size])
                await _call("upsert", self._client.upsert(name, batch, wait=True))

    async def delete_items(self, kind: ItemKind, item_ids: Sequence[uuid.UUID]) -> None:
        """Remove every vector (of any model) of these items."""
        if not item_ids:
            return
        selector = models.PointIdsList(points=[point_id(kind, item_id) for item_id in item_ids])
        for name in await self._collections(VectorFilter()):
            await _call("delete", self._client.delete(name, selector, wait=True))

    async def delete_where(self, where: VectorFilter) -> None:
        """Remove every vector matching the filter, in its model's collection or in all."""
        selector = models.FilterSelector(filter=_qdrant_filter(where) or models.Filter())
        for name in await self._collections(where):
            await _call("delete", self._client.delete(name, selector, wait=True))

    async def search(self, query: Vector, where: VectorFilter, limit: int) -> list[VectorMatch]:
        """The ``limit`` records closest to ``query`` among those matching ``where``, best first.

        Raises ``ValueError`` without ``where.model_key``, for ``limit < 1`` or for a query
        whose dimension is not the model's.
        """
        name = collection_name(self._prefix, require_search(where, limit))
        dimension = await self._dimension(name)
        if dimension is None:
            return []
        response = await _call(
            "query",
            self._client.query_points(
                name,
                query=checked_vector(query, dimension).tolist(),
                query_filter=_qdrant_filter(where),
                limit=limit,
                with_payload=["kind", "item_id"],
            ),
        )
        return [_match(point) for point in response.points]

    async def count(self, where: VectorFilter) -> int:
        """How many records match the filter (an exact count)."""
        total = 0
        for name in await self._collections(where):
            result = await _call(
                "count", self._client.count(name, count_filter=_qdrant_filter(where), exact=True)
            )
            total += result.count
        return total

    async def close(self) -> None:
        """Close the client (and release a local folder's lock)."""
        await _call("close", self._client.close())

    async def _collections(self, where: VectorFilter) -> list[str]:
        """The existing collections ``where`` applies to: its model's, or all of this index's."""
        if where.model_key is not None:
            name = collection_name(self._prefix, where.model_key)
            return [] if await self._dimension(name) is None else [name]
        response = await _call("list collections", self._client.get_collections())
        return [c.name for c in response.collections if self._ours.fullmatch(c.name)]

    async def _dimension(self, name: str) -> int | None:
        """The vector size of collection ``name``, or None when it does not exist."""
        if name not in self._dimensions:
            if not await _call("check collection", self._client.collection_exists(name)):
                return None
            info = await _call("read collection", self._client.get_collection(name))
            params = info.config.params.vectors
            if not isinstance(params, models.VectorParams):
                raise ConfigurationError(f"collection {name} has named vectors; not ours")
            self._dimensions[name] = params.size
        return self._dimensions[name]

    async def _stored_dimensions(self, model_keys: Iterable[str]) -> dict[str, int]:
        """The dimension of each of these models that has a collection."""
        dimensions: dict[str, int] = {}
        for model_key in model_keys:
            dimension = await self._dimension(collection_name(self._prefix, model_key))
            if dimension is not None:
                dimensions[model_key] = dimension
        return dimensions

    async def _ensure_collection(self, name: str, dimension: int) -> None:
        """Create collection ``name`` for vectors of ``dimension`` if it is missing."""
        async with self._creating:
            if await self._dimension(name) is not None:
                return
            vectors = models.VectorParams(size=dimension, distance=models.Distance.COSINE)
            await _call("create collection", self._client.create_collection(name, vectors))
            if self._payload_indexes:
                await self._create_payload_indexes(name)
            self._dimensions[name] = dimension

    async def _create_payload_indexes(self, name: str) -> None:
        schemas = dict.fromkeys(_KEYWORD_FIELDS, models.PayloadSchemaType.KEYWORD)
        schemas["timestamp"] = models.PayloadSchemaType.FLOAT
        for field, schema in schemas.items():
            await _call(
                "create payload index", self._client.create_payload_index(name, field, schema)
            )


def _latest(records: Sequence[VectorRecord]) -> list[VectorRecord]:
    """The records without those replaced by a later record of the same item and model."""
    return list({(r.model_key, r.kind, r.item_id): r for r in records}.values())


def _by_model(points: Iterable[_Point]) -> dict[str, list[_Point]]:
    groups: dict[str, list[_Point]] = {}
    for point in points:
        groups.setdefault(point[0].model_key, []).append(point)
    return groups


def _batch(points: Sequence[_Point]) -> models.Batch:
    return models.Batch(
        ids=[point_id(record.kind, record.item_id) for record, _ in points],
        vectors=np.stack([vector for _, vector in points]).tolist(),
        payloads=[_payload(record) for record, _ in points],
    )


def _payload(record: VectorRecord) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "item_id": str(record.item_id),
        "user_id": record.user_id,
        "conversation_id": record.conversation_id,
        "role": record.role,
        "timestamp": _epoch_seconds(record.timestamp),
        "model_key": record.model_key,
    }


def _epoch_seconds(timestamp: dt.datetime) -> float:
    return epoch_micros(timestamp) / 1_000_000


def _qdrant_filter(where: VectorFilter) -> models.Filter | None:
    """The Qdrant filter of ``where``'s fields (its model is the collection), or None."""
    must: list[models.Condition] = []
    if where.kinds:
        must.append(_field("kind", models.MatchAny(any=list(where.kinds))))
    if where.user_id is not None:
        must.append(_field("user_id", models.MatchValue(value=where.user_id)))
    if where.conversation_id is not None:
        must.append(_field("conversation_id", models.MatchValue(value=where.conversation_id)))
    if where.since is not None or where.until is not None:
        since = None if where.since is None else _epoch_seconds(where.since)
        until = None if where.until is None else _epoch_seconds(where.until)
        must.append(models.FieldCondition(key="timestamp", range=models.Range(gte=since, lt=until)))
    must_not: list[models.Condition] = []
    if where.exclude_roles:
        must_not.append(_field("role", models.MatchAny(any=list(where.exclude_roles))))
    if not must and not must_not:
        return None
    return models.Filter(must=must, must_not=must_not)


def _field(key: str, match: models.MatchValue | models.MatchAny) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=match)


def _match(point: models.ScoredPoint) -> VectorMatch:
    payload = point.payload or {}
    return VectorMatch(
        kind=payload["kind"], item_id=uuid.UUID(payload["item_id"]), score=point.score
    )


async def _call(operation: str, call: Awaitable[T]) -> T:
    """Await a Qdrant call, raising its failure as :class:`StorageError`."""
    with _storage_errors(operation):
        return await call


@contextmanager
def _storage_errors(operation: str) -> Iterator[None]:
    """Re-raise an exception from Qdrant inside the block as :class:`StorageError`."""
    try:
        yield
    except Exception as exc:
        raise StorageError(
            f"qdrant {operation} failed: {exc}", details={"operation": operation}, cause=exc
        ) from exc
