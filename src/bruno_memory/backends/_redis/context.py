"""What every part of the Redis backend works with: the client, key names, scripts, settings."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.adapters.redis.settings import RedisSettings
from bruno_memory.backends._redis.redisearch import RediSearch
from bruno_memory.backends._redis.scripts import Scripts

if TYPE_CHECKING:
    from bruno_memory.adapters.redis.client import RedisClient, RedisPipeline

logger = logging.getLogger("bruno_memory.redis")

#: Attempts of a write whose conversation changed owner meanwhile before giving up.
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class RedisContext:
    """The connection and conventions shared by the backend's parts; ``redisearch`` is the
    server's module when messages are searched with it (None: the inverted index)."""

    client: RedisClient
    keys: KeySpace
    scripts: Scripts
    settings: RedisSettings
    redisearch: RediSearch | None = None

    def document_prefix(self, conversation_id: str) -> str:
        """The scripts' argument naming where a conversation's search documents live:
        their key prefix with RediSearch, '' when messages have postings instead."""
        if self.redisearch is None:
            return ""
        return self.keys.message_document_prefix(conversation_id)

    def pipeline(self) -> RedisPipeline:
        """A pipeline (no MULTI: its commands may span cluster slots)."""
        return self.client.pipeline(transaction=False)

    # Typed reads: the client decodes replies (decode_responses=True), so text is str.

    async def get(self, key: str) -> str | None:
        return cast("str | None", await self.client.get(key))

    async def hget(self, key: str, field: str) -> str | None:
        return cast("str | None", await self.client.hget(key, field))

    async def hgetall(self, key: str) -> dict[str, str]:
        return cast("dict[str, str]", await self.client.hgetall(key))

    async def hmget(self, key: str, fields: list[str]) -> list[str | None]:
        return cast("list[str | None]", await self.client.hmget(key, fields))

    async def smembers(self, key: str) -> list[str]:
        return sorted(cast("set[str]", await self.client.smembers(key)))

    async def zrange(self, key: str, start: int, stop: int) -> list[str]:
        return cast("list[str]", await self.client.zrange(key, start, stop))

    def ttl_args(self) -> list[int]:
        """The TTL arguments of conversation scripts: conversation TTL and refs TTL (0, 0:
        conversations do not expire)."""
        ttl = self.settings.session_ttl_seconds
        if ttl is None:
            return [0, 0]
        return [ttl, ttl + self.settings.index_grace_seconds]

    def note_ownership(
        self, pipe: RedisPipeline, user_id: str, conversation_id: str, now: dt.datetime
    ) -> None:
        """Queue the user-side hints of owning a conversation: the user's conversation set
        and the user's record (created once)."""
        user = self.keys.user(user_id)
        pipe.sadd(user.conversations, conversation_id)
        pipe.hsetnx(user.profile, "created_at", now.isoformat())

    def note_expiry(self, pipe: RedisPipeline, conversation_id: str, now: dt.datetime) -> None:
        """Queue the sweeper's note of when a conversation written ``now`` expires."""
        ttl = self.settings.session_ttl_seconds
        if ttl is not None:
            pipe.zadd(self.keys.expiring, {conversation_id: now.timestamp() + ttl})


async def best_effort(cleanup: Awaitable[object], what: str) -> None:
    """Await a cleanup step after a failure; its own failure is logged, not raised, so the
    original error reaches the caller (what it leaves behind is a stale hint)."""
    try:
        await cleanup
    except Exception:
        logger.warning("could not %s; stale index entries remain", what, exc_info=True)
