"""Backends for the suite: every conformance test runs unchanged on each of them.

``--backend sqlite`` runs SQLite (in memory and file) and the in-memory storage
(``memory://``, no server either), ``--backend postgres`` runs the
PostgreSQL targets (see ``tests/servers.py``), ``--backend redis`` the Redis-only backend
(on the machine's Redis, and on a private Redis with RediSearch: ``redis-stack``) and the
SQL store behind a Redis cache (see ``tests/redis_servers.py``), no option runs all of them.
Tests marked ``requires(Capability...)`` are skipped on targets whose storage lacks one of
those capabilities (``memory.capabilities``), naming it: the suite is keyed by capability,
never by backend name.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from bruno_memory import Capability, ConfigurationError, Memory, create_memory, create_memory_sync
from bruno_memory.adapters.embeddings import HashingEmbedder
from tests.redis_servers import (
    delete_prefix,
    machine_redis_url,
    redis_stack_server,
    unique_prefix,
)
from tests.servers import PostgresServer, run_pgserver, system_postgres
from tests.sync_twin import AsyncOverSync

#: Targets that run the suite through the sync twin (SyncMemory), and the target each
#: otherwise is.
SYNC_TWINS = {"sqlite-sync": "sqlite-file", "pgserver-sync": "pgserver"}
SQLITE_TARGETS = ("sqlite-memory", "sqlite-file", "sqlite-sync", "memory")
POSTGRES_TARGETS = ("postgres", "pgserver", "pgserver-sync")
#: The Redis-only backend (searching with its index, and with RediSearch), and the SQL store
#: (SQLite file) with its Redis cache.
REDIS_TARGETS = ("redis", "redis-stack", "sqlite-redis-cache")
#: Targets whose store is the Redis-only backend.
REDIS_BACKEND_TARGETS = ("redis", "redis-stack")
#: One target per SQL database, reached directly.
DATABASE_TARGETS = ("sqlite-file", "postgres", "pgserver")
#: Targets whose database lives inside one store: stores opened apart do not share it.
PRIVATE_TARGETS = ("sqlite-memory", "memory")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("all", "sqlite", "postgres", "redis"),
        default="all",
        help="which database backends to run the suite on",
    )


def selected_targets(config: pytest.Config) -> list[str]:
    """The backend targets chosen with ``--backend``."""
    chosen = config.getoption("--backend")
    targets = {"sqlite": SQLITE_TARGETS, "postgres": POSTGRES_TARGETS, "redis": REDIS_TARGETS}
    if chosen == "all":
        return [*SQLITE_TARGETS, *POSTGRES_TARGETS, *REDIS_TARGETS]
    return list(targets[chosen])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        targets = selected_targets(metafunc.config)
        if metafunc.definition.get_closest_marker("postgres_only"):
            targets = [target for target in targets if target in POSTGRES_TARGETS]
        if metafunc.definition.get_closest_marker("file_databases"):
            targets = [target for target in targets if target not in PRIVATE_TARGETS]
        if metafunc.definition.get_closest_marker("one_per_database"):
            targets = [target for target in targets if target in DATABASE_TARGETS]
        metafunc.parametrize("target", targets, scope="session")


#: A URL of each kind of target, to read its storage's capabilities without connecting.
_CAPABILITY_PROBES: dict[str, dict[str, Any]] = {
    "sqlite-memory": {"url": "sqlite+aiosqlite://"},
    "sqlite-file": {"url": "sqlite+aiosqlite:///probe.db"},
    "postgres": {"url": "postgresql+asyncpg://probe@127.0.0.1/probe"},
    "pgserver": {"url": "postgresql+asyncpg://probe@127.0.0.1/probe"},
    "redis": {"url": "redis://127.0.0.1:6379/0"},
    "redis-stack": {"url": "redis://127.0.0.1:6379/0"},
    "sqlite-redis-cache": {"url": "sqlite+aiosqlite://", "cache_url": "redis://127.0.0.1:6379"},
    "memory": {"url": "memory://"},
}


@functools.cache
def target_capabilities(target: str) -> frozenset[Capability]:
    """What the storage of ``target`` offers without an embedder, and ``SEMANTIC`` where it
    offers it given one (tests that need an embedder bring their own)."""
    probe = _CAPABILITY_PROBES[SYNC_TWINS.get(target, target)]
    found = create_memory(embedder=None, **probe).capabilities
    try:
        embedded = create_memory(embedder=HashingEmbedder(), **probe).capabilities
    except ConfigurationError:  # the storage takes no embedder
        return found
    return found | (embedded & {Capability.SEMANTIC})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip ``requires`` tests on targets lacking a capability they need, naming it (the
    ``requires`` marks of a test, its class and its module add up)."""
    for item in items:
        needed = {c for marker in item.iter_markers("requires") for c in marker.args}
        callspec = getattr(item, "callspec", None)
        target = callspec.params.get("target") if callspec is not None else None
        if not needed or not isinstance(target, str):  # no target, or none selected
            continue
        missing = sorted(c.value for c in needed - target_capabilities(target))
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"the {target} storage lacks {missing}"))


