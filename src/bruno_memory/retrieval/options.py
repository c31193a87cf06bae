"""The search settings of a storage (``search_*``): how ranked retrieval fuses and boosts.

A storage's settings inherit :class:`SearchOptions` (the Redis storage's do); each becomes a
:class:`RetrievalSettings` (what the ranking reads) with :func:`retrieval_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field


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


class SearchOptions(BaseModel):
    """The ``search_*`` fields, the same for every storage."""

    search_rrf_k: int = Field(
        default=5,
        ge=1,
        description="k of reciprocal-rank fusion, sum(weight / (k + rank)): a small k lets "
        "each signal's first hits stand out (60, the classic value, flattens the ranks).",
    )
    search_fulltext_weight: float = Field(default=1.0, ge=0, description="Hybrid weight.")
    search_semantic_weight: float = Field(default=1.0, ge=0, description="Hybrid weight.")
    search_recency_weight: float = Field(
        default=0.0, ge=0, description="Boost of recent items (0: none)."
    )
    search_recency_half_life_days: float = Field(default=30.0, gt=0)
    search_importance_weight: float = Field(
        default=0.0, ge=0, description="Boost of important memories (0: none)."
    )
    search_stop_words: bool = Field(
        default=True,
        description="Leave English stop words out of the any-word full-text queries of "
        "search() (PostgreSQL's english configuration drops them anyway).",
    )
    search_date_weight: float = Field(
        default=1.0,
        ge=0,
        description="When a query names dates ('in July 2023', 'on May 3, 2023'), its signals "
        "run again within each period and are fused with this weight (0: dates are ignored).",
    )
    search_date_before_days: float = Field(
        default=1.0, ge=0, description="Days a named period is widened before its start."
    )
    search_date_after_days: float = Field(
        default=7.0,
        ge=0,
        description="Days a named period is widened after its end (things are often told "
        "a few days after they happen).",
    )
    search_neighbor_weight: float = Field(
        default=0.3,
        ge=0,
        description="Share of a candidate message's score given to the messages around it in "
        "its conversation, divided by their distance; a message rises at most halfway to the "
        "best candidate next to it (0: none).",
    )
    search_neighbor_window: int = Field(
        default=2, ge=0, le=20, description="How many messages before and after get a share."
    )
    search_cache_size: int = Field(
        default=256, ge=0, description="Cached search results (0 disables the cache)."
    )
    search_cache_ttl_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest a cached result lives (writes by other "
        "processes are seen after this).",
    )


def retrieval_settings(options: SearchOptions) -> RetrievalSettings:
    """The ranking's settings out of a storage's."""
    return RetrievalSettings(
        rrf_k=options.search_rrf_k,
        fulltext_weight=options.search_fulltext_weight,
        semantic_weight=options.search_semantic_weight,
        recency_weight=options.search_recency_weight,
        recency_half_life_days=options.search_recency_half_life_days,
        importance_weight=options.search_importance_weight,
        cache_size=options.search_cache_size,
        cache_ttl_seconds=options.search_cache_ttl_seconds,
        stop_words=options.search_stop_words,
        date_weight=options.search_date_weight,
        date_before_days=options.search_date_before_days,
        date_after_days=options.search_date_after_days,
        neighbor_weight=options.search_neighbor_weight,
        neighbor_window=options.search_neighbor_window,
    )
