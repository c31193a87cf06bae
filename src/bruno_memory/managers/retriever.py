"""Retrieval over messages and memories: exact, full-text, semantic and hybrid.

Each signal ranks candidates on its own (full-text per kind, since bm25 scores of two
tables do not compare; semantic across both kinds, since cosine does). Hybrid fuses the
ranked lists with reciprocal-rank fusion, ``sum(weight / (k + rank))``, optionally boosted
by recency and by a memory's importance. Results are hydrated in one query per kind, which
also applies the scope (so a candidate outside it never shows), deduplicated, and cached
until the next write. Without an embedder, hybrid uses full-text alone.
"""

from __future__ import annotations

import copy
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache

from bruno_memory.adapters.vector.base import ItemKind, VectorFilter
from bruno_memory.db.engine import Database
from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.db.types import utc_now
from bruno_memory.errors import ConfigurationError, InvalidInputError
from bruno_memory.managers.semantic import SemanticSearch
from bruno_memory.mapping import memory_from_row, message_from_row, require_limit
from bruno_memory.repositories.scope import SearchScope
from bruno_memory.results import SearchHit, SearchMode, SignalMatch
from bruno_memory.uow import UnitOfWork

Key = tuple[ItemKind, uuid.UUID]
KINDS: tuple[ItemKind, ...] = ("message", "memory")


@dataclass(frozen=True)
class RetrievalSettings:
    """How signals are fused and boosted."""

    rrf_k: int = 60
    fulltext_weight: float = 1.0
    semantic_weight: float = 1.0
    recency_weight: float = 0.0
    recency_half_life_days: float = 30.0
    importance_weight: float = 0.0
    candidates_per_signal: int = 50
    cache_size: int = 256
    cache_ttl_seconds: float = 30.0


@dataclass
class _Ranked:
    keys: list[Key]
    scores: dict[Key, float]


