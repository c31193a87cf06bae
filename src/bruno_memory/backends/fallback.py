"""A fallback chain: of several storages, the first that answers when the chain opens.

``create_memory([url, ...])`` builds one storage per URL, with the same options, when the
memory is created (so every candidate's configuration is checked at once), and wraps them
in a :class:`FallbackStorage`. Opening it opens each candidate in turn and pings it
(:meth:`~bruno_memory.ports.storage.Storage.ping`): the first that answers is the storage
from then on, named in an INFO line on the ``bruno_memory`` logger, each one that failed
before it in a WARNING line with its reason; when none answers, one
:class:`~bruno_memory.errors.StorageError` names every URL and why. URLs are logged and
reported without their credentials.

Until it opens, the chain has chosen nothing: ``capabilities`` is what every candidate
offers (what it promises holds whichever answers) and every other member of the port
raises :class:`~bruno_memory.errors.ConfigurationError`; the facade's reads and writes open
the memory themselves, the rest (``memory.backend``, ``migrate``, ``archive``...) need it
opened first (``async with``). Closing forgets the choice: the next open runs the chain
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from bruno_memory.capabilities import Capability
from bruno_memory.errors import BrunoMemoryError, ConfigurationError, StorageError
from bruno_memory.ports.storage import Storage
from bruno_memory.settings import redacted_url

logger = logging.getLogger("bruno_memory")


class FallbackStorage:
    """The first of ``candidates`` (URL, storage) that opens and answers a ping; until
    then nothing but ``open``, ``close`` and ``capabilities`` (see the module)."""

    def __init__(self, candidates: Sequence[tuple[str, Storage]]) -> None:
        if not candidates:
            raise ConfigurationError("a fallback chain needs at least one URL")
        self.candidates = tuple(candidates)
        self._chosen: tuple[str, Storage] | None = None
        self._opening = asyncio.Lock()
        self.capabilities: frozenset[Capability] = self._common()

    def _common(self) -> frozenset[Capability]:
        return frozenset.intersection(*(storage.capabilities for _, storage in self.candidates))

    @property
    def url(self) -> str | None:
        """The URL of the storage chosen (None until the chain opens)."""
        return None if self._chosen is None else self._chosen[0]

    async def open(self) -> None:
        """Open and ping each candidate in turn; keep the first that answers. Idempotent."""
        if self._chosen is None:
            async with self._opening:
                if self._chosen is None:
                    self._chosen = await self._choose()
                    self.capabilities = self._chosen[1].capabilities
        await self._chosen[1].open()

    async def _choose(self) -> tuple[str, Storage]:
        failures: list[dict[str, str]] = []
        for url, storage in self.candidates:
            try:
                await storage.open()
                await storage.ping()
            except Exception as exc:
                failure = {"url": redacted_url(url), "error": type(exc).__name__}
                failure["reason"] = _reason(exc, url)
                failures.append(failure)
                logger.warning("storage %(url)s did not answer: %(error)s: %(reason)s", failure)
                with contextlib.suppress(Exception):
                    await storage.close()
                error = exc
                continue
            logger.info("using storage %s", redacted_url(url))
            return url, storage
        listed = "; ".join("{url}: {error}: {reason}".format(**failure) for failure in failures)
        raise StorageError(
            f"no storage of the fallback chain answered: {listed}",
            details={"failures": failures},
            cause=error,
        ) from error

    async def close(self) -> None:
        """Close the storage chosen and forget the choice."""
        if self._chosen is None:
            return
        storage = self._chosen[1]
        self._chosen = None
        self.capabilities = self._common()
        await storage.close()

    def __getattr__(self, name: str) -> Any:
        """Every other member of the port: the chosen storage's."""
        if name.startswith("_"):
            raise AttributeError(name)
        if self._chosen is None:
            raise ConfigurationError(
                f"{name} of a fallback chain is known once it chose its storage: open the "
                "memory first (async with, await memory.open())",
                details={"member": name, "urls": [redacted_url(url) for url, _ in self.candidates]},
            )
        return getattr(self._chosen[1], name)


def _reason(exc: Exception, url: str) -> str:
    """Why a candidate failed: the error's message, with the URL's password (should a third
    party's message hold it) masked."""
    reason = exc.message if isinstance(exc, BrunoMemoryError) else str(exc)
    password = urlsplit(url).password
    return reason.replace(password, "***") if password else reason
