"""The sync twin seen through the async facade's methods, so that the conformance suite runs
unchanged on :class:`~bruno_memory.SyncMemory` (the ``*-sync`` targets).

Each call runs the twin's blocking method in a worker thread, as a caller in another thread
would; nothing of the twin's own event loop is shared with the test's.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any

from bruno_memory import SyncMemory
from bruno_memory.ports.storage import Storage

#: The twin's methods that return an iterator (the facade's return an async iterator).
ITERATORS = frozenset(
    {
        "list_users",
        "list_conversations",
        "list_sessions",
        "iter_messages",
        "iter_memories",
        "export_records",
    }
)


async def _over(items: Iterator[Any]) -> AsyncIterator[Any]:
    """An async iterator over a blocking one, each item taken in a worker thread."""
    done = object()
    while (item := await asyncio.to_thread(next, items, done)) is not done:
        yield item


class AsyncOverSync:
    """Awaitable calls over a :class:`SyncMemory` (attributes pass through)."""

    def __init__(self, sync: SyncMemory) -> None:
        self._sync = sync

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._sync, name)
        if not callable(found):
            return found
        if name in ITERATORS:  # called here (it only checks its input), iterated in threads

            @functools.wraps(found)
            def iterate(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                return _over(found(*args, **kwargs))

            return iterate

        @functools.wraps(found)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(found, *args, **kwargs)

        return call

    def for_user(self, user_id: str) -> AsyncOverSync:
        return AsyncOverSync(self._sync.for_user(user_id))

    @property
    def storage(self) -> Storage:
        return self._sync.memory.storage

    def event_stream(self) -> Any:
        """The twin has no blocking event stream: the async facade's is used."""
        return self._sync.memory.event_stream()

    async def __aenter__(self) -> AsyncOverSync:
        await asyncio.to_thread(self._sync.open)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self._sync.close)
