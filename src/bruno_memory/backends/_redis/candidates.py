"""The Redis storage's candidate source: ranked retrieval's reads (see
:mod:`bruno_memory.ports.retrieval`).

Full-text candidates come from the engine in use (RediSearch or the inverted index) for the
scope's user, or every user, and are checked against their items for the rest of the scope
(conversation, time range, metadata), as :mod:`.message_search` and :mod:`.memories` do. A
message's position is its score in the conversation's ``order`` set, so its neighbours are
one ``ZRANGE ... BYSCORE`` away. Items are found by id through the id registry, unless the
scope names their conversation (messages) or user (memories). Messages and entries read by
one step are kept for the rest of it, so the returned ones are not read twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

from bruno_core.models.memory import MemoryEntry
from bruno_core.models.message import Message

from bruno_memory.adapters.redis.codec import decode
from bruno_memory.backends._redis.context import RedisContext
from bruno_memory.backends._redis.message_index import MESSAGES
from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.db.types import as_utc
from bruno_memory.ports.retrieval import Candidate, CandidateReader, MemoryStub, MessageStub
from bruno_memory.ports.scope import SearchScope

if TYPE_CHECKING:
    from bruno_memory.backends._redis.memories import Memories
    from bruno_memory.backends._redis.message_search import MessageSearch
    from bruno_memory.ports.vector import ItemKind


class RedisCandidates:
    """Candidates from the open storage's parts (``parts()`` returns them)."""

    def __init__(self, parts: Callable[[], tuple[RedisContext, MessageSearch, Memories]]) -> None:
        self._parts = parts

    def reader(self) -> AbstractAsyncContextManager[CandidateReader]:
        return self._reading()

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[CandidateReader]:
        yield _RedisReader(*self._parts())


class _RedisReader:
    """One step's reads; what it read of messages and memories is kept for the step."""

    def __init__(self, context: RedisContext, search: MessageSearch, memories: Memories) -> None:
        self._context = context
        self._search = search
        self._memories = memories
        #: Messages read by this step: the message, its conversation and owner.
        self._messages: dict[uuid.UUID, tuple[Message, str, str | None]] = {}
        self._entries: dict[uuid.UUID, MemoryEntry] = {}

    async def fulltext(
        self, kind: ItemKind, query: FullTextQuery, scope: SearchScope, limit: int
    ) -> list[Candidate]:
        if kind == "message":
            found = await self._search.within(query, scope, limit)
            return [Candidate(message.id, message.content) for message in found]
        entries = await self._memories.within(query, scope, limit)
        return [Candidate(entry.id, entry.content) for entry in entries]

    async def message_stubs(
        self, ids: Sequence[uuid.UUID], scope: SearchScope
    ) -> dict[uuid.UUID, MessageStub]:
        if not ids:
            return {}
        wanted: dict[str, list[uuid.UUID]] = defaultdict(list)
        if scope.conversation_id is not None:
            wanted[scope.conversation_id] = list(ids)
        else:
            pipe = self._context.pipeline()
            for message_id in ids:
                pipe.hget(self._context.keys.registry(MESSAGES, message_id), str(message_id))
            for message_id, home in zip(ids, await pipe.execute(), strict=True):
                if home is not None:
                    wanted[str(home)].append(message_id)
        pipe = self._context.pipeline()
        for conversation_id, message_ids in wanted.items():
            keys = self._context.keys.conversation(conversation_id)
            names = [str(message_id) for message_id in message_ids]
            pipe.hget(keys.meta, "owner")
            pipe.hmget(keys.messages, names)
            pipe.zmscore(keys.order, names)
        replies = iter(await pipe.execute())
        stubs: dict[uuid.UUID, MessageStub] = {}
        for conversation_id, message_ids in wanted.items():
            owner, bodies, positions = next(replies), next(replies), next(replies)
            for message_id, body, seq in zip(message_ids, bodies, positions, strict=True):
                stub = self._admit(scope, conversation_id, owner, body, seq)
                if stub is not None and stub.id == message_id:
                    stubs[stub.id] = stub
        return stubs

    async def stubs_at(
        self, positions: Mapping[str, Iterable[int]], scope: SearchScope
    ) -> list[MessageStub]:
        chosen = {
            conversation_id: wanted
            for conversation_id, seqs in positions.items()
            if (wanted := set(seqs))
            and (scope.conversation_id is None or conversation_id == scope.conversation_id)
        }
        if not chosen:
            return []
        pipe = self._context.pipeline()
        for conversation_id, seqs in chosen.items():
            keys = self._context.keys.conversation(conversation_id)
            pipe.hget(keys.meta, "owner")
            pipe.zrange(keys.order, min(seqs), max(seqs), byscore=True, withscores=True)
        replies = iter(await pipe.execute())
        found: list[tuple[str, str | None, list[str], list[float]]] = []
        for conversation_id, seqs in chosen.items():
            owner, ranged = next(replies), next(replies)
            at = [(str(name), float(seq)) for name, seq in ranged if int(seq) in seqs]
            if at:
                found.append(
                    (conversation_id, owner, [name for name, _ in at], [seq for _, seq in at])
                )
        if not found:
            return []
        pipe = self._context.pipeline()
        for conversation_id, _, names, _ in found:
            pipe.hmget(self._context.keys.conversation(conversation_id).messages, names)
        stubs = []
        for (conversation_id, owner, _, places), bodies in zip(
            found, await pipe.execute(), strict=True
        ):
            for body, seq in zip(bodies, places, strict=True):
                stub = self._admit(scope, conversation_id, owner, body, seq)
                if stub is not None:
                    stubs.append(stub)
        return stubs

    def _admit(
        self,
        scope: SearchScope,
        conversation_id: str,
        owner: str | None,
        body: str | None,
        seq: float | None,
    ) -> MessageStub | None:
        """The stub of a message read from its conversation, if it is there and in scope
        (and the message, kept for :meth:`messages`)."""
        if body is None or seq is None:
            return None
        message = decode(Message, body)
        if not _admits(scope, message, conversation_id, owner):
            return None
        self._messages[message.id] = (message, conversation_id, owner)
        return MessageStub(message.id, conversation_id, int(seq), as_utc(message.timestamp))

    async def memory_stubs(
        self, ids: Sequence[uuid.UUID], scope: SearchScope, now: dt.datetime
    ) -> dict[uuid.UUID, MemoryStub]:
        entries = await self._memories.in_scope(ids, scope, now)
        self._entries.update(entries)
        return {
            memory_id: MemoryStub(memory_id, as_utc(entry.created_at), entry.metadata.importance)
            for memory_id, entry in entries.items()
        }

    async def messages(
        self, ids: Sequence[uuid.UUID], scope: SearchScope
    ) -> dict[uuid.UUID, Message]:
        missing = [message_id for message_id in ids if message_id not in self._messages]
        if missing:
            await self.message_stubs(missing, scope)
        found = {}
        for message_id in ids:
            if message_id not in self._messages:
                continue
            message, conversation_id, owner = self._messages[message_id]
            if _admits(scope, message, conversation_id, owner):
                found[message_id] = message
        return found

    async def memories(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, MemoryEntry]:
        return {
            memory_id: self._entries[memory_id] for memory_id in ids if memory_id in self._entries
        }


def _admits(scope: SearchScope, message: Message, conversation_id: str, owner: str | None) -> bool:
    """Whether a message of ``conversation_id`` (owned by ``owner``) is in ``scope``."""
    return scope.admits(
        user_id=owner,
        conversation_id=conversation_id,
        time=as_utc(message.timestamp),
        document=message.metadata,
    )
