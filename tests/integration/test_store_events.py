"""The SQL store publishes its events to Redis Streams; a consumer follows them."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import redis

from bruno_memory import Memory, create_memory
from bruno_memory.ports.events import MemoryEventType
from tests.conformance.helpers import user_message
from tests.redis_servers import delete_prefix, unique_prefix


async def test_messages_and_sessions_reach_the_streams(
    tmp_path: Path, server_url: str, plain: redis.Redis
) -> None:
    """A session start, stored messages and the session end arrive, in order, on the user's
    stream, and a consumer group delivers them with acknowledgements."""
    prefix = unique_prefix()
    store = create_memory(
        f"sqlite+aiosqlite:///{tmp_path / 'm.db'}",
        embedder=None,
        cache_url=server_url,
        cache_key_prefix=prefix,
    )
    assert isinstance(store, Memory)
    try:
        async with store, store.event_stream() as stream:
            session = await store.create_session("ana")
            await store.store_messages(
                [user_message("one"), user_message("two")], session.conversation_id
            )
            await store.end_session(session.session_id)
            received = []
            follower = stream.follow_group("tests", "c1", user_id="ana", start_id="0")
            async with contextlib.aclosing(follower) as items:
                async for item in items:
                    received.append(item.event)
                    await item.ack()
                    if len(received) == 3:
                        break
        assert [event.type for event in received] == [
            MemoryEventType.SESSION_STARTED,
            MemoryEventType.MESSAGES_STORED,
            MemoryEventType.SESSION_ENDED,
        ]
        assert received[1].conversation_id == session.conversation_id
        assert len(received[1].message_ids) == 2
        assert all(event.user_id == "ana" for event in received)
    finally:
        delete_prefix(plain, prefix)
        await asyncio.sleep(0)
