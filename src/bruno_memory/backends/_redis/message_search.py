"""Full-text search over messages, with the engine in use (see :mod:`.engine`).

Candidates come ranked from the engine: the inverted index (:mod:`.textindex`) or
RediSearch (:mod:`.redisearch`), for the scope's user (or every user). Each is checked
against its message, read in one round trip per search: a candidate whose message is gone
(its conversation expired and is not swept yet, or a posting outlived a crash), whose
conversation is not the user's, or (postings only) whose message lacks a query term is
dropped, and the stale index entry removed on the spot; a message outside the rest of the
scope (conversation, time range, metadata: :meth:`SearchScope.admits`) is passed over.
More candidates are asked for only when too many were dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bruno_core.models.message import Message

from bruno_memory.adapters.redis.codec import decode
from bruno_memory.backends._redis.context import RedisContext
from bruno_memory.backends._redis.message_index import MESSAGES, Documents
from bruno_memory.backends._redis.redisearch import search_messages
from bruno_memory.backends._redis.textindex import (
    best_verified,
    member,
    rank,
    split_member,
)
from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.db.types import as_utc
from bruno_memory.ports.scope import SearchScope
from bruno_memory.terms import absent_terms, matches, query_terms

Candidates = list[tuple[str, float]]


@dataclass
class _Stale:
    """Index entries a verification found stale."""

    gone: list[str] = field(default_factory=list)  # members whose message is gone
    foreign: list[str] = field(default_factory=list)  # members not in the user's conversations
    lacking: dict[str, list[str]] = field(default_factory=dict)  # member -> absent terms


class _Engine(Protocol):
    """One search's access to the engine's index."""

    async def fetch(self, count: int) -> Candidates:
        """The ``count`` best ``(member, score)`` (:func:`~.textindex.member` strings)."""
        ...

    def absent(self, message: Message) -> list[str]:
        """The query terms a candidate's message does not hold."""
        ...

    def matches(self, absent: Sequence[str]) -> bool:
        """Whether a message lacking ``absent`` terms matches the query."""
        ...

    async def forget(self, stale: _Stale) -> None:
        """Remove the stale entries."""
        ...


class MessageSearch:
    """Ranked message search, for one user or over every message."""

    def __init__(self, context: RedisContext) -> None:
        self._context = context

    async def search(
        self, parsed: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[Message]:
        """Messages matching ``parsed`` (every word, or any word), best first."""
        return await self.within(parsed, SearchScope(user_id=user_id), limit)

    async def within(self, parsed: FullTextQuery, scope: SearchScope, limit: int) -> list[Message]:
        """Messages in ``scope`` matching ``parsed``, best first."""
        user_id = scope.user_id
        engine: _Engine
        if self._context.redisearch is None:
            engine = _Postings(self._context, parsed, user_id)
        else:
            engine = _RediSearch(self._context, parsed, user_id)

        async def verify(candidates: Candidates) -> list[Message]:
            return await self._verify(candidates, engine, scope)

        return await best_verified(engine.fetch, verify, limit)

    async def _verify(
        self, candidates: Candidates, engine: _Engine, scope: SearchScope
    ) -> list[Message]:
        """The candidates' messages that exist, belong to the user, match and are in scope,
        best first (ties: the most recent); stale index entries found on the way are
        removed."""
        user_id = scope.user_id
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
        bodies: dict[str, str] = {}
        owners: dict[str, str | None] = {}
        stale = _Stale()
        for conversation_id, message_ids in wanted.items():
            owner, found = next(replies), next(replies)
            owners[conversation_id] = owner
            mine = user_id is None or owner == user_id
            for message_id, body in zip(message_ids, found, strict=True):
                item = member(message_id, conversation_id)
                if body is None:
                    stale.gone.append(item)
                elif not mine:
                    stale.foreign.append(item)
                else:
                    bodies[item] = body
        hits: list[tuple[float, Message]] = []
        for item, score in candidates:
            if item not in bodies:
                continue
            message = decode(Message, bodies[item])
            absent = engine.absent(message)
            if absent:
                stale.lacking[item] = absent
            conversation_id = split_member(item)[1]
            if engine.matches(absent) and scope.admits(
                user_id=owners[conversation_id],
                conversation_id=conversation_id,
                time=as_utc(message.timestamp),
                document=message.metadata,
            ):
                hits.append((score, message))
        if stale.gone or stale.foreign or stale.lacking:
            await engine.forget(stale)
        hits.sort(key=lambda hit: (-round(hit[0], 9), -hit[1].timestamp.timestamp()))
        return [message for _, message in hits]


class _Postings:
    """The inverted index: postings of the user's scope, or the global one."""

    def __init__(self, context: RedisContext, query: FullTextQuery, user_id: str | None) -> None:
        self._context = context
        self._terms = query_terms(query)
        self._mode = query.mode
        keys = context.keys
        self._scope = keys.global_index if user_id is None else keys.user(user_id)

    async def fetch(self, count: int) -> Candidates:
        scripts = self._context.scripts
        return await rank(scripts, self._scope, MESSAGES, self._terms, self._mode, count)

    def absent(self, message: Message) -> list[str]:
        return absent_terms(message.content, self._terms)

    def matches(self, absent: Sequence[str]) -> bool:
        return matches(absent, self._terms, self._mode)

    async def forget(self, stale: _Stale) -> None:
        removals = dict.fromkeys([*stale.gone, *stale.foreign], self._terms)
        pipe = self._context.pipeline()
        for item, terms in {**stale.lacking, **removals}.items():
            for key in terms:
                pipe.zrem(self._scope.postings(MESSAGES, key), item)
        await pipe.execute()


class _RediSearch:
    """RediSearch: search documents are written with their messages, so a candidate's
    message holds its terms; only documents of expired conversations go stale."""

    def __init__(self, context: RedisContext, query: FullTextQuery, user_id: str | None) -> None:
        assert context.redisearch is not None
        self._context = context
        self._module = context.redisearch
        self._query = query
        self._user_id = user_id

    async def fetch(self, count: int) -> Candidates:
        found = await search_messages(
            self._context.client,
            self._context.keys,
            self._module,
            self._query,
            self._user_id,
            count,
        )
        return [
            (member(message_id, conversation), score) for conversation, message_id, score in found
        ]

    def absent(self, message: Message) -> list[str]:
        return []

    def matches(self, absent: Sequence[str]) -> bool:
        return True

    async def forget(self, stale: _Stale) -> None:
        gone = [split_member(item) for item in stale.gone]
        await Documents(self._context).delete(
            (conversation, message) for message, conversation in gone
        )
