"""Capabilities: what a storage lacks is refused by name, never an AttributeError."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bruno_memory import Capability, Memory, UnsupportedOperationError


async def _search(memory: Memory) -> Any:
    return await memory.search("anything")


async def _semantic(memory: Memory) -> Any:
    return await memory.search("anything", mode="semantic")


async def _migrate(memory: Memory) -> Any:
    return await memory.migrate()


async def _sweep(memory: Memory) -> Any:
    return await memory.sweep_expired()


async def _events(memory: Memory) -> Any:
    return memory.event_stream()


async def _summaries(memory: Memory) -> Any:
    return await memory.list_summaries("anything")


async def _branches(memory: Memory) -> Any:
    return await memory.list_branches("anything")


async def _restore(memory: Memory) -> Any:
    return await memory.restore("anything")


async def _prune(memory: Memory) -> Any:
    return await memory.prune_memories("anyone", keep=10)


async def _list_users(memory: Memory) -> Any:
    return [user async for user in memory.list_users()]


async def _import_nothing(memory: Memory) -> Any:
    return await memory.import_records([])


async def _analytics(memory: Memory) -> Any:
    return await memory.analytics("anyone")


#: A call of the facade that needs each capability.
GATED: dict[Capability, Callable[[Memory], Awaitable[Any]]] = {
    Capability.RETRIEVAL: _search,
    Capability.SEMANTIC: _semantic,
    Capability.MIGRATIONS: _migrate,
    Capability.EXPIRY: _sweep,
    Capability.EVENT_STREAMS: _events,
    Capability.COMPRESSION: _summaries,
    Capability.BRANCHING: _branches,
    Capability.ARCHIVE: _restore,
    Capability.PRUNING: _prune,
    Capability.USER_LISTING: _list_users,
    Capability.TRANSFER: _import_nothing,
    Capability.ANALYTICS: _analytics,
}


async def test_capabilities_are_capability_values(memory: Memory) -> None:
    """memory.capabilities is a set of Capability values; full text is everywhere."""
    assert all(isinstance(capability, Capability) for capability in memory.capabilities)
    assert Capability.FULL_TEXT in memory.capabilities


@pytest.mark.parametrize("capability", list(GATED), ids=[c.value for c in GATED])
async def test_a_missing_capability_is_refused_by_name(
    memory: Memory, capability: Capability
) -> None:
    """A call needing a capability the storage lacks raises UnsupportedOperationError naming
    it; where the storage has it, the call is not refused."""
    call = GATED[capability]
    if capability in memory.capabilities:
        await call(memory)
        return
    with pytest.raises(UnsupportedOperationError) as raised:
        await call(memory)
    assert raised.value.details["capability"] == capability.value
    assert memory.backend in str(raised.value)
