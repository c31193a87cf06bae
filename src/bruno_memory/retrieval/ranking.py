"""Retrieval over messages and memories: exact, full-text, semantic and hybrid.

Each signal ranks candidates on its own (full-text per kind, since bm25 scores of two
tables do not compare; semantic across both kinds, since cosine does). Hybrid fuses the
ranked lists with reciprocal-rank fusion, ``sum(weight / (k + rank))``, optionally boosted
by recency and by a memory's importance. Candidates are checked against the scope in one
read per kind (so a candidate outside it never shows; messages are read as stubs, without
their content), deduplicated, and only the returned items are loaded in full; results are
cached until the next write. Without an embedder, hybrid uses full-text alone.

The rule is written once, here; a storage supplies the candidates through the candidate
source port (:mod:`bruno_memory.ports.retrieval`) and semantic matches through the vector
index port (:class:`~bruno_memory.retrieval.semantic.SemanticSearch`).

Three steps shape the full-text, semantic and hybrid modes (each can be turned off in
:class:`RetrievalSettings`):

- **Stop words.** Full-text searches any word of the query except English stop words
  ("what", "did", "the"), as PostgreSQL's ``english`` configuration does on its own.
- **Dates.** When the query names dates ("in July 2023", "on May 3, 2023"; see
  :mod:`bruno_memory.retrieval.dates`), each signal runs again within each period, widened
  by ``date_before_days`` / ``date_after_days`` (things are often told a few days after they
  happen), and those lists join the fusion with ``date_weight``; hits record them as the
  ``"date"`` signal.
- **Neighbours.** A message rarely stands alone: the answer to "which city did Tim suggest?"
  may be a reply ("Edinburgh would be great!") to the message that names the topic. So each
  of the best ``limit`` candidate messages passes ``neighbor_weight / d`` of its fused score
  to the messages ``d <= neighbor_window`` positions before and after it in its
  conversation. The shares add up, but a message rises at most halfway to the score of the
  best candidate next to it: a run of weak matches cannot lift itself above a strong one,
  and a neighbour stays below the match it follows. A message found only this way records
  the ``"neighbor"`` signal, with the rank of the best candidate next to it. Only the best
  ``limit`` pass shares: a neighbour of a weaker one stays below it, so below every result
  (without boosts), and their small shares barely move the results (LoCoMo recall@5/10/20
  within 0.002 of passing shares from all ``4 x limit``) while costing four times the
  neighbour reads.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import logging
import math
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache

from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.db.types import utc_now
from bruno_memory.errors import ConfigurationError, EmbeddingError, InvalidInputError
from bruno_memory.ports.retrieval import (
    Candidate,
    CandidateReader,
    CandidateSource,
    MemoryStub,
    MessageStub,
)
from bruno_memory.ports.scope import SearchScope
from bruno_memory.ports.vector import ItemKind, VectorFilter
from bruno_memory.results import SearchHit, SearchMode, SignalMatch
from bruno_memory.retrieval.dates import find_periods
from bruno_memory.retrieval.options import RetrievalSettings
from bruno_memory.retrieval.semantic import SemanticSearch
from bruno_memory.retrieval.stopwords import without_stop_words
from bruno_memory.text import fold
from bruno_memory.validation import require_limit

logger = logging.getLogger(__name__)

Key = tuple[ItemKind, uuid.UUID]
#: A signal's rank of an item and its own score (a :class:`SignalMatch`, built only for the
#: hits returned).
_Match = tuple[int, float | None]
KINDS: tuple[ItemKind, ...] = ("message", "memory")


@dataclass
class _Ranked:
    """One ranked list: the signal hits record it as, its weight in the fusion, and the
    stubs of its messages that the storage read with them (in scope)."""

    signal: str
    weight: float
    keys: list[Key]
    scores: dict[Key, float]
    stubs: dict[uuid.UUID, MessageStub] = dataclasses.field(default_factory=dict)


class Retriever:
    """Ranks stored messages and memories for a query."""

    def __init__(
        self,
        source: CandidateSource,
        settings: RetrievalSettings,
        semantic: SemanticSearch | None,
    ) -> None:
        self._source = source
        self._settings = settings
        self._semantic = semantic
        self._cache: TTLCache[Any, list[SearchHit]] = TTLCache(
            maxsize=max(settings.cache_size, 1), ttl=settings.cache_ttl_seconds
        )
        #: Hybrid searches ranked by full text alone because the embedder failed.
        self.semantic_fallbacks = 0

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
            failures: list[EmbeddingError] = []
            cached = await self._search(query, words, scope, limit, mode, chosen, failures)
            if failures:  # a degraded result is served once, never kept
                self.semantic_fallbacks += 1
                logger.warning("hybrid search ranked by full text alone: %s", failures[0])
                return cached
            if self._settings.cache_size:
                self._cache[key] = cached
        return [_detached(hit) for hit in cached]

    async def _search(
        self,
        query: str,
        words: FullTextQuery,
        scope: SearchScope,
        limit: int,
        mode: SearchMode,
        kinds: tuple[ItemKind, ...],
        failures: list[EmbeddingError],
    ) -> list[SearchHit]:
        pool = max(limit * 4, self._settings.candidates_per_signal)
        if mode == "exact":
            lists = [] if words.is_empty else await self._exact(query, scope, pool, kinds)
            return await self._fuse_and_hydrate(lists, scope, limit, neighbors=False)
        if self._settings.stop_words:
            words = without_stop_words(words)
        lists = await self._content(query, words, scope, pool, mode, kinds, failures)
        weight = self._settings.date_weight
        for window in self._date_scopes(query, scope):
            dated = await self._content(query, words, window, pool, mode, kinds, failures)
            lists += [
                dataclasses.replace(r, signal="date", weight=r.weight * weight) for r in dated
            ]
        return await self._fuse_and_hydrate(lists, scope, limit, neighbors=True)

    async def _content(
        self,
        query: str,
        words: FullTextQuery,
        scope: SearchScope,
        pool: int,
        mode: SearchMode,
        kinds: tuple[ItemKind, ...],
        failures: list[EmbeddingError],
    ) -> list[_Ranked]:
        """The full-text and/or semantic lists of ``mode`` within ``scope``. In hybrid mode
        an embedder failure leaves the semantic list out (recorded in ``failures``); in
        semantic mode it is raised."""
        lists = []
        if mode in ("fulltext", "hybrid") and not words.is_empty:
            lists += await self._fulltext(words, scope, pool, kinds)
        if mode in ("semantic", "hybrid") and self._semantic is not None:
            try:
                lists.append(await self._nearest(query, scope, pool, kinds))
            except EmbeddingError as exc:
                if mode == "semantic":
                    raise
                failures.append(exc)
        return lists

    def _date_scopes(self, query: str, scope: SearchScope) -> list[SearchScope]:
        """``scope`` narrowed to each period the query names (widened as configured)."""
        settings = self._settings
        if not settings.date_weight:
            return []
        before = dt.timedelta(days=settings.date_before_days)
        after = dt.timedelta(days=settings.date_after_days)
        scopes = []
        for period in find_periods(query):
            since, until = period.start - before, period.end + after
            if scope.since is not None:
                since = max(since, scope.since)
            if scope.until is not None:
                until = min(until, scope.until)
            if since < until:
                scopes.append(dataclasses.replace(scope, since=since, until=until))
        return scopes

    async def _fulltext(
        self, words: FullTextQuery, scope: SearchScope, pool: int, kinds: tuple[ItemKind, ...]
    ) -> list[_Ranked]:
        weight = self._settings.fulltext_weight
        async with self._source.reader() as reader:
            found = await _candidates(reader, words, scope, pool, kinds)
        return [
            _Ranked(
                "fulltext",
                weight,
                [(kind, item.item_id) for item in items],
                {},
                {item.item_id: item.stub for item in items if item.stub is not None},
            )
            for kind, items in found
        ]

    async def _exact(
        self, query: str, scope: SearchScope, pool: int, kinds: tuple[ItemKind, ...]
    ) -> list[_Ranked]:
        """Items holding the query as a substring (compared as search normalizes text, see
        :func:`bruno_memory.text.fold`): full-text candidates holding every word, then
        checked literally."""
        needle = fold(query.strip())
        words = FullTextQuery.parse(query, MatchMode.ALL)
        async with self._source.reader() as reader:
            found = await _candidates(reader, words, scope, pool, kinds)
        return [
            _Ranked(
                "exact",
                1.0,
                [(kind, item.item_id) for item in items if needle in fold(item.content)],
                {},
            )
            for kind, items in found
        ]

    async def _nearest(
        self, query: str, scope: SearchScope, pool: int, kinds: tuple[ItemKind, ...]
    ) -> _Ranked:
        assert self._semantic is not None
        where = VectorFilter(  # a branch's history spans conversations: checked when hydrated
            kinds=kinds,
            user_id=scope.user_id,
            conversation_id=None if scope.history else scope.conversation_id,
            since=scope.since,
            until=scope.until,
        )
        matches = await self._semantic.nearest(query, where, pool)
        return _Ranked(
            "semantic",
            self._settings.semantic_weight,
            [(match.kind, match.item_id) for match in matches],
            {(match.kind, match.item_id): match.score for match in matches},
        )

    async def _fuse_and_hydrate(
        self,
        lists: list[_Ranked],
        scope: SearchScope,
        limit: int,
        *,
        neighbors: bool,
    ) -> list[SearchHit]:
        fused: dict[Key, float] = {}
        matched: dict[Key, dict[str, _Match]] = {}
        for ranked in lists:
            for rank, key in enumerate(ranked.keys, start=1):
                fused[key] = fused.get(key, 0.0) + ranked.weight / (self._settings.rrf_k + rank)
                signals = matched.setdefault(key, {})
                known = signals.get(ranked.signal)
                if known is None or rank < known[0]:
                    signals[ranked.signal] = (rank, ranked.scores.get(key))
        stubs = {item: stub for ranked in lists for item, stub in ranked.stubs.items()}
        ids = {kind: [item for k, item in fused if k == kind] for kind in KINDS}
        unread = [item for item in ids["message"] if item not in stubs]
        now = utc_now()
        async with self._source.reader() as reader:
            stubs.update(await reader.message_stubs(unread, scope) if unread else {})
            memory_stubs = await reader.memory_stubs(ids["memory"], scope, now)
            if neighbors and self._settings.neighbor_weight and self._settings.neighbor_window:
                await self._spread_to_neighbors(reader, fused, matched, stubs, scope, limit)
            best = self._best(fused, stubs, memory_stubs, now, limit)
            chosen = {kind: [item for (k, item), _ in best if k == kind] for kind in KINDS}
            messages = await reader.messages(chosen["message"], scope)
            memories = await reader.memories(chosen["memory"]) if chosen["memory"] else {}
        hits = []
        for (kind, item_id), score in best:
            how = {
                name: SignalMatch(rank=rank, score=own)
                for name, (rank, own) in matched[(kind, item_id)].items()
            }
            if kind == "message" and item_id in messages:
                message = messages[item_id]
                hits.append(SearchHit(kind=kind, message=message, score=score, signals=how))
            elif kind == "memory" and item_id in memories:
                memory = memories[item_id]
                hits.append(SearchHit(kind=kind, memory=memory, score=score, signals=how))
        return hits

    async def _spread_to_neighbors(
        self,
        reader: CandidateReader,
        fused: dict[Key, float],
        matched: dict[Key, dict[str, _Match]],
        stubs: dict[uuid.UUID, MessageStub],
        scope: SearchScope,
        sources_wanted: int,
    ) -> None:
        """Give the messages around the best ``sources_wanted`` candidates a share of their
        scores (see the module docstring). Neighbours join ``fused``, ``matched`` and
        ``stubs``."""
        window, weight = self._settings.neighbor_window, self._settings.neighbor_weight
        in_scope = [key for key in fused if key[0] == "message" and key[1] in stubs]
        best_first = sorted(in_scope, key=lambda key: -fused[key])[:sources_wanted]
        sources = [stubs[item] for _, item in best_first]
        known = {(stub.conversation_id, stub.seq): stub.id for stub in stubs.values()}
        wanted: dict[str, set[int]] = {}
        for source in sources:
            for seq in range(source.seq - window, source.seq + window + 1):
                if (source.conversation_id, seq) not in known:
                    wanted.setdefault(source.conversation_id, set()).add(seq)
        for stub in await reader.stubs_at(wanted, scope):
            known[(stub.conversation_id, stub.seq)] = stub.id
            stubs[stub.id] = stub
        shares: dict[Key, float] = {}
        ceilings: dict[Key, float] = {}
        for rank, source in enumerate(sources, start=1):
            score = fused[("message", source.id)]
            for offset in range(-window, window + 1):
                neighbor = known.get((source.conversation_id, source.seq + offset))
                if not offset or neighbor is None:
                    continue
                key: Key = ("message", neighbor)
                shares[key] = shares.get(key, 0.0) + weight / abs(offset) * score
                ceilings[key] = max(ceilings.get(key, 0.0), score)
                if key not in fused:
                    matched.setdefault(key, {}).setdefault("neighbor", (rank, None))
        for key, share in shares.items():
            own = fused.get(key, 0.0)
            fused[key] = min(own + share, max(own, (own + ceilings[key]) / 2))

    def _best(
        self,
        fused: dict[Key, float],
        stubs: dict[uuid.UUID, MessageStub],
        memories: dict[uuid.UUID, MemoryStub],
        now: dt.datetime,
        limit: int,
    ) -> list[tuple[Key, float]]:
        """The ``limit`` best items in scope (those in ``stubs`` and ``memories``), with their
        scores boosted by recency and, for memories, importance."""
        scored: list[tuple[Key, float]] = []
        for (kind, item_id), score in fused.items():
            if kind == "message" and item_id in stubs:
                boost = self._recency(stubs[item_id].timestamp, now)
            elif kind == "memory" and item_id in memories:
                memory = memories[item_id]
                boost = self._recency(memory.created_at, now) * (
                    1 + self._settings.importance_weight * memory.importance
                )
            else:
                continue
            scored.append(((kind, item_id), score * boost))
        scored.sort(key=lambda pair: -pair[1])
        return scored[:limit]

    def _recency(self, when: Any, now: Any) -> float:
        if not self._settings.recency_weight:
            return 1.0
        age_days = max((now - when).total_seconds(), 0.0) / 86_400
        decay = math.pow(0.5, age_days / self._settings.recency_half_life_days)
        return 1.0 + self._settings.recency_weight * decay


async def _candidates(
    reader: CandidateReader,
    words: FullTextQuery,
    scope: SearchScope,
    pool: int,
    kinds: tuple[ItemKind, ...],
) -> list[tuple[ItemKind, list[Candidate]]]:
    """The full-text candidates of each kind, messages first."""
    return [
        (kind, await reader.fulltext(kind, words, scope, pool)) for kind in KINDS if kind in kinds
    ]


def _detached(hit: SearchHit) -> SearchHit:
    """A copy of a cached hit that a caller may change without changing the cache: the
    models are copied with their mutable parts (metadata), which ``copy.deepcopy`` of whole
    pydantic models did at several times the cost."""
    message = hit.message
    memory = hit.memory
    return hit.model_copy(
        update={
            "message": None
            if message is None
            else message.model_copy(update={"metadata": copy.deepcopy(message.metadata)}),
            "memory": None
            if memory is None
            else memory.model_copy(update={"metadata": memory.metadata.model_copy(deep=True)}),
            "signals": {name: match.model_copy() for name, match in hit.signals.items()},
        }
    )


class FullTextRetrieval:
    """The :class:`~bruno_memory.ports.storage.Retrieval` port of a storage without an
    embedder: hybrid ranks by full text alone, nothing is ever waiting to be embedded.
    ``guard`` (the storage's own operation context: open check, error translation) wraps
    each search when given."""

    semantic_fallbacks = 0

    def __init__(
        self,
        retriever: Retriever,
        guard: Callable[[str], AbstractAsyncContextManager[object]] | None = None,
    ) -> None:
        self._retriever = retriever
        self._guard = guard

    async def search(
        self,
        query: str,
        *,
        scope: SearchScope,
        limit: int,
        mode: SearchMode,
        kinds: tuple[ItemKind, ...],
    ) -> list[SearchHit]:
        async with self._guard("search") if self._guard is not None else nullcontext():
            return await self._retriever.search(
                query, scope=scope, limit=limit, mode=mode, kinds=kinds
            )

    async def wait_for_embeddings(self) -> None:
        return

    async def embedding_backlog(self) -> int:
        return 0

    async def drop_other_embeddings(self) -> dict[str, int]:
        return {}
