"""The facade's listings read keyset pages of LIST_PAGE, one when the previous is used up."""

from __future__ import annotations

from typing import Any

import pytest

import bruno_memory.memory
from bruno_memory import Memory


async def test_pages_are_read_by_cursor_and_only_when_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each page asks for LIST_PAGE items after the last one read; a listing left early
    reads no further page, and one that ends on a short page asks no more."""
    monkeypatch.setattr(bruno_memory.memory, "LIST_PAGE", 2)
    memory = Memory("memory://")
    for n in range(5):
        await memory.start_session("alice", session_id=f"s{n}", conversation_id=f"c{n}")
    calls: list[tuple[Any, int]] = []
    real = memory.storage.page_conversations

    async def spy(user_id: str, *, after: str | None, limit: int) -> Any:
        calls.append((after, limit))
        return await real(user_id, after=after, limit=limit)

    monkeypatch.setattr(memory.storage, "page_conversations", spy)
    found = [c.conversation_id async for c in memory.list_conversations("alice")]
    assert found == [f"c{n}" for n in range(5)]
    assert calls == [(None, 2), ("c1", 2), ("c3", 2)]

    calls.clear()
    listing = memory.list_conversations("alice")
    assert [(await anext(listing)).conversation_id for _ in range(2)] == ["c0", "c1"]
    await listing.aclose()  # type: ignore[attr-defined]
    assert calls == [(None, 2)]
