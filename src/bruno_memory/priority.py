"""Memory prioritization: the one score by which memories are ranked, kept and pruned.

:func:`score` is a weighted mean of factors that each lie in [0, 1]:

- **relevance** to the query, when there is one (a storage returns its matches best
  first; the match at position ``i`` of ``n`` has relevance ``1 - i / n``);
- **recency**: ``0.5 ** (age_days / half_life_days)``, 1 when created now, halving every
  half-life (7 days by default);
- **frequency**: ``log1p(access_count) / log1p(FREQUENCY_SATURATION)``, capped at 1: each
  retrieval counts, with diminishing returns;
- **importance**: ``custom_fields["user_importance"]`` when the user set one (a number in
  [0, 1]), which wins over the stored ``metadata.importance``;
- **emotional significance**: ``|compound|`` of the VADER sentiment of the content
  (``vaderSentiment``, an offline lexicon): strongly felt memories weigh more.

Why it is sound: every factor is in [0, 1] and non-decreasing in what it measures, and the
weights are non-negative with a positive sum, so the mean is in [0, 1] and non-decreasing in
each factor (raising one factor by ``d`` raises the score by ``w * d / sum(w)`` >= 0). A
superseded memory's score is multiplied by :data:`SUPERSEDED_PENALTY`, which caps it at
0.1: below any memory whose recency alone is worth more (a memory younger than about 16
half-lives with the default weights), so an update ranks before what it replaced.

Supersession: a memory with ``custom_fields["subject"]`` supersedes the older memories of
the same user, category and subject (:func:`supersession`); the older ones are kept and
linked (``superseded_by`` on them, ``supersedes`` on the newer). Pinned memories
(``custom_fields["pinned"] is True``) are never archived by pruning.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bruno_core.models.memory import MemoryEntry, MemoryQuery
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

from bruno_memory.db.types import as_utc, utc_now
from bruno_memory.errors import ConfigurationError

if TYPE_CHECKING:
    from bruno_memory.db.fulltext import FullTextQuery
    from bruno_memory.ports.storage import Storage

#: ``custom_fields`` keys the prioritization reads and writes.
SUBJECT = "subject"
PINNED = "pinned"
USER_IMPORTANCE = "user_importance"
SUPERSEDES = "supersedes"
SUPERSEDED_BY = "superseded_by"
#: The links a storage keeps (an update never erases them).
LINKS = (SUPERSEDES, SUPERSEDED_BY)
#: What a superseded memory's score is multiplied by.
SUPERSEDED_PENALTY = 0.1
#: The access count at which the frequency factor reaches 1.
FREQUENCY_SATURATION = 100
#: How many times the asked-for number of memories is read before re-ranking.
OVERFETCH = 4
#: The most memories read for one ranking (at least the number asked for).
MAX_POOL = 1000
#: The fewest memories read for one ranking.
MIN_POOL = 50


@dataclass(frozen=True)
class Weights:
    """The weight of each factor of :func:`score` (non-negative, not all zero) and the
    recency half-life, in days."""

    relevance: float = 1.0
    recency: float = 0.5
    frequency: float = 0.25
    importance: float = 0.5
    emotion: float = 0.25
    half_life_days: float = 7.0

    def __post_init__(self) -> None:
        factors = (self.relevance, self.recency, self.frequency, self.importance, self.emotion)
        if min(factors) < 0 or sum(factors) <= 0 or self.half_life_days <= 0:
            raise ConfigurationError(
                "priority weights must be non-negative, not all zero, with a positive half-life",
                details={"weights": repr(self)},
            )


#: The weights used unless a memory is given others (``Memory(priority=Weights(...))``).
DEFAULT_WEIGHTS = Weights()


def recency(created: dt.datetime, now: dt.datetime, half_life_days: float) -> float:
    """``0.5 ** (age_days / half_life_days)``; a future creation time counts as now."""
    age_days = max(0.0, (as_utc(now) - as_utc(created)).total_seconds() / 86_400)
    return float(0.5 ** (age_days / half_life_days))


def frequency(access_count: int) -> float:
    """``log1p(access_count)`` normalised by :data:`FREQUENCY_SATURATION`, capped at 1."""
    return min(1.0, math.log1p(max(0, access_count)) / math.log1p(FREQUENCY_SATURATION))


def importance(entry: MemoryEntry) -> float:
    """The user-set ``custom_fields["user_importance"]`` when it is a number in [0, 1],
    else the stored importance (clamped to [0, 1])."""
    chosen = entry.metadata.custom_fields.get(USER_IMPORTANCE)
    if isinstance(chosen, (int, float)) and not isinstance(chosen, bool) and 0 <= chosen <= 1:
        return float(chosen)
    return min(1.0, max(0.0, float(entry.metadata.importance)))


@functools.lru_cache(maxsize=1)
def _analyzer() -> Any:
    return SentimentIntensityAnalyzer()


@functools.lru_cache(maxsize=4096)
def emotion(text: str) -> float:
    """Emotional significance: ``|compound|`` of the text's VADER sentiment, in [0, 1]."""
    return abs(float(_analyzer().polarity_scores(text)["compound"]))


