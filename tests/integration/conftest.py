"""Fixtures shared by the integration tests: the Redis adapters' server, an SQL target's
store with its database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from bruno_memory import Memory
from bruno_memory.backends.sql import SqlStorage
from bruno_memory.db.engine import Database
from tests.conftest import Backend, selected_targets
from tests.redis_servers import machine_redis_url, skip_unless_selected


@pytest.fixture(scope="session")
def server_url(request: pytest.FixtureRequest) -> str:
    """The machine's Redis (no modules); skips when ``--backend`` leaves Redis out or the
    server does not answer."""
    skip_unless_selected(selected_targets(request.config))
    return machine_redis_url()


@pytest.fixture
def plain(server_url: str) -> Iterator[redis.Redis]:
    """A synchronous client of the machine's Redis, to look at the keys."""
    with redis.Redis.from_url(server_url, decode_responses=True) as client:
        yield client


@pytest.fixture
async def sql(backend: Backend) -> AsyncIterator[tuple[Memory, Database]]:
    """An async store of an SQL target and its database."""
    if backend.dialect == "redis" or backend.sync:
        pytest.skip("the SQL targets cover it")
    async with backend.inspector() as memory:
        storage = memory.storage
        if not isinstance(storage, SqlStorage):
            pytest.skip(f"the {backend.target} storage is not SQL")
        yield memory, storage.database
