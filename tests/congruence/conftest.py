"""The vector index implementations the congruence suite runs on, and its data.

Every test takes ``index`` (an empty index) or ``loaded`` (one holding the whole dataset) and
runs once per entry of ``IMPLEMENTATIONS``. To cover another index (pgvector, SQL-backed,
...), add an entry: its name, how to open an empty index in a scratch folder, and the recall
it promises (1.0 for exact indexes). An implementation whose dependency is missing skips.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bruno_memory import create_memory
from bruno_memory.adapters.vector.exact import ExactVectorIndex
from bruno_memory.ports.vector import VectorIndex
from tests.congruence.dataset import Dataset, make_dataset
from tests.congruence.sql_index import StoredItemsIndex
from tests.servers import PostgresServer, run_pgserver

DATASET_ITEMS = 1500  # 2,500 records over two models
SMALL_DATASET_ITEMS = 150
SCRATCH_PARENT = "/dev/shm" if Path("/dev/shm").is_dir() else None


@dataclass(frozen=True)
class Implementation:
    """A vector index under test."""

    name: str
    open: Callable[[Path], Awaitable[VectorIndex]]
    min_recall: float = 1.0


async def _exact(_: Path) -> VectorIndex:
    return ExactVectorIndex()


async def _qdrant_memory(_: Path) -> VectorIndex:
    pytest.importorskip("qdrant_client")
    from bruno_memory.adapters.vector.qdrant import QdrantVectorIndex

    return QdrantVectorIndex.local()


async def _qdrant_path(folder: Path) -> VectorIndex:
    pytest.importorskip("qdrant_client")
    from bruno_memory.adapters.vector.qdrant import QdrantVectorIndex

    return QdrantVectorIndex.local(folder / "qdrant")


async def _sql_sqlite(folder: Path) -> VectorIndex:
    store = create_memory(f"sqlite+aiosqlite:///{folder / 'store.db'}", embedder=None)
    await store.open()
    return StoredItemsIndex(store)


async def _sql_postgres(_: Path) -> VectorIndex:
    """A new database on this run's pgserver PostgreSQL (pgvector installed), a copy of one
    migrated once (:func:`_migrated_postgres_template`)."""
    server = run_pgserver()
    template = await _migrated_postgres_template(server)
    url = await server.create_database(f"congruence_{uuid.uuid4().hex[:10]}", template=template)
    store = create_memory(url, embedder=None)
    await store.open()
    return StoredItemsIndex(store)


_TEMPLATES: dict[str, str] = {}


async def _migrated_postgres_template(server: PostgresServer) -> str:
    """The name of an empty database at the head revision, made once per run: copying it
    (``CREATE DATABASE ... TEMPLATE``) is much cheaper than migrating a database per test."""
    if server.name not in _TEMPLATES:
        name = f"congruence_template_{uuid.uuid4().hex[:10]}"
        async with create_memory(await server.create_database(name), embedder=None):
            pass  # migrate; closed, so nothing is connected to the template
        _TEMPLATES[server.name] = name
    return _TEMPLATES[server.name]


IMPLEMENTATIONS = [
    Implementation("exact", _exact),
    Implementation("qdrant-local-memory", _qdrant_memory),
    Implementation("qdrant-local-path", _qdrant_path),
    Implementation("sql-sqlite", _sql_sqlite),
    Implementation("sql-postgres", _sql_postgres),
]


@pytest.fixture(scope="session", params=IMPLEMENTATIONS, ids=lambda impl: impl.name)
def implementation(request: pytest.FixtureRequest) -> Implementation:
    """One implementation; every test using it runs once per entry."""
    return request.param  # type: ignore[no-any-return]


@asynccontextmanager
async def opened(implementation: Implementation) -> AsyncIterator[VectorIndex]:
    """An empty index of ``implementation`` with a scratch folder, closed and removed after.

    The folder is in RAM where the machine has ``/dev/shm``: local Qdrant commits each point
    to SQLite on its own, and a disk's fsyncs make that take seconds per thousand points.
    """
    with tempfile.TemporaryDirectory(dir=SCRATCH_PARENT) as folder:
        index = await implementation.open(Path(folder))
        try:
            yield index
        finally:
            await index.close()


@pytest.fixture
async def index(implementation: Implementation) -> AsyncIterator[VectorIndex]:
    """An empty index."""
    async with opened(implementation) as empty:
        yield empty


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    """The dataset ``loaded`` holds."""
    return make_dataset(DATASET_ITEMS)


@pytest.fixture(scope="session")
def small_dataset() -> Dataset:
    """A dataset small enough to load in every test that writes."""
    return make_dataset(SMALL_DATASET_ITEMS, seed=11)


@pytest.fixture(scope="session")
async def loaded(implementation: Implementation, dataset: Dataset) -> AsyncIterator[VectorIndex]:
    """An index holding ``dataset``, shared by the tests that only read."""
    async with opened(implementation) as index:
        await index.upsert(dataset.records)
        yield index
