"""Messages of conversations: atomic appends, claiming, clearing, and reads.

The conversation's own slot is the system of record: ``append_messages.lua`` checks the
owner, refuses ids already there, hands out positions and writes every message (and, with
RediSearch, its search document), or writes nothing. What other slots hold about a
conversation (search postings, its user's sets, the id registry) is written before that
script and removed after a delete, and is verified wherever it is read.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bruno_core.models.message import Message, MessageRole
from cachetools import LRUCache

from bruno_memory.adapters.redis.codec import decode, encode, iso, micros, normalized_message
from bruno_memory.backends._redis.context import MAX_ATTEMPTS, RedisContext, best_effort
from bruno_memory.backends._redis.message_index import (
    MESSAGES,
    Entry,
    MessageIndex,
    message_index,
)
from bruno_memory.backends._redis.registry import Registry
from bruno_memory.db.types import utc_now
from bruno_memory.errors import (
    AccessDeniedError,
    BrunoMemoryError,
    ConflictError,
    MessageNotFoundError,
    StorageError,
)
from bruno_memory.window import context_window

if TYPE_CHECKING:
    from bruno_memory.adapters.redis.client import RedisPipeline

#: Conversation owners a backend remembers.
OWNER_CACHE_SIZE = 65_536


@dataclass(frozen=True)
class _Record:
    """A validated message ready to write."""

    message: Message
    json: str
    weights: dict[str, float]
    indexed: str  # what the commit script records for the index: terms, or words

    @classmethod
    def of(cls, message: Message, index: MessageIndex) -> _Record:
        return cls(message, encode(message), *index.describe(message.content))

    def script_args(self) -> list[Any]:
        """This message's arguments of ``append_messages.lua``."""
        role = MessageRole(self.message.role).value
        stamp = micros(self.message.timestamp)
        return [str(self.message.id), self.json, role, stamp, self.indexed]

    @property
    def entry(self) -> Entry:
        return str(self.message.id), self.weights