@pytest.fixture(scope="session")
def pgserver_server() -> PostgresServer:
    """A private PostgreSQL 16 + pgvector for the whole run (stopped when it ends)."""
    return run_pgserver()


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest, target: str) -> PostgresServer | None:
    """The PostgreSQL server of ``target`` (None for SQLite targets)."""
    target = SYNC_TWINS.get(target, target)
    if target == "postgres":
        server = system_postgres()
        if server is None:
            pytest.skip(
                "BRUNO_MEMORY_TEST_POSTGRES_URL is not set; the 'pgserver' target covers "
                "PostgreSQL (set it to also test an existing server)"
            )
        return server
    if target == "pgserver":
        return request.getfixturevalue("pgserver_server")  # type: ignore[no-any-return]
    return None


@dataclass
class Backend:
    """How to reach one database of a target, and how to open stores on it."""

    target: str
    url: str
    key_prefix: str = ""  # Redis: the test's own key prefix
    cache_url: str | None = None  # the Redis cache in front of a SQL store
    sync: bool = False  # through the sync twin

    @property
    def dialect(self) -> str:
        if self.target in REDIS_BACKEND_TARGETS:
            return "redis"
        if self.target == "memory":
            return "memory"
        return "sqlite" if self.target.startswith("sqlite") else "postgresql"

    def store(self, **options: Any) -> Memory:
        """A store on this backend's database (shared by the tests of one run).

        Without semantic search unless an ``embedder`` is given: the foundation contract
        does not depend on one.
        """
        if self.dialect == "redis":
            return create_memory(self.url, key_prefix=self.key_prefix, **options)
        if self.cache_url is not None:
            options = {"cache_url": self.cache_url, "cache_key_prefix": self.key_prefix, **options}
        options = {"embedder": None, **options}
        if self.sync:
            return AsyncOverSync(create_memory_sync(self.url, **options))  # type: ignore[return-value]
        return create_memory(self.url, **options)

    def inspector(self) -> Memory:
        """An async store on this database for tests that read its storage directly (the
        sync twin's connections live on its own loop)."""
        return dataclasses.replace(self, sync=False).store()


@pytest.fixture(scope="session")
async def shared_postgres_url(postgres_server: PostgresServer | None) -> AsyncIterator[str | None]:
    """One migrated database per PostgreSQL target, shared by the conformance tests."""
    if postgres_server is None:
        yield None
        return
    async with postgres_server.fresh_database() as url:
        async with create_memory(url):
            pass  # migrate once
        yield url


@pytest.fixture(scope="session")
def redis_stack_url() -> Iterator[str]:
    """A private Redis with RediSearch for the whole run (skips when none can start)."""
    with redis_stack_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_server_url(request: pytest.FixtureRequest, target: str) -> str | None:
    """The Redis server of a Redis target (None for the others); skips if unreachable."""
    if target not in REDIS_TARGETS:
        return None
    if target == "redis-stack":
        return request.getfixturevalue("redis_stack_url")  # type: ignore[no-any-return]
    return machine_redis_url()


