"""search(): stop words, the dates a query names, and neighbouring messages, on every backend."""

from __future__ import annotations

import datetime as dt

import pytest
from bruno_core.models.message import Message

from bruno_memory import Capability
from bruno_memory.adapters.embeddings import HashingEmbedder
from tests.conformance.helpers import user_message
from tests.conftest import Backend

UTC = dt.timezone.utc

pytestmark = pytest.mark.requires(Capability.RETRIEVAL)
MAY_4 = dt.datetime(2023, 5, 4, 19, 0, tzinfo=UTC)
AUGUST_10 = dt.datetime(2023, 8, 10, 19, 0, tzinfo=UTC)


def thread(word: str) -> list[Message]:
    """A question, its answer and small talk: only the question holds the searched words."""
    return [
        user_message(f"{word} which city for the team trip?"),
        user_message("Edinburgh would be magical"),
        user_message("lunch was fine"),
        user_message("the weather is grey"),
        user_message("see you soon"),
    ]


async def test_a_reply_is_found_through_the_message_it_answers(
    backend: Backend, uid: str, word: str
) -> None:
    """The messages next to a match share its score, less with distance, and say so."""
    messages = thread(word)
    async with backend.store() as memory:
        await memory.store_messages(messages, uid)
        hits = await memory.search(f"{word} city", conversation_id=uid, mode="fulltext")
    assert [hit.content for hit in hits] == [m.content for m in messages[:3]]
    assert set(hits[0].signals) == {"fulltext"}
    assert hits[1].signals["neighbor"].rank == 1
    assert hits[0].score > hits[1].score > hits[2].score


async def test_neighbours_can_be_turned_off(backend: Backend, uid: str, word: str) -> None:
    """search_neighbor_weight=0: only the match itself."""
    messages = thread(word)
    async with backend.store(search_neighbor_weight=0) as memory:
        await memory.store_messages(messages, uid)
        hits = await memory.search(f"{word} city", conversation_id=uid, mode="fulltext")
    assert [hit.content for hit in hits] == [messages[0].content]


async def test_a_run_of_weak_matches_stays_below_a_strong_one(
    backend: Backend, uid: str, word: str
) -> None:
    """Neighbours rise at most halfway to the best candidate next to them, so five weak
    matches in a row do not lift each other above the one strong match."""
    owner = {"user_id": uid}
    strong = user_message(f"{word} alpha", metadata=owner)
    run = [user_message(f"{word} weak {n}", metadata=owner) for n in range(5)]
    async with backend.store() as memory:
        await memory.store_messages([strong], f"{uid}-strong")
        await memory.store_messages(run, f"{uid}-run")
        hits = await memory.search(f"{word} alpha", user_id=uid, mode="fulltext")
    assert hits[0].content == strong.content
    assert len(hits) == 6


async def test_neighbours_respect_filters(backend: Backend, uid: str, word: str) -> None:
    """A neighbour outside the time range or metadata filter is not returned."""
    base = dt.datetime(2024, 1, 1, tzinfo=UTC)
    async with backend.store() as memory:
        await memory.store_messages(
            [
                user_message(f"{word} question", timestamp=base, metadata={"topic": "a"}),
                user_message("reply", timestamp=base + dt.timedelta(days=2)),
            ],
            uid,
        )
        until = await memory.search(
            word, conversation_id=uid, mode="fulltext", until=base + dt.timedelta(days=1)
        )
        tagged = await memory.search(
            word, conversation_id=uid, mode="fulltext", filters={"topic": "a"}
        )
        everything = await memory.search(word, conversation_id=uid, mode="fulltext")
    assert [hit.content for hit in until] == [f"{word} question"]
    assert [hit.content for hit in tagged] == [f"{word} question"]
    assert [hit.content for hit in everything] == [f"{word} question", "reply"]