class Conversations:
    """Message operations.

    Writers remember conversation owners (a bounded LRU cache) to index a message for its
    owner in the same round trip as the id claims; the commit script checks the owner
    read in that round trip, so a stale cache costs a round trip, never a wrong index.
    """

    def __init__(self, context: RedisContext) -> None:
        self._context = context
        self.index = message_index(context)
        self.registry = Registry(context, MESSAGES, self._message_exists)
        self._owners: LRUCache[str, str] = LRUCache(maxsize=OWNER_CACHE_SIZE)

    async def _message_exists(self, message_id: uuid.UUID, conversation_id: str) -> bool:
        messages = self._context.keys.conversation(conversation_id).messages
        return bool(await self._context.client.hexists(messages, str(message_id)))

    def _script_keys(self, conversation_id: str) -> list[str]:
        keys = self._context.keys.conversation(conversation_id)
        return [*keys.fixed(), keys.refs]

    # -- writes ------------------------------------------------------------------------------

    async def store(
        self, messages: Sequence[Message], conversation_id: str, user: str | None
    ) -> str | None:
        """Append ``messages`` in order: all of them, or (on any error) none; the
        conversation's owner.

        One round trip claims the ids, reads the owner and writes the postings (for the
        user the messages name, or the cached owner); a second runs the commit script.
        """
        now = utc_now()
        records = [
            _Record.of(normalized_message(m, conversation_id, now), self.index) for m in messages
        ]
        ids = [record.message.id for record in records]
        assumed = user or self._owners.get(conversation_id)
        pipe = self._context.pipeline()
        self.registry.queue_claims(pipe, ids, conversation_id)
        pipe.hget(self._context.keys.conversation(conversation_id).meta, "owner")
        self.index.queue(pipe, conversation_id, _entries(records), assumed, everywhere=True)
        self._note(pipe, conversation_id, assumed, now)
        replies = await pipe.execute()
        fresh, owner = replies[: len(ids)], replies[len(ids)]
        try:
            await self.registry.settle(ids, conversation_id, fresh)
        except ConflictError:
            held = {str(item) for item, new in zip(ids, fresh, strict=True) if not new}
            await self._abandon(conversation_id, records, assumed, held)
            raise
        try:
            return await self._commit(conversation_id, records, user, now, owner, assumed)
        except BrunoMemoryError as exc:  # refused: nothing was committed
            held_id = exc.details.get("id") if isinstance(exc, ConflictError) else None
            mine = [item for item in ids if str(item) != held_id]
            await best_effort(self.registry.release(mine), "release message ids")
            raise

    async def _commit(
        self,
        conversation_id: str,
        records: list[_Record],
        user: str | None,
        now: dt.datetime,
        owner: str | None,
        indexed_for: str | None,
    ) -> str | None:
        """Run the commit script until it lands or refuses (the owner once it landed); the
        owner-scope postings follow the owner read last (``owner``), the script checks it
        is still that one."""
        args = [arg for record in records for arg in record.script_args()]
        for _ in range(MAX_ATTEMPTS):
            if owner is not None and user is not None and owner != user:
                reply = ["denied", owner]
            else:
                wanted = owner or user
                if wanted != indexed_for:
                    await self._move_index(conversation_id, records, indexed_for, wanted, now)
                    indexed_for = wanted
                reply = await self._context.scripts.run(
                    "append_messages",
                    self._script_keys(conversation_id),
                    [
                        owner or "",
                        user or "",
                        iso(now),
                        *self._context.ttl_args(),
                        self._context.document_prefix(conversation_id),
                        *args,
                    ],
                )
            if reply[0] == "ok":
                if not reply[1]:
                    return None
                self._owners[conversation_id] = str(reply[1])
                return str(reply[1])
            if reply[0] == "conflict":
                await self._abandon(conversation_id, records, indexed_for, held={str(reply[1])})
                raise ConflictError(
                    f"a message with id {reply[1]} already exists", details={"id": str(reply[1])}
                )
            if reply[0] == "denied":
                await self._abandon(conversation_id, records, indexed_for)
                raise _denied(conversation_id, user)
            if reply[0] == "claim" and user is not None:
                await self.claim(conversation_id, user)
            owner = await self._context.hget(
                self._context.keys.conversation(conversation_id).meta, "owner"
            )
        await self._abandon(conversation_id, records, indexed_for)
        raise StorageError(f"conversation {conversation_id!r} kept changing owner while writing")

    async def _abandon(
        self,
        conversation_id: str,
        records: list[_Record],
        indexed_for: str | None,
        held: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """Unindex messages whose commit was refused (but ``held`` ids, another message's)."""
        entries = [entry for entry in _entries(records) if entry[0] not in held]
        removal = self.index.remove(conversation_id, entries, indexed_for, everywhere=True)
        await best_effort(removal, "unindex")

    def _note(
        self, pipe: RedisPipeline, conversation_id: str, owner: str | None, now: dt.datetime
    ) -> None:
        if owner is not None:
            self._context.note_ownership(pipe, owner, conversation_id, now)
        self._context.note_expiry(pipe, conversation_id, now)

    async def _move_index(
        self,
        conversation_id: str,
        records: list[_Record],
        old: str | None,
        new: str | None,
        now: dt.datetime,
    ) -> None:
        """Move uncommitted messages' index entries from ``old`` owner to ``new``, and note
        the new owner's hints."""
        entries = _entries(records)
        await self.index.remove(conversation_id, entries, old, everywhere=False)
        pipe = self._context.pipeline()
        self.index.queue(pipe, conversation_id, entries, new, everywhere=False)
        self._note(pipe, conversation_id, new, now)
        await pipe.execute()

    async def claim(self, conversation_id: str, user_id: str) -> None:
        """Make ``user_id`` the owner of an unowned conversation, indexing its messages for
        the user first (the claim script tags their search documents instead);
        AccessDeniedError if another user owns it."""
        keys = self._context.keys.conversation(conversation_id)
        for _ in range(MAX_ATTEMPTS):
            pipe = self._context.pipeline()
            pipe.hget(keys.meta, "owner")
            pipe.hget(keys.meta, "seq")
            if self.index.posts:
                pipe.hgetall(keys.messages)
            owner, seq, *bodies = await pipe.execute()
            if owner == user_id:
                return
            if owner is not None:
                raise _denied(conversation_id, user_id)
            found = [
                _Record.of(decode(Message, body), self.index).entry
                for body in (bodies[0].values() if bodies else ())
            ]
            pipe = self._context.pipeline()
            self.index.queue(pipe, conversation_id, found, user_id, everywhere=False)
            self._note(pipe, conversation_id, user_id, utc_now())
            await pipe.execute()
            reply = await self._context.scripts.run(
                "claim_conversation",
                self._script_keys(conversation_id),
                [
                    user_id,
                    seq or "0",
                    *self._context.ttl_args(),
                    self._context.document_prefix(conversation_id),
                ],
            )
            if reply[0] == "ok":
                self._owners[conversation_id] = user_id
                return
            removal = self.index.remove(conversation_id, found, user_id, everywhere=False)
            await best_effort(removal, "unindex")
            if reply[0] == "denied":
                raise _denied(conversation_id, user_id)
        raise StorageError(f"conversation {conversation_id!r} kept changing while claiming it")

    async def clear(self, conversation_id: str, *, keep_system_messages: bool) -> int:
        """Delete the conversation's messages (but its system messages, if asked)."""
        reply = await self._context.scripts.run(
            "clear_conversation",
            self._script_keys(conversation_id),
            [
                "1" if keep_system_messages else "0",
                *self._context.ttl_args(),
                self._context.document_prefix(conversation_id),
            ],
        )
        owner = str(reply[0]) or None
        deleted = [(str(reply[i]), str(reply[i + 1]).split()) for i in range(1, len(reply), 2)]
        await self.index.cleared(conversation_id, owner, deleted)
        await self.registry.release([uuid.UUID(message_id) for message_id, _ in deleted])
        return len(deleted)

    # -- reads -------------------------------------------------------------------------------

    async def latest(self, conversation_id: str, limit: int | None) -> list[Message]:
        """The conversation's messages, most recent first; all when ``limit`` is None."""
        stop = -1 if limit is None else limit - 1
        return await self._read(conversation_id, ["latest", stop])

    async def page(
        self,
        conversation_id: str,
        *,
        before: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Message]:
        """Up to ``limit`` messages strictly between two message-id cursors, oldest first."""
        cursors = {
            name: "" if cursor is None else str(cursor)
            for name, cursor in (("after", after), ("before", before))
        }
        return await self._read(
            conversation_id, ["page", limit, cursors["after"], cursors["before"]], cursors
        )

    async def _read(
        self, conversation_id: str, args: list[Any], cursors: dict[str, str] | None = None
    ) -> list[Message]:
        keys = self._context.keys.conversation(conversation_id)
        reply = await self._context.scripts.run("read_messages", [keys.order, keys.messages], args)
        if reply[0] == "missing":
            name = str(reply[1])
            raise MessageNotFoundError(
                f"the {name!r} message is not in this conversation",
                details={"conversation_id": conversation_id, name: (cursors or {}).get(name)},
            )
        return [decode(Message, body) for body in reply[1:] if body is not None]

    async def window(self, conversation_id: str, size: int) -> list[Message]:
        """The context window: the last ``size`` messages, earlier system messages pinned in
        front (:func:`~bruno_memory.window.context_window`), chronological."""
        keys = self._context.keys.conversation(conversation_id)
        pipe = self._context.pipeline()
        pipe.zrevrange(keys.order, 0, size - 1, withscores=True)
        pipe.zrevrange(keys.system, 0, size - 1, withscores=True)
        recent, system = await pipe.execute()
        if not recent:
            return []
        positions = {str(item): int(score) for item, score in [*recent, *system]}
        bodies = await self._context.hmget(keys.messages, list(positions))
        found = {
            message_id: decode(Message, body)
            for message_id, body in zip(positions, bodies, strict=True)
            if body is not None
        }
        first = min(int(score) for _, score in recent)
        chronological = sorted((positions[m], found[m]) for m in found if positions[m] >= first)
        earlier = sorted((positions[m], found[m]) for m in found if positions[m] < first)
        chosen = context_window(
            chronological,
            earlier,
            size,
            is_system=lambda item: item[1].role is MessageRole.SYSTEM,
            position=lambda item: item[0],
        )
        return [message for _, message in chosen]


def _entries(records: Sequence[_Record]) -> list[Entry]:
    return [record.entry for record in records]


def _denied(conversation_id: str, user_id: str | None) -> AccessDeniedError:
    return AccessDeniedError(
        "the conversation belongs to another user",
        details={"conversation_id": conversation_id, "user_id": user_id},
    )
