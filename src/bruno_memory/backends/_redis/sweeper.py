"""Sweeping the index of expired conversations (with ``session_ttl_seconds``).

Redis expires a conversation's keys together; what other slots hold about it (postings,
registry entries, session locators, the user's hints) is removed here, from the
conversation's ``refs`` hash, which outlives it by ``index_grace_seconds``. Writers note
each conversation's deadline in ``<p>:{global}:expiring``; several processes may sweep at
once (whoever removes the note does the work).
"""

from __future__ import annotations

import asyncio
import time
from typing import cast

from bruno_memory.adapters.redis.errors import translate_redis_errors
from bruno_memory.backends._redis.context import RedisContext, logger
from bruno_memory.backends._redis.conversations import Conversations
from bruno_memory.backends._redis.refs import forget_conversation
from bruno_memory.errors import BrunoMemoryError

#: Conversations looked at per sweep.
SWEEP_BATCH = 200


class Sweeper:
    """Finds expired conversations and forgets them."""

    def __init__(self, context: RedisContext, conversations: Conversations) -> None:
        self._context = context
        self._conversations = conversations

    async def sweep(self) -> int:
        """Forget conversations past their deadline; returns how many were gone."""
        client = self._context.client
        expiring = self._context.keys.expiring
        now = time.time()
        due = cast(
            "list[str]",
            await client.zrangebyscore(expiring, "-inf", now, start=0, num=SWEEP_BATCH),
        )
        swept = 0
        for conversation_id in due:
            keys = self._context.keys.conversation(conversation_id)
            pipe = self._context.pipeline()
            pipe.pttl(keys.meta)
            pipe.hgetall(keys.refs)
            remaining_ms, refs = await pipe.execute()
            if remaining_ms > 0:  # written since: note its new deadline
                await client.zadd(expiring, {conversation_id: now + remaining_ms / 1000})
            elif await client.zrem(expiring, conversation_id) and remaining_ms == -2:
                await forget_conversation(self._context, self._conversations, conversation_id, refs)
                swept += 1
        return swept

    async def run(self, interval: float) -> None:
        """Sweep every ``interval`` seconds until cancelled; failures are logged."""
        while True:
            await asyncio.sleep(interval)
            try:
                with translate_redis_errors("sweep"):
                    await self.sweep()
            except BrunoMemoryError:
                logger.warning("sweeping expired conversations failed", exc_info=True)
