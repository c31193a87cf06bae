"""Backends other than the SQL store, chosen by the scheme of a URL.

:func:`backend_for_url` is what ``create_memory`` consults first: a Redis URL gives the
Redis-only backend, any other URL None (the SQL store handles it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bruno_memory.backends.redis import RedisMemoryBackend

#: URL schemes of the Redis-only backend (see :mod:`bruno_memory.adapters.redis.client`).
REDIS_SCHEMES = frozenset(
    {"redis", "rediss", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel"}
)


def is_redis_url(url: str) -> bool:
    """Whether ``url`` names a Redis server, cluster or Sentinel."""
    return urlsplit(url).scheme in REDIS_SCHEMES


def backend_for_url(url: str | None, **options: Any) -> RedisMemoryBackend | None:
    """The backend for a non-SQL ``url`` (``options``: its settings), or None."""
    if url is None or not is_redis_url(url):
        return None
    from bruno_memory.backends.redis import RedisMemoryBackend

    return RedisMemoryBackend(url, **options)
