"""Compression in the background: a run per conversation after each write, when asked.

``create_memory(url, llm=..., compression=policy, auto_compress=True)`` makes every
``store_message(s)`` schedule :meth:`Memory.compress <bruno_memory.Memory.compress>` for
the conversation; the run checks the policy's thresholds itself, so most runs end at once
(``below_policy``). At most one run per conversation is in flight; a write during a run
schedules one more after it, so nothing stays unsummarized past a threshold. Failures are
logged and counted, never raised into the write that scheduled them (the write has
committed; a failed run leaves the store as it was). ``close()`` waits for the runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bruno_memory.errors import BrunoMemoryError

logger = logging.getLogger(__name__)


class BackgroundCompression:
    """Runs ``compress(conversation_id)`` in tasks, one at a time per conversation."""

    def __init__(self, compress: Callable[[str], Awaitable[object]]) -> None:
        self._compress = compress
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        #: Runs that raised (logged with their error).
        self.failures = 0

    def schedule(self, conversation_id: str) -> None:
        """Compress the conversation soon (after the run in flight, if any)."""
        if conversation_id in self._running:
            self._again.add(conversation_id)
            return
        task = asyncio.get_running_loop().create_task(self._run(conversation_id))
        self._running[conversation_id] = task

    async def _run(self, conversation_id: str) -> None:
        try:
            while True:
                self._again.discard(conversation_id)
                try:
                    await self._compress(conversation_id)
                except BrunoMemoryError as exc:
                    self.failures += 1
                    logger.warning("background compression of %s failed: %s", conversation_id, exc)
                if conversation_id not in self._again:
                    return
        finally:
            self._running.pop(conversation_id, None)

    async def drain(self) -> None:
        """Wait until no run is in flight."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
