"""Concurrent writers into one conversation, and of one memory subject."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bruno_memory import Capability, Memory
from tests.conformance.helpers import memory_entry, user_message
from tests.conftest import PRIVATE_TARGETS, Backend

WRITERS = 24
MESSAGES_PER_WRITER = 10


async def test_concurrent_writers_store_every_message_once(backend: Backend, uid: str) -> None:
    """24 writers (each its own store, so its own connections) appending to one conversation:
    every message lands exactly once, positions are gap-free, order is stable and each
    writer's messages keep their relative order."""
    stores: list[Memory] = [backend.store() for _ in range(WRITERS)]
    if backend.target in PRIVATE_TARGETS:
        stores = [stores[0]] * WRITERS  # an in-memory database lives in a single store
    sent = {
        writer: [user_message(f"w{writer}-{n}") for n in range(MESSAGES_PER_WRITER)]
        for writer in range(WRITERS)
    }

    async def write(writer: int) -> None:
        store = stores[writer]
        for n, msg in enumerate(sent[writer]):
            if n % 3 == 0:
                await store.store_messages([msg], uid)
            else:
                await store.store_message(msg, uid)

    try:
        await asyncio.gather(*(stores[0].open() for _ in range(2)))
        await asyncio.gather(*(write(writer) for writer in range(WRITERS)))
        first_read = await stores[0].list_messages(uid, limit=1000)
        second_read = await stores[-1].list_messages(uid, limit=1000)
    finally:
        for store in set(stores):
            await store.close()

    expected_ids = {msg.id for batch in sent.values() for msg in batch}
    stored_ids = [msg.id for msg in first_read]
    assert len(stored_ids) == WRITERS * MESSAGES_PER_WRITER
    assert set(stored_ids) == expected_ids
    assert [m.id for m in second_read] == stored_ids
    for writer, batch in sent.items():
        mine = [m.content for m in first_read if m.content.startswith(f"w{writer}-")]
        assert mine == [msg.content for msg in batch]


@pytest.mark.requires(Capability.PRUNING)
async def test_concurrent_writes_of_one_subject_leave_one_head(backend: Backend, uid: str) -> None:
    """Memories of one subject stored at once by several stores (their own connections):
    exactly one, the newest, is superseded by none; every other is superseded by a newer
    one of them."""
    writers = 8
    stores: list[Memory] = [backend.store() for _ in range(writers)]
    if backend.target in PRIVATE_TARGETS:
        stores = [stores[0]] * writers
    start = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=1)
    entries = [
        memory_entry(
            uid, f"lives in city {n}", category="home", custom_fields={"subject": "home"}
        ).model_copy(update={"created_at": start + n * dt.timedelta(minutes=1)})
        for n in range(writers)
    ]
    try:
        await asyncio.gather(*(store.open() for store in set(stores)))
        await asyncio.gather(*(s.store_memory(e) for s, e in zip(stores, entries, strict=True)))
        stored = [await stores[0].get_memory(entry.id) for entry in entries]
    finally:
        for store in set(stores):
            await store.close()

    position = {str(entry.id): n for n, entry in enumerate(entries)}
    links = [entry.metadata.custom_fields.get("superseded_by") if entry else "" for entry in stored]
    assert links[-1] is None
    for n, successor in enumerate(links[:-1]):
        assert successor in position
        assert position[successor] > n
