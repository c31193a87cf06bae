"""Pseudo-relevance feedback for recall: a second, full-text round seeded by the best hit.

A question that needs two facts ("where did Caroline move from?") often matches one of
them ("since I moved from my home country") while the other shares words with that match,
not with the question ("my home country, Sweden"). So :func:`recall_messages` searches
again, by full text alone, for the query followed by its best hit's text, and fuses the two
rankings by reciprocal rank, ``1 / (k + rank)`` from the first and ``FEEDBACK_WEIGHT / (k +
rank)`` from the second. The first round's best hit stays first (it tops both lists), a
message found by both rises above one found by either alone at the same ranks, and one
found only by the feedback round ranks below the first round's hit of the same rank: the
feedback adds what the best hit suggests without outweighing the query. The second round
is full text only: it embeds nothing, so it costs a full-text query, not a model call (a
long seed also favours long messages, another reason for its smaller weight).

:data:`FEEDBACK_WEIGHT` was chosen on the LoCoMo context benchmark's development split (its
first two conversations; 0.3, 0.5, 0.7 and 1 tried, share of evidence in a hybrid
2,000-token context 0.899, 0.903, 0.895, 0.889), never on the other four.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from bruno_core.models.message import Message

from bruno_memory.ports.scope import SearchScope
from bruno_memory.ports.storage import Retrieval
from bruno_memory.results import SearchMode

#: Weight of the feedback round in the fusion (the first round weighs 1).
FEEDBACK_WEIGHT = 0.5
#: k of the fusion (the ranking's own default, :class:`RetrievalSettings.rrf_k`).
FEEDBACK_RRF_K = 5


async def recall_messages(
    retrieval: Retrieval, text: str, scope: SearchScope, limit: int
) -> list[Message]:
    """The ``limit`` messages best matching ``text`` within ``scope``: the hybrid search's
    ranking fused with a full-text round for ``text`` and its best hit (module docstring)."""
    first = await _messages(retrieval, text, scope, limit, "hybrid")
    if not first:
        return first
    second = await _messages(retrieval, f"{text}\n{first[0].content}", scope, limit, "fulltext")
    return fused(first, second)[:limit]


async def _messages(
    retrieval: Retrieval, text: str, scope: SearchScope, limit: int, mode: SearchMode
) -> list[Message]:
    hits = await retrieval.search(text, scope=scope, limit=limit, mode=mode, kinds=("message",))
    return [hit.message for hit in hits if hit.message is not None]


def fused(first: Sequence[Message], second: Sequence[Message]) -> list[Message]:
    """``first`` and ``second`` (best first) fused by reciprocal rank, each message once;
    ties keep the order in which the messages were first met (``first``, then ``second``)."""
    scores: dict[uuid.UUID, float] = {}
    found: dict[uuid.UUID, Message] = {}
    for ranking, weight in ((first, 1.0), (second, FEEDBACK_WEIGHT)):
        for rank, message in enumerate(ranking, start=1):
            scores[message.id] = scores.get(message.id, 0.0) + weight / (FEEDBACK_RRF_K + rank)
            found.setdefault(message.id, message)
    return sorted(found.values(), key=lambda m: -scores[m.id])