def is_pinned(fields: Mapping[str, Any]) -> bool:
    """Whether ``custom_fields`` pin the memory (``"pinned": True``, nothing else)."""
    return fields.get(PINNED) is True


def is_superseded(fields: Mapping[str, Any]) -> bool:
    """Whether a newer memory of the same subject supersedes this one."""
    return fields.get(SUPERSEDED_BY) is not None


def score(
    entry: MemoryEntry,
    *,
    now: dt.datetime,
    relevance: float | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
) -> float:
    """The memory's priority in [0, 1]: the weighted mean of its factors (relevance only
    when given), times :data:`SUPERSEDED_PENALTY` when it is superseded."""
    factors = [
        (weights.recency, recency(entry.created_at, now, weights.half_life_days)),
        (weights.frequency, frequency(entry.metadata.access_count)),
        (weights.importance, importance(entry)),
        (weights.emotion, emotion(entry.content)),
    ]
    if relevance is not None:
        factors.append((weights.relevance, min(1.0, max(0.0, relevance))))
    total = sum(weight for weight, _ in factors)
    mean = sum(weight * value for weight, value in factors) / total if total else 0.0
    return mean * SUPERSEDED_PENALTY if is_superseded(entry.metadata.custom_fields) else mean


def rank(
    entries: Sequence[MemoryEntry],
    *,
    by_relevance: bool,
    weights: Weights = DEFAULT_WEIGHTS,
    now: dt.datetime | None = None,
) -> list[MemoryEntry]:
    """``entries`` best first by :func:`score`; with ``by_relevance`` their order is the
    relevance (the first is the best match). Ties keep the given order."""
    moment = now or utc_now()
    count = len(entries)

    def key(item: tuple[int, MemoryEntry]) -> float:
        position, entry = item
        relevance = 1 - position / count if by_relevance else None
        return -score(entry, now=moment, relevance=relevance, weights=weights)

    return [entry for _, entry in sorted(enumerate(entries), key=key)]


def pool_size(limit: int) -> int:
    """How many memories to read to rank the best ``limit``."""
    return max(limit, min(MAX_POOL, max(limit * OVERFETCH, MIN_POOL)))


