"""Full-text search over messages (see :mod:`.textindex` for the index and its ranking)."""

from __future__ import annotations

from collections import defaultdict

from bruno_core.models.message import Message

from bruno_memory.adapters.redis.codec import decode
from bruno_memory.adapters.redis.keys import IndexScope
from bruno_memory.backends._redis.context import RedisContext
from bruno_memory.backends._redis.conversations import MESSAGES
from bruno_memory.backends._redis.textindex import (
    absent_terms,
    best_verified,
    matches,
    member,
    query_terms,
    rank,
    split_member,
)
from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.mapping import require_id, require_limit


class MessageSearch:
    """Ranked message search, for one user or over every message."""

    def __init__(self, context: RedisContext) -> None:
        self._context = context

    async def search(
        self, query: str, *, user_id: str | None, limit: int, mode: MatchMode
    ) -> list[Message]:
        """Messages matching ``query`` (every word, or any word), best first."""
        parsed = FullTextQuery.parse(query, mode)
        if user_id is not None:
            require_id(user_id, "user_id")
        require_limit(limit)
        if parsed.is_empty:
            return []
        terms = query_terms(parsed)
        keys = self._context.keys
        scope = keys.global_index if user_id is None else keys.user(user_id)

        async def fetch(count: int) -> list[tuple[str, float]]:
            return await rank(self._context.scripts, scope, MESSAGES, terms, mode, count)

        async def verify(candidates: list[tuple[str, float]]) -> list[Message]:
            return await self._verify(candidates, scope, terms, mode, user_id)

        return await best_verified(fetch, verify, limit)

    async def _verify(
        self,
        candidates: list[tuple[str, float]],
        scope: IndexScope,
        terms: list[str],
        mode: MatchMode,
        user_id: str | None,
    ) -> list[Message]:
        """The candidates' messages that exist, belong to the user and match; postings
        found stale are removed."""
        wanted: dict[str, list[str]] = defaultdict(list)
        for item, _ in candidates:
            message_id, conversation_id = split_member(item)
            wanted[conversation_id].append(message_id)
        pipe = self._context.pipeline()
        for conversation_id, message_ids in wanted.items():
            keys = self._context.keys.conversation(conversation_id)
            pipe.hget(keys.meta, "owner")
            pipe.hmget(keys.messages, message_ids)
        replies = iter(await pipe.execute())
        bodies: dict[str, str | None] = {}
        for conversation_id, message_ids in wanted.items():
            owner, found = next(replies), next(replies)
            mine = user_id is None or owner == user_id
            for message_id, body in zip(message_ids, found, strict=True):
                bodies[member(message_id, conversation_id)] = body if mine else None
        hits: list[tuple[float, Message]] = []
        stale: dict[str, list[str]] = {}
        for item, score in candidates:
            body = bodies[item]
            if body is None:
                stale[item] = terms
                continue
            message = decode(Message, body)
            absent = absent_terms(message.content, terms)
            if absent:
                stale[item] = absent
            if matches(absent, terms, mode):
                hits.append((score, message))
        if stale:
            await self._forget(scope, stale)
        hits.sort(key=lambda hit: (-round(hit[0], 9), -hit[1].timestamp.timestamp()))
        return [message for _, message in hits]

    async def _forget(self, scope: IndexScope, stale: dict[str, list[str]]) -> None:
        """Remove postings found stale: ``{member: terms}``."""
        pipe = self._context.pipeline()
        for item, terms in stale.items():
            for key in terms:
                pipe.zrem(scope.postings(MESSAGES, key), item)
        await pipe.execute()
