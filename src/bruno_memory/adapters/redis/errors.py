"""Redis failures as bruno-memory errors: a server that is down or slow is a StorageError."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bruno_memory.errors import BrunoMemoryError, InvalidInputError, StorageError


@contextmanager
def translate_redis_errors(operation: str) -> Iterator[None]:
    """Re-raise redis-py errors raised inside the block as :class:`StorageError`.

    A value Redis cannot carry (an id with a lone surrogate) is an :class:`InvalidInputError`.
    """
    try:
        yield
    except BrunoMemoryError:
        raise
    except UnicodeError as exc:
        raise InvalidInputError(
            f"{operation}: a value is not valid UTF-8 text", details={"operation": operation}
        ) from exc
    except (OSError, asyncio.TimeoutError) as exc:
        raise _storage_error(operation, exc) from exc
    except Exception as exc:
        if not _is_redis_error(exc):
            raise
        raise _storage_error(operation, exc) from exc


def _is_redis_error(exc: Exception) -> bool:
    exceptions = sys.modules.get("redis.exceptions")  # imported with any client
    return exceptions is not None and isinstance(
        exc, (exceptions.RedisError, exceptions.RedisClusterException)
    )


def _storage_error(operation: str, exc: Exception) -> StorageError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StorageError(
        f"{operation} failed: Redis: {reason}", details={"operation": operation}, cause=exc
    )