@pytest.fixture(scope="session")
async def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite file at the head revision, migrated once for the whole run.

    Each test on a SQLite file starts from a copy of it (:func:`copy_of_migrated`): the
    same database a store makes when it first opens a new file, for a file copy instead of
    the whole migration chain per test. Migrating a new file is what the migration and
    open-error tests test, on files of their own (``fresh_url``).
    """
    path = tmp_path_factory.mktemp("migrated") / "memory.db"
    async with create_memory(f"sqlite+aiosqlite:///{path}", embedder=None):
        pass
    return path


def copy_of_migrated(template: Path, folder: Path) -> str:
    """The URL of ``folder/memory.db``, a copy of the migrated ``template`` (closed, so its
    write-ahead log is already in the main file)."""
    path = folder / "memory.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def backend(
    target: str,
    shared_postgres_url: str | None,
    redis_server_url: str | None,
    migrated_sqlite_file: Path,
    tmp_path: Path,
) -> AsyncIterator[Backend]:
    """The database a test runs on: a new one for SQLite (a file: a copy of the run's
    migrated one), the run's shared one for PostgreSQL, the Redis server under a key prefix
    of the test's own (deleted after)."""
    if redis_server_url is not None:
        prefix = unique_prefix()
        if target in REDIS_BACKEND_TARGETS:
            yield Backend(target, redis_server_url, key_prefix=prefix)
        else:
            url = copy_of_migrated(migrated_sqlite_file, tmp_path)
            yield Backend(target, url, key_prefix=prefix, cache_url=redis_server_url)
        with redis.Redis.from_url(redis_server_url) as client:
            delete_prefix(client, prefix)
        return
    sync = target in SYNC_TWINS
    target = SYNC_TWINS.get(target, target)
    if target == "sqlite-memory":
        url = "sqlite+aiosqlite://"
    elif target == "memory":
        url = "memory://"
    elif target == "sqlite-file":
        url = copy_of_migrated(migrated_sqlite_file, tmp_path)
    else:
        assert shared_postgres_url is not None
        url = shared_postgres_url
    yield Backend(target, url, sync=sync)


@pytest.fixture
async def memory(backend: Backend) -> AsyncIterator[Memory]:
    """An open store on the test's backend (behind a cache: one that never failed)."""
    async with backend.store() as store:
        yield store
        stats = getattr(store, "cache_stats", None)
        assert stats is None or stats.errors == 0, f"the cache failed during the test: {stats}"


@pytest.fixture
async def fresh_url(
    target: str, postgres_server: PostgresServer | None, tmp_path: Path
) -> AsyncIterator[str]:
    """An empty database of the target, for tests that own the whole schema (migrations)."""
    if postgres_server is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    async with postgres_server.fresh_database() as url:
        yield url


@pytest.fixture
def uid() -> str:
    """A prefix unique to the test, so tests sharing a database never see each other's rows."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def word(request: pytest.FixtureRequest) -> str:
    """A word no other test writes, to search for; the same on every run of the test, so
    a result never depends on luck (e.g. hashing-embedder collisions)."""
    return "w" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:10]


@pytest.fixture
async def backend_url_store(backend: Backend) -> AsyncIterator[Memory]:
    """A store built from keyword arguments and never opened explicitly."""
    store: Memory
    if backend.dialect == "redis":
        store = create_memory(url=backend.url, key_prefix=backend.key_prefix)
    elif backend.dialect == "memory":
        store = Memory(url=backend.url)
    elif backend.cache_url is not None:
        store = Memory(
            database_url=backend.url,
            cache_url=backend.cache_url,
            cache_key_prefix=backend.key_prefix,
        )
    else:
        store = Memory(database_url=backend.url)
    try:
        yield store
    finally:
        await store.close()
