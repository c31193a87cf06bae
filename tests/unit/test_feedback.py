"""Recall's feedback round: the best hit's text seeds a full-text search, fused by rank."""

from __future__ import annotations

from bruno_core.models.message import Message, MessageRole

from bruno_memory.ports.scope import SearchScope
from bruno_memory.ports.vector import ItemKind
from bruno_memory.results import SearchHit, SearchMode
from bruno_memory.retrieval.feedback import fused, recall_messages


def _messages(*texts: str) -> list[Message]:
    return [Message(role=MessageRole.USER, content=text) for text in texts]


class _Retrieval:
    """Answers each mode with a fixed ranking and records the searches asked for."""

    def __init__(self, rankings: dict[str, list[Message]]) -> None:
        self.rankings = rankings
        self.asked: list[tuple[str, SearchMode]] = []

    async def search(
        self,
        query: str,
        *,
        scope: SearchScope,
        limit: int,
        mode: SearchMode,
        kinds: tuple[ItemKind, ...],
    ) -> list[SearchHit]:
        self.asked.append((query, mode))
        found = self.rankings.get(mode, [])[:limit]
        return [SearchHit(kind="message", message=m, score=1.0) for m in found]

    async def wait_for_embeddings(self) -> None:
        return

    async def embedding_backlog(self) -> int:
        return 0


def test_a_message_both_rounds_find_rises_and_the_best_hit_stays_first() -> None:
    a, b, c, d = _messages("a", "b", "c", "d")
    got = fused([a, b, c], [a, d, c])
    assert got[0] == a
    assert got.index(c) < got.index(b)  # found by both, at lower ranks than b alone
    assert got.index(b) < got.index(d)  # the first round's rank 2 beats the feedback's
    assert len(got) == len({m.id for m in got}) == 4


async def test_the_feedback_round_searches_the_query_and_the_best_hits_text() -> None:
    move, sweden, other = _messages(
        "I moved from my home country four years ago", "my home country, Sweden", "tea"
    )
    retrieval = _Retrieval({"hybrid": [move, other], "fulltext": [move, sweden]})
    got = await recall_messages(retrieval, "where did she move from?", SearchScope(), limit=3)
    assert retrieval.asked == [
        ("where did she move from?", "hybrid"),
        ("where did she move from?\nI moved from my home country four years ago", "fulltext"),
    ]
    assert got[0] == move
    assert [m.id for m in got] == [move.id, other.id, sweden.id]  # the query outweighs


async def test_without_hits_there_is_no_feedback_round() -> None:
    retrieval = _Retrieval({})
    assert await recall_messages(retrieval, "anything", SearchScope(), limit=5) == []
    assert retrieval.asked == [("anything", "hybrid")]