async def test_a_named_date_favours_what_was_said_then(
    backend: Backend, uid: str, word: str
) -> None:
    """ "on May 3, 2023" ranks the message sent in the days after it first (the "date" signal);
    date weight 0 ignores dates."""
    may = user_message(f"{word} dinner with Anna", timestamp=MAY_4, metadata={"user_id": uid})
    august = user_message(f"{word} dinner with Bob", timestamp=AUGUST_10, metadata={"user_id": uid})
    query = f"{word} dinner on May 3, 2023"
    async with backend.store() as memory:
        # Two conversations, so that neither is the other's neighbour.
        await memory.store_messages([august], f"{uid}-aug")
        await memory.store_messages([may], f"{uid}-may")
        for mode in ("fulltext", "hybrid"):
            hits = await memory.search(query, user_id=uid, mode=mode)
            assert [hit.content for hit in hits] == [may.content, august.content], mode
            assert "date" in hits[0].signals
            assert "date" not in hits[1].signals
        undated = await memory.search(f"{word} dinner", user_id=uid, mode="fulltext")
    assert all("date" not in hit.signals for hit in undated)


async def test_dates_can_be_ignored(backend: Backend, uid: str, word: str) -> None:
    """search_date_weight=0: a named date is just words."""
    async with backend.store(search_date_weight=0) as memory:
        await memory.store_messages(
            [user_message(f"{word} dinner", timestamp=MAY_4, metadata={"user_id": uid})], uid
        )
        hits = await memory.search(f"{word} dinner on May 3, 2023", user_id=uid, mode="fulltext")
    assert [set(hit.signals) for hit in hits] == [{"fulltext"}]


@pytest.mark.requires(Capability.RETRIEVAL, Capability.SEMANTIC)
async def test_a_named_date_reaches_semantic_search(backend: Backend, uid: str, word: str) -> None:
    """Semantic search runs again within the named month too."""
    owner = {"user_id": uid}
    async with backend.store(embedder=HashingEmbedder(1024)) as memory:
        await memory.wait_for_embeddings()  # the shared database's earlier rows
        await memory.store_messages(
            [user_message(f"{word} alpha beta", timestamp=AUGUST_10, metadata=owner)], f"{uid}-a"
        )
        await memory.store_messages(
            [user_message(f"{word} alpha", timestamp=MAY_4, metadata=owner)], f"{uid}-m"
        )
        await memory.wait_for_embeddings()
        plain = await memory.search(f"{word} alpha beta", user_id=uid, mode="semantic")
        dated = await memory.search(f"{word} alpha beta in May 2023", user_id=uid, mode="semantic")
    assert [hit.content for hit in plain] == [f"{word} alpha beta", f"{word} alpha"]
    assert [hit.content for hit in dated] == [f"{word} alpha", f"{word} alpha beta"]
    assert "date" in dated[0].signals


async def test_stop_words_do_not_match(backend: Backend, uid: str, word: str) -> None:
    """Full-text ignores "what", "is", "the" while the query has other words (PostgreSQL's
    english configuration always does)."""
    chatter = user_message("what is the plan for today", metadata={"user_id": uid})
    jazz = user_message(f"{word} jazz night", metadata={"user_id": uid})
    async with backend.store() as memory:
        await memory.store_messages([chatter], f"{uid}-1")
        await memory.store_messages([jazz], f"{uid}-2")
        hits = await memory.search(f"what is the {word}", user_id=uid, mode="fulltext")
    assert [hit.content for hit in hits] == [jazz.content]


async def test_stop_words_can_be_kept(backend: Backend, uid: str, word: str) -> None:
    """search_stop_words=False: full text matches them like any word (SQLite's FTS5, the
    Redis index, the in-memory storage; not PostgreSQL, whose configuration drops them)."""
    if backend.dialect == "postgresql":
        pytest.skip("PostgreSQL's english configuration drops stop words itself")
    chatter = user_message("what is the plan for today", metadata={"user_id": uid})
    jazz = user_message(f"{word} jazz night", metadata={"user_id": uid})
    async with backend.store(search_stop_words=False) as memory:
        await memory.store_messages([chatter], f"{uid}-1")
        await memory.store_messages([jazz], f"{uid}-2")
        hits = await memory.search(f"what is the {word}", user_id=uid, mode="fulltext")
    assert {hit.content for hit in hits} == {jazz.content, chatter.content}
