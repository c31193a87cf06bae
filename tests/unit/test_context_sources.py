"""The context's reads: run together, and a failing one cancels the others."""

from __future__ import annotations

import asyncio

import pytest

from bruno_memory.context.sources import _together


async def test_reads_run_together_and_keep_their_order() -> None:
    started: list[str] = []
    gate = asyncio.Event()

    async def read(name: str) -> str:
        started.append(name)
        if len(started) == 2:
            gate.set()
        await gate.wait()  # neither finishes before both have started
        return name

    assert await _together(read("a"), read("b")) == ("a", "b")


async def test_a_failing_read_cancels_the_others_before_it_is_raised() -> None:
    cancelled = asyncio.Event()

    async def slow() -> int:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 1

    async def failing() -> int:
        await asyncio.sleep(0)
        raise LookupError("gone")

    with pytest.raises(LookupError):
        await _together(slow(), failing())
    assert cancelled.is_set()