class Retriever:
    """Ranks stored messages and memories for a query."""

    def __init__(
        self, database: Database, settings: RetrievalSettings, semantic: SemanticSearch | None
    ) -> None:
        self._database = database
        self._settings = settings
        self._semantic = semantic
        self._cache: TTLCache[Any, list[SearchHit]] = TTLCache(
            maxsize=max(settings.cache_size, 1), ttl=settings.cache_ttl_seconds
        )

    def invalidate(self) -> None:
        """Forget cached results (called after every write)."""
        self._cache.clear()

    async def search(
        self,
        query: str,
        *,
        scope: SearchScope,
        limit: int,
        mode: SearchMode,
        kinds: Sequence[ItemKind] = KINDS,
    ) -> list[SearchHit]:
        """The best ``limit`` hits for ``query`` within ``scope``."""
        words = FullTextQuery.parse(query, MatchMode.ANY)
        require_limit(limit)
        chosen = tuple(dict.fromkeys(kinds))
        if not chosen or any(kind not in KINDS for kind in chosen):
            raise InvalidInputError("kinds must name 'message' and/or 'memory'")
        if mode == "semantic" and self._semantic is None:
            raise ConfigurationError(
                "semantic search needs an embedder: install bruno-memory[embeddings] or pass one"
            )
        key = (
            query,
            scope.user_id,
            scope.conversation_id,
            scope.since,
            scope.until,
            tuple(sorted(scope.metadata.items())),
            limit,
            mode,
            chosen,
        )
        cached = self._cache.get(key) if self._settings.cache_size else None
        if cached is None:
            cached = await self._search(query, words, scope, limit, mode, chosen)
            if self._settings.cache_size:
                self._cache[key] = cached
        return copy.deepcopy(cached)

    async def _search(
        self,
        query: str,
        words: FullTextQuery,
        scope: SearchScope,
        limit: int,
        mode: SearchMode,
        kinds: tuple[ItemKind, ...],
    ) -> list[SearchHit]:
        pool = max(limit * 4, self._settings.candidates_per_signal)
        signals: dict[str, list[_Ranked]] = {}
        if mode in ("fulltext", "hybrid") and not words.is_empty:
            signals["fulltext"] = await self._fulltext(words, scope, pool, kinds)
        if mode == "exact" and not words.is_empty:
            signals["exact"] = await self._exact(query, scope, pool, kinds)
        if mode in ("semantic", "hybrid") and self._semantic is not None:
            signals["semantic"] = [await self._nearest(query, scope, pool, kinds)]
        return await self._fuse_and_hydrate(signals, scope, limit)

    async def _fulltext(
        self, words: FullTextQuery, scope: SearchScope, pool: int, kinds: tuple[ItemKind, ...]
    ) -> list[_Ranked]:
        ranked = []
        async with UnitOfWork(self._database) as uow:
            if "message" in kinds:
                rows = await uow.messages.search(words, scope, pool)
                ranked.append(_Ranked([("message", row.id) for row in rows], {}))
            if "memory" in kinds:
                found = await uow.memories.search(words, scope, pool, utc_now())
                ranked.append(_Ranked([("memory", row.id) for row in found], {}))
        return ranked

    async def _exact(
        self, query: str, scope: SearchScope, pool: int, kinds: tuple[ItemKind, ...]
    ) -> list[_Ranked]:
        """Items holding the query as a substring (case-insensitive): full-text candidates
        holding every word, then checked literally."""
        needle = query.strip().casefold()
        words = FullTextQuery.parse(query, MatchMode.ALL)
        ranked = []
        async with UnitOfWork(self._database) as uow:
            if "message" in kinds:
                rows = await uow.messages.search(words, scope, pool)
                ranked.append(
                    _Ranked([("message", r.id) for r in rows if needle in r.content.casefold()], {})
                )
            if "memory" in kinds:
                found = await uow.memories.search(words, scope, pool, utc_now())
                ranked.append(
                    _Ranked([("memory", r.id) for r in found if needle in r.content.casefold()], {})
                )
        return ranked

    async def _nearest(
        self, query: str, scope: SearchScope, pool: int, kinds: tuple[ItemKind, ...]
    ) -> _Ranked:
        assert self._semantic is not None
        where = VectorFilter(
            kinds=kinds,
            user_id=scope.user_id,
            conversation_id=scope.conversation_id,
            since=scope.since,
            until=scope.until,
        )
        matches = await self._semantic.nearest(query, where, pool)
        return _Ranked(
            [(match.kind, match.item_id) for match in matches],
            {(match.kind, match.item_id): match.score for match in matches},
        )

    async def _fuse_and_hydrate(
        self, signals: dict[str, list[_Ranked]], scope: SearchScope, limit: int
    ) -> list[SearchHit]:
        settings = self._settings
        weights = {"fulltext": settings.fulltext_weight, "semantic": settings.semantic_weight}
        fused: dict[Key, float] = {}
        matched: dict[Key, dict[str, SignalMatch]] = {}
        for name, lists in signals.items():
            for ranked in lists:
                for rank, key in enumerate(ranked.keys, start=1):
                    weight = weights.get(name, 1.0)
                    fused[key] = fused.get(key, 0.0) + weight / (settings.rrf_k + rank)
                    matched.setdefault(key, {})[name] = SignalMatch(
                        rank=rank, score=ranked.scores.get(key)
                    )
        hits = await self._hydrate(fused, matched, scope)
        hits.sort(key=lambda hit: -hit.score)
        return hits[:limit]

    async def _hydrate(
        self,
        fused: dict[Key, float],
        matched: dict[Key, dict[str, SignalMatch]],
        scope: SearchScope,
    ) -> list[SearchHit]:
        ids = {kind: [item for k, item in fused if k == kind] for kind in KINDS}
        now = utc_now()
        async with UnitOfWork(self._database) as uow:
            messages = await uow.messages.by_ids(ids["message"], scope)
            memories = await uow.memories.by_ids(ids["memory"], scope, now)
        hits = []
        for (kind, item_id), score in fused.items():
            if kind == "message" and item_id in messages:
                message = message_from_row(messages[item_id])
                boost = self._recency(message.timestamp, now)
                hits.append(
                    SearchHit(
                        kind=kind,
                        message=message,
                        score=score * boost,
                        signals=matched[(kind, item_id)],
                    )
                )
            elif kind == "memory" and item_id in memories:
                memory = memory_from_row(memories[item_id])
                boost = self._recency(memory.created_at, now) * (
                    1 + self._settings.importance_weight * memory.metadata.importance
                )
                hits.append(
                    SearchHit(
                        kind=kind,
                        memory=memory,
                        score=score * boost,
                        signals=matched[(kind, item_id)],
                    )
                )
        return hits

    def _recency(self, when: Any, now: Any) -> float:
        if not self._settings.recency_weight:
            return 1.0
        age_days = max((now - when).total_seconds(), 0.0) / 86_400
        decay = math.pow(0.5, age_days / self._settings.recency_half_life_days)
        return 1.0 + self._settings.recency_weight * decay
