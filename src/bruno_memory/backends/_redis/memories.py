"""Long-term memory entries, in their user's slot.

An entry is a hash (``doc`` JSON, access count, last access, the index keys it is in);
per-user sorted sets order entries by insertion, importance, confidence, creation and
expiry, and sets group them by type, category and tag. ``put_memory.lua`` writes an entry
with all of that at once; ``select_memories.lua`` filters and ranks the entries of a
query in one round trip; ``touch_memories.lua`` counts the accesses. Searches without a
user go through the ``{global}`` postings, whose members name the user
(``<id>@<user>``), and are verified.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from bruno_core.models.memory import MemoryEntry, MemoryQuery

from bruno_memory.adapters.redis.codec import (
    iso,
    memory_fields,
    memory_from_fields,
    micros,
    normalized_memory,
)
from bruno_memory.adapters.redis.keys import UserKeys
from bruno_memory.backends._redis.context import MAX_ATTEMPTS, RedisContext
from bruno_memory.backends._redis.registry import Registry
from bruno_memory.backends._redis.textindex import (
    best_verified,
    member,
    queue_postings,
    rank,
    split_member,
    unweighted,
)
from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.db.types import as_utc, utc_now
from bruno_memory.errors import AccessDeniedError, ConflictError, MemoryNotFoundError, StorageError
from bruno_memory.ports.scope import SearchScope
from bruno_memory.ports.storage import MEMORY_ORDER, MEMORY_ORDER_BY_RELEVANCE
from bruno_memory.terms import absent_terms, document_terms, matches, query_terms

#: Index kind of memory entries.
MEMORIES = "mem"


class Memories:
    """Memory-entry operations. Reads are not accesses; :meth:`touch` counts one of each
    entry (the facade touches what its retrieval returns)."""

    def __init__(self, context: RedisContext) -> None:
        self._context = context
        self.registry = Registry(context, MEMORIES, self._memory_exists)

    async def _memory_exists(self, memory_id: uuid.UUID, user_id: str) -> bool:
        key = self._context.keys.user(user_id).memory(memory_id)
        return bool(await self._context.client.exists(key))

    def _orders(self, user: UserKeys) -> list[str]:
        """The user's memory orders and document counter (the scripts' first keys)."""
        orders = ("importance", "confidence", "created", "expires")
        return [user.memories, *map(user.memory_order, orders), user.documents(MEMORIES)]

    def _memory_keys(self, user: UserKeys, memory_id: uuid.UUID) -> list[str]:
        """The first keys of the memory scripts (see ``lua/memory.lua``)."""
        *orders, documents = self._orders(user)
        return [user.memory(memory_id), *orders, user.profile, documents]

    # -- writes ------------------------------------------------------------------------------

    async def store(self, entry: MemoryEntry) -> None:
        """Store a new entry; an entry with the same id raises ConflictError."""
        entry = normalized_memory(entry)
        await self.registry.claim([entry.id], entry.user_id)
        weights = document_terms(entry.content)
        await self._index_globally(entry, weights)
        status = await self._put(entry, weights, fields=memory_fields(entry))
        if status == "conflict":  # stored, though the registry missed it: keep the entry
            raise ConflictError(
                f"a memory with id {entry.id} already exists", details={"id": str(entry.id)}
            )

    async def get(self, memory_id: uuid.UUID) -> MemoryEntry | None:
        """The entry, or None."""
        found = await self._read(memory_id)
        return None if found is None else memory_from_fields(found)

    async def update(self, entry: MemoryEntry) -> MemoryEntry:
        """Replace the stored entry's content and metadata; returns it as stored."""
        entry = normalized_memory(entry)
        for _ in range(MAX_ATTEMPTS):
            fields = await self._read(entry.id)
            if fields is None:
                raise _not_found(entry.id)
            if fields["user_id"] != entry.user_id:
                raise AccessDeniedError(
                    "a memory cannot move to another user",
                    details={"memory_id": str(entry.id), "user_id": entry.user_id},
                )
            stored = memory_from_fields(fields)
            updated = entry.model_copy(
                update={
                    "created_at": stored.created_at,
                    "last_accessed": stored.last_accessed,
                    "updated_at": utc_now(),
                }
            )
            updated.metadata.access_count = stored.metadata.access_count
            weights = document_terms(updated.content)
            await self._index_globally(updated, weights)
            doc = memory_fields(updated)["doc"]
            status = await self._put(updated, weights, version=fields["version"], doc=doc)
            if status == "ok":
                dropped = [key for key in document_terms(stored.content) if key not in weights]
                await self._unindex_globally(str(updated.id), updated.user_id, dropped)
                return updated
            if status == "missing":
                raise _not_found(entry.id)
        raise StorageError(f"memory {entry.id} kept changing while updating it")

    async def delete(self, memory_id: uuid.UUID) -> bool:
        """Delete the entry; whether there was one."""
        user_id = await self.registry.locate(memory_id)
        if user_id is None or not await self.drop(user_id, memory_id):
            await self.registry.release([memory_id])
            return False
        return True

    async def drop(self, user_id: str, memory_id: uuid.UUID) -> bool:
        """Delete one of the user's entries, its postings and registry entry; False if the
        user has no such entry."""
        user = self._context.keys.user(user_id)
        reply = await self._context.scripts.run(
            "drop_memory", self._memory_keys(user, memory_id), [str(memory_id)]
        )
        if reply[0] != "ok":
            return False
        await self._unindex_globally(str(memory_id), user_id, str(reply[1]).split())
        await self.registry.release([memory_id])
        return True

    async def _put(
        self,
        entry: MemoryEntry,
        weights: dict[str, float],
        *,
        fields: dict[str, Any] | None = None,
        version: str = "",
        doc: str = "",
    ) -> str:
        """Run ``put_memory.lua``: insert (with all ``fields``) or update (``doc``, when the
        stored version is still ``version``). Returns the script's status."""
        user = self._context.keys.user(entry.user_id)
        meta = entry.metadata
        sets = [user.memory_set("type", entry.memory_type.value)]
        sets += [user.memory_set("category", meta.category)] if meta.category is not None else []
        sets += [user.memory_set("tag", tag) for tag in dict.fromkeys(meta.tags)]
        postings = [user.postings(MEMORIES, key) for key in weights]
        pairs = fields if fields is not None else {"doc": doc}
        expires = "" if entry.expires_at is None else micros(entry.expires_at)
        reply = await self._context.scripts.run(
            "put_memory",
            [*self._memory_keys(user, entry.id), *sets, *postings],
            [
                "insert" if fields is not None else "update",
                version,
                str(entry.id),
                len(sets),
                meta.importance,
                meta.confidence,
                micros(entry.created_at),
                expires,
                " ".join(weights),
                iso(utc_now()),
                *weights.values(),
                *(item for pair in pairs.items() for item in pair),
            ],
        )
        return str(reply[0])

    async def _read(self, memory_id: uuid.UUID) -> dict[str, str] | None:
        user_id = await self.registry.locate(memory_id)
        if user_id is None:
            return None
        key = self._context.keys.user(user_id).memory(memory_id)
        return await self._context.hgetall(key) or None

    async def _index_globally(self, entry: MemoryEntry, weights: dict[str, float]) -> None:
        pipe = self._context.pipeline()
        item = member(entry.id, entry.user_id)
        queue_postings(pipe, self._context.keys.global_index, MEMORIES, [(item, weights)], add=True)
        await pipe.execute()

    async def _unindex_globally(self, memory_id: str, user_id: str, terms: list[str]) -> None:
        pipe = self._context.pipeline()
        item = member(memory_id, user_id)
        documents = [(item, unweighted(terms))]
        queue_postings(pipe, self._context.keys.global_index, MEMORIES, documents, add=False)
        await pipe.execute()

    # -- reads -------------------------------------------------------------------------------

    async def query(self, query: MemoryQuery, text: FullTextQuery | None) -> list[MemoryEntry]:
        """Entries matching every filter of ``query``: best ``text`` match first, otherwise
        most important, then newest."""
        user = self._context.keys.user(query.user_id)
        groups = [
            [user.memory_set("type", kind.value) for kind in query.memory_types],
            [user.memory_set("category", category) for category in query.categories],
            [user.memory_set("tag", tag) for tag in query.tags],
        ]
        return await self._select(
            user,
            groups=[group for group in groups if group],
            text=text,
            min_confidence=query.min_confidence,
            min_importance=query.min_importance,
            include_expired=query.include_expired,
            limit=query.limit,
        )

    async def search(
        self, parsed: FullTextQuery, *, user_id: str | None, limit: int
    ) -> list[MemoryEntry]:
        """Unexpired entries matching ``parsed``, best first."""
        if user_id is not None:
            return await self._select(self._context.keys.user(user_id), text=parsed, limit=limit)
        terms = query_terms(parsed)
        scope = self._context.keys.global_index

        async def fetch(count: int) -> list[tuple[str, float]]:
            return await rank(self._context.scripts, scope, MEMORIES, terms, MatchMode.ALL, count)

        async def verify(candidates: list[tuple[str, float]]) -> list[str]:
            return await self._verify(candidates, terms)

        return await self._entries_of(await best_verified(fetch, verify, limit))

    async def within(
        self, parsed: FullTextQuery, scope: SearchScope, limit: int
    ) -> list[MemoryEntry]:
        """Unexpired entries in ``scope`` matching ``parsed`` (every word, or any word),
        best first (ties: the newest); reading them is not an access. Ranked in the scope
        user's postings (written with the entry, atomically), else in the ``{global}`` ones
        (hints: verified, and unindexed where stale)."""
        terms = query_terms(parsed)
        keys = self._context.keys
        index = keys.global_index if scope.user_id is None else keys.user(scope.user_id)

        async def fetch(count: int) -> list[tuple[str, float]]:
            scripts = self._context.scripts
            found = await rank(scripts, index, MEMORIES, terms, parsed.mode, count)
            if scope.user_id is None:
                return found
            return [(member(item, scope.user_id), score) for item, score in found]

        async def verify(candidates: list[tuple[str, float]]) -> list[MemoryEntry]:
            return await self._verified(candidates, terms, parsed.mode, scope)

        return await best_verified(fetch, verify, limit)

    async def in_scope(
        self, ids: Sequence[uuid.UUID], scope: SearchScope, now: dt.datetime
    ) -> dict[uuid.UUID, MemoryEntry]:
        """The entries with these ids that are in scope and unexpired at ``now`` (reading
        them is not an access)."""
        if not ids:
            return {}
        located = await self._located(ids, scope.user_id)
        pipe = self._context.pipeline()
        for memory_id, user_id in located:
            pipe.hgetall(self._context.keys.user(user_id).memory(memory_id))
        found: dict[uuid.UUID, MemoryEntry] = {}
        for (memory_id, _), fields in zip(located, await pipe.execute(), strict=True):
            entry = memory_from_fields(fields) if fields else None
            if entry is not None and entry.id == memory_id and _admits(scope, entry, now):
                found[memory_id] = entry
        return found

    async def _located(
        self, ids: Sequence[uuid.UUID], user_id: str | None
    ) -> list[tuple[uuid.UUID, str]]:
        """Each id with its user (``user_id``, else the registry's), those unknown left out."""
        users: Sequence[str | None]
        if user_id is not None:
            users = [user_id] * len(ids)
        else:
            pipe = self._context.pipeline()
            for memory_id in ids:
                pipe.hget(self._context.keys.registry(MEMORIES, memory_id), str(memory_id))
            users = await pipe.execute()
        return [(i, u) for i, u in zip(ids, users, strict=True) if u is not None]

    async def touch(self, entries: Sequence[MemoryEntry]) -> list[MemoryEntry]:
        """Count one access of each entry; the entries as counted, in order."""
        return await self._touch([member(entry.id, entry.user_id) for entry in entries])

    async def _verified(
        self,
        candidates: list[tuple[str, float]],
        terms: list[str],
        mode: MatchMode,
        scope: SearchScope,
    ) -> list[MemoryEntry]:
        """The entries of the candidates (``<id>@<user>`` members) that exist, match and are
        in scope and unexpired, best first (ties: the newest); stale ``{global}`` postings
        found on the way are removed."""
        pipe = self._context.pipeline()
        for item, _ in candidates:
            memory_id, user_id = split_member(item)
            pipe.hgetall(self._context.keys.user(user_id).memory(uuid.UUID(memory_id)))
        found = await pipe.execute()
        now = utc_now()
        hits: list[tuple[float, MemoryEntry]] = []
        stale: dict[str, list[str]] = {}
        for (item, score), fields in zip(candidates, found, strict=True):
            entry = memory_from_fields(fields) if fields else None
            absent = terms if entry is None else absent_terms(entry.content, terms)
            if absent:
                stale[item] = absent
            if entry is not None and matches(absent, terms, mode) and _admits(scope, entry, now):
                hits.append((score, entry))
        if stale and scope.user_id is None:
            await self._unindex_stale(stale)
        hits.sort(key=lambda hit: (-round(hit[0], 9), -hit[1].created_at.timestamp()))
        return [entry for _, entry in hits]

    async def _unindex_stale(self, stale: dict[str, list[str]]) -> None:
        pipe = self._context.pipeline()
        for item, keys in stale.items():
            for key in keys:
                pipe.zrem(self._context.keys.global_index.postings(MEMORIES, key), item)
        await pipe.execute()

    async def _select(
        self,
        user: UserKeys,
        *,
        text: FullTextQuery | None,
        limit: int,
        groups: list[list[str]] | None = None,
        min_confidence: float = 0.0,
        min_importance: float = 0.0,
        include_expired: bool = False,
    ) -> list[MemoryEntry]:
        groups = groups or []
        terms = query_terms(text) if text is not None else []
        now = utc_now()
        reply = await self._context.scripts.run(
            "select_memories",
            [
                *self._orders(user),
                user.temporary(),
                user.temporary(),
                *(key for group in groups for key in group),
                *(user.postings(MEMORIES, key) for key in terms),
            ],
            [
                user.memory_prefix,
                "" if text is None else text.mode.value,
                min_confidence,
                min_importance,
                "1" if include_expired else "0",
                micros(now),
                limit,
                "",  # reading is not an access: the facade touches what it returns
                len(groups),
                *(len(group) for group in groups),
                *(MEMORY_ORDER if text is None else MEMORY_ORDER_BY_RELEVANCE),
            ],
        )
        return _entries(reply)

    async def _verify(self, candidates: list[tuple[str, float]], terms: list[str]) -> list[str]:
        """Members of the candidates that exist, are unexpired and hold every term."""
        pipe = self._context.pipeline()
        for item, _ in candidates:
            memory_id, user_id = split_member(item)
            pipe.hgetall(self._context.keys.user(user_id).memory(uuid.UUID(memory_id)))
        found = await pipe.execute()
        now = utc_now()
        kept: list[str] = []
        stale: dict[str, list[str]] = {}
        for (item, _), fields in zip(candidates, found, strict=True):
            entry = memory_from_fields(fields) if fields else None
            absent = terms if entry is None else absent_terms(entry.content, terms)
            if absent:
                stale[item] = absent
            elif entry is not None and (entry.expires_at is None or entry.expires_at > now):
                kept.append(item)
        if stale:
            await self._unindex_stale(stale)
        return kept

    async def _entries_of(self, items: list[str]) -> list[MemoryEntry]:
        """The entries of the members (``<id>@<user>``), in order; those gone left out."""
        pipe = self._context.pipeline()
        for item in items:
            memory_id, user_id = split_member(item)
            pipe.hgetall(self._context.keys.user(user_id).memory(uuid.UUID(memory_id)))
        found = [memory_from_fields(fields) if fields else None for fields in await pipe.execute()]
        return [entry for entry in found if entry is not None]

    async def _touch(self, items: list[str]) -> list[MemoryEntry]:
        """Count an access of each member's entry; the entries, in the members' order."""
        by_user: dict[str, list[str]] = defaultdict(list)
        for item in items:
            memory_id, user_id = split_member(item)
            by_user[user_id].append(memory_id)
        now = iso(utc_now())
        touched: dict[str, MemoryEntry] = {}
        for user_id, memory_ids in by_user.items():
            user = self._context.keys.user(user_id)
            keys = [user.memory(uuid.UUID(memory_id)) for memory_id in memory_ids]
            reply = await self._context.scripts.run("touch_memories", keys, [now])
            for entry in _entries(reply):
                touched[member(entry.id, user_id)] = entry
        return [touched[item] for item in items if item in touched]


def _entries(reply: list[Any]) -> list[MemoryEntry]:
    """Entries of a script reply of (doc, access count, last access) triples."""
    entries = []
    for i in range(0, len(reply), 3):
        if reply[i]:
            doc, count, accessed = reply[i : i + 3]
            fields = {"doc": doc, "access_count": count, "last_accessed": accessed}
            entries.append(memory_from_fields(fields))
    return entries


def _admits(scope: SearchScope, entry: MemoryEntry, now: dt.datetime) -> bool:
    """Whether an entry is unexpired at ``now`` and in ``scope``."""
    if entry.expires_at is not None and as_utc(entry.expires_at) <= now:
        return False
    return scope.admits(
        user_id=entry.user_id,
        conversation_id=entry.conversation_id,
        time=as_utc(entry.created_at),
        document=entry.metadata.custom_fields,
    )


def _not_found(memory_id: uuid.UUID) -> MemoryNotFoundError:
    return MemoryNotFoundError(f"no memory {memory_id}", details={"memory_id": str(memory_id)})
