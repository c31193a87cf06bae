"""Fixtures shared by the integration tests of the Redis adapters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.conftest import selected_targets
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
