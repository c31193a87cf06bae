"""What only the Qdrant index promises: its layout, its folder, and its errors."""

from __future__ import annotations

import importlib
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from bruno_memory.errors import MissingDependencyError, StorageError
from bruno_memory.ports.vector import VectorFilter
from tests.congruence.dataset import MODELS, UNIFORM, Dataset
from tests.congruence.reference import keys

pytest.importorskip("qdrant_client")

from qdrant_client import AsyncQdrantClient

from bruno_memory.adapters.vector.qdrant import (
    QdrantVectorIndex,
    collection_name,
    point_id,
)

MODULE = "bruno_memory.adapters.vector.qdrant"
ODD_KEYS = ["a/b", "a_b", "a-b", "A B", "", "x" * 300, "модель:v2", "a/b "]


def test_collection_names_are_valid_and_distinct_for_any_key() -> None:
    names = [collection_name("bruno", key) for key in ODD_KEYS]
    assert all(re.fullmatch(r"bruno_[a-z0-9-]*_[0-9a-f]{12}", name) for name in names)
    assert all(len(name) <= 64 for name in names)
    assert len(set(names)) == len(names)


def test_point_ids_depend_on_kind_and_item_only() -> None:
    item = uuid.UUID(int=7)
    assert point_id("message", item) == point_id("message", uuid.UUID(int=7))
    assert point_id("message", item) != point_id("memory", item)
    assert uuid.UUID(point_id("memory", item)).version == 5


async def test_a_local_folder_keeps_the_vectors(tmp_path: Path, small_dataset: Dataset) -> None:
    records = small_dataset.records[:20]
    query = small_dataset.queries[UNIFORM][0]
    where = VectorFilter(model_key=UNIFORM)
    index = QdrantVectorIndex.local(tmp_path)
    await index.upsert(records)
    before = await index.search(query, where, 5)
    await index.close()

    reopened = QdrantVectorIndex.local(tmp_path)
    try:
        assert await reopened.count(VectorFilter()) == len(records)
        assert keys(await reopened.search(query, where, 5)) == keys(before)
    finally:
        await reopened.close()


async def test_an_open_folder_cannot_be_opened_twice(tmp_path: Path) -> None:
    index = QdrantVectorIndex.local(tmp_path)
    try:
        with pytest.raises(StorageError, match="already accessed"):
            QdrantVectorIndex.local(tmp_path)
    finally:
        await index.close()


async def test_indexes_with_other_prefixes_share_a_client_apart(small_dataset: Dataset) -> None:
    client = AsyncQdrantClient(location=":memory:")
    ours, theirs = (
        QdrantVectorIndex(client, prefix=prefix, payload_indexes=False)
        for prefix in ("bruno", "bruno-2")
    )
    await ours.upsert(small_dataset.records[:30])
    await theirs.upsert(small_dataset.records[:10])
    await theirs.delete_where(VectorFilter())
    assert await ours.count(VectorFilter()) == 30
    assert await theirs.count(VectorFilter()) == 0
    await client.close()


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")
async def test_a_new_collection_gets_its_payload_indexes_once(
    small_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = AsyncQdrantClient(location=":memory:")
    created: list[tuple[str, str, Any]] = []
    create = client.create_payload_index

    async def noting(collection: str, field: str, schema: Any) -> Any:
        created.append((collection, field, schema))
        return await create(collection, field, schema)

    monkeypatch.setattr(client, "create_payload_index", noting)
    index = QdrantVectorIndex(client)
    await index.upsert(small_dataset.records)
    await index.upsert(small_dataset.records)
    schemas = {field: str(schema) for _, field, schema in created}
    assert schemas == {
        "kind": "keyword",
        "user_id": "keyword",
        "conversation_id": "keyword",
        "role": "keyword",
        "timestamp": "float",
    }
    assert len(created) == len(MODELS) * len(schemas)
    await index.close()


async def test_an_unreachable_server_is_a_storage_error() -> None:
    index = QdrantVectorIndex.server("http://127.0.0.1:9", timeout=1, check_compatibility=False)
    with pytest.raises(StorageError) as raised:
        await index.count(VectorFilter())
    assert raised.value.cause is not None
    await index.close()


def test_without_qdrant_client_the_module_asks_for_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "qdrant_client", None)
    monkeypatch.delitem(sys.modules, MODULE)
    with pytest.raises(MissingDependencyError, match=r"bruno-memory\[qdrant\]"):
        importlib.import_module(MODULE)
