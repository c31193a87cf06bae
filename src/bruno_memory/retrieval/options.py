"""What the ranking reads: :class:`RetrievalSettings`, out of a storage's ``search``
section (:class:`~bruno_memory.settings.SearchOptions`) with :func:`retrieval_settings`."""

from __future__ import annotations

from dataclasses import dataclass

from bruno_memory.settings import SearchOptions


@dataclass(frozen=True)
class RetrievalSettings:
    """How signals are fused and boosted (the store's ``search_*`` settings)."""

    #: k of reciprocal-rank fusion: small values let each signal's first hits stand out.
    rrf_k: int = 5
    fulltext_weight: float = 1.0
    semantic_weight: float = 1.0
    recency_weight: float = 0.0
    recency_half_life_days: float = 30.0
    importance_weight: float = 0.0
    candidates_per_signal: int = 50
    cache_size: int = 256
    cache_ttl_seconds: float = 30.0
    #: Leave English stop words out of full-text queries (unless nothing else is left).
    stop_words: bool = True
    #: Weight of the lists run within the dates a query names (0: dates are not looked for).
    date_weight: float = 1.0
    #: How far a named period is widened, before its start and after its end.
    date_before_days: float = 1.0
    date_after_days: float = 7.0
    #: Share of a candidate message's score passed to its neighbours (0: none), divided by
    #: their distance, up to ``neighbor_window`` positions away in the conversation; a
    #: neighbour rises at most halfway to the score of the best candidate next to it.
    neighbor_weight: float = 0.3
    neighbor_window: int = 2


def retrieval_settings(options: SearchOptions) -> RetrievalSettings:
    """The ranking's settings out of a storage's ``search`` section."""
    return RetrievalSettings(**options.model_dump(include=set(SearchOptions.model_fields)))