async def ranked(
    storage: Storage,
    query: MemoryQuery,
    text: FullTextQuery | None,
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[MemoryEntry]:
    """The best ``query.limit`` memories by :func:`score`: a pool of them read in the
    storage's own order (:func:`pool_size`), re-ranked, and each returned one counted as
    an access (retrieval is use; the entries carry their new counts)."""
    pool = await storage.select_memories(
        query.model_copy(update={"limit": pool_size(query.limit)}), text
    )
    return await best_of(storage, pool, query.limit, by_relevance=text is not None, weights=weights)


async def best_of(
    storage: Storage,
    pool: Sequence[MemoryEntry],
    limit: int,
    *,
    by_relevance: bool,
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[MemoryEntry]:
    """The best ``limit`` of a pool read in the storage's own order, by :func:`score`, each
    counted as an access (the entries carry their new counts)."""
    chosen = rank(pool, by_relevance=by_relevance, weights=weights)[:limit]
    return await storage.touch_memories(chosen)


class Pruner:
    """Which memories pruning to ``keep`` archives, chosen from the active memories offered
    batch by batch, in memory bounded by ``keep``.

    The result is that of ranking every unpinned memory by :func:`score` (one ``now``, ties
    kept in the order offered) and keeping the first ``keep - pinned``: pinned memories are
    never archived and count toward ``keep``. The best ``keep`` unpinned memories offered so
    far are held in a min-heap; one pushed out has ``keep`` better ones, and at most
    ``keep`` are kept in the end, so it is archived at once (:meth:`offer`). Once every
    memory is offered, the held ones beyond ``keep - pinned`` are archived too
    (:meth:`finish`).
    """

    def __init__(
        self, keep: int, weights: Weights = DEFAULT_WEIGHTS, now: dt.datetime | None = None
    ) -> None:
        self._keep = keep
        self._weights = weights
        self._now = now or utc_now()
        self._held: list[tuple[float, int, uuid.UUID]] = []  # (score, -order, id): worst first
        self._offered = 0
        self._pinned = 0

    def offer(self, entries: Iterable[MemoryEntry]) -> list[uuid.UUID]:
        """Take the next active memories; the ids of those certainly archived."""
        out = []
        for entry in entries:
            self._offered += 1
            if is_pinned(entry.metadata.custom_fields):
                self._pinned += 1
                continue
            item = (score(entry, now=self._now, weights=self._weights), -self._offered, entry.id)
            if len(self._held) < self._keep:
                heapq.heappush(self._held, item)
            elif self._keep and item > self._held[0]:
                out.append(heapq.heapreplace(self._held, item)[2])
            else:
                out.append(entry.id)
        return out

    def finish(self) -> list[uuid.UUID]:
        """The ids of the held memories beyond ``keep - pinned`` (all are offered)."""
        slots = max(0, self._keep - self._pinned)
        return [heapq.heappop(self._held)[2] for _ in range(len(self._held) - slots)]


@dataclass(frozen=True)
class Links:
    """What storing a memory links: the id it supersedes (or None), the memory that
    supersedes it (None unless an existing one is newer) and the existing memories it
    supersedes."""

    supersedes: uuid.UUID | None
    superseded_by: uuid.UUID | None
    replaced: tuple[uuid.UUID, ...]


def supersession(created: dt.datetime, heads: Iterable[tuple[uuid.UUID, dt.datetime]]) -> Links:
    """How a memory created at ``created`` joins the memories of its subject that nothing
    supersedes yet (``heads``: id and creation time): it supersedes those not newer than
    it (naming the newest of them), and is superseded by the newest one newer than it."""
    moment = as_utc(created)
    known = sorted(heads, key=lambda head: as_utc(head[1]))
    older = [head for head in known if as_utc(head[1]) <= moment]
    newer = [head for head in known if as_utc(head[1]) > moment]
    return Links(
        supersedes=older[-1][0] if older else None,
        superseded_by=newer[-1][0] if newer else None,
        replaced=tuple(head[0] for head in older),
    )


def subject_of(entry: MemoryEntry) -> str | None:
    """The memory's subject (``custom_fields["subject"]``, a non-empty string), or None."""
    subject = entry.metadata.custom_fields.get(SUBJECT)
    return subject if isinstance(subject, str) and subject else None


def linked(fields: Mapping[str, Any], links: Links) -> dict[str, Any]:
    """``custom_fields`` of a memory being stored, with its links."""
    updated = dict(fields)
    if links.supersedes is not None:
        updated[SUPERSEDES] = str(links.supersedes)
    if links.superseded_by is not None:
        updated[SUPERSEDED_BY] = str(links.superseded_by)
    return updated


def replaced_by(fields: Mapping[str, Any], memory_id: uuid.UUID) -> dict[str, Any]:
    """``custom_fields`` of a memory that ``memory_id`` now supersedes."""
    return {**fields, SUPERSEDED_BY: str(memory_id)}


def keep_links(stored: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, Any]:
    """``custom_fields`` of an update: the incoming ones, with the stored links kept (the
    storage owns them; an update cannot erase or forge them)."""
    kept = {key: value for key, value in incoming.items() if key not in LINKS}
    kept.update({key: stored[key] for key in LINKS if key in stored})
    return kept
