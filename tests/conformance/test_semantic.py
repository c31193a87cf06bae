"""Semantic memory: background embedding, vector search, hybrid retrieval, no orphans.

Runs on every SQL backend (numpy exact search on SQLite and on PostgreSQL without pgvector,
pgvector HNSW on the pgserver PostgreSQL) and with Qdrant (local mode) as the vector index.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence

import pytest
from bruno_core.models.memory import MemoryQuery
from bruno_core.models.message import MessageRole

from bruno_memory import (
    Capability,
    InvalidQueryError,
    Memory,
    UnsupportedOperationError,
)
from bruno_memory.adapters.embeddings import EmbeddingError, HashingEmbedder
from bruno_memory.managers.vectors import SqlVectorIndex
from bruno_memory.ports.embedding import embedder_key
from bruno_memory.ports.vector import VectorFilter, VectorIndex
from tests.conformance.helpers import memory_entry, message, user_message
from tests.conftest import Backend

UTC = dt.timezone.utc

pytestmark = pytest.mark.requires(Capability.RETRIEVAL, Capability.SEMANTIC)


class SwitchableEmbedder(HashingEmbedder):
    """A hashing embedder that fails while ``broken`` and counts the texts it embeds.

    1024 dimensions keep hash collisions between the few words of a test negligible.
    """

    def __init__(self, dimension: int = 1024) -> None:
        super().__init__(dimension)
        self.broken = False
        self.embedded: list[str] = []

    async def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        if self.broken:
            raise ConnectionError("embedding service unavailable")
        self.embedded += list(texts)
        return await super().embed_texts(texts)


@pytest.fixture(params=["sql", "qdrant"])
async def vector_index(request: pytest.FixtureRequest) -> AsyncIterator[VectorIndex | None]:
    """The SQL store's own index (None) or an embedded Qdrant."""
    if request.param == "sql":
        yield None
        return
    pytest.importorskip("qdrant_client", reason="the qdrant extra is not installed")
    from bruno_memory.adapters.vector import qdrant

    index = qdrant.QdrantVectorIndex.local()
    yield index
    await index.close()


@pytest.fixture
def embedder() -> SwitchableEmbedder:
    return SwitchableEmbedder()


@pytest.fixture
async def semantic(
    backend: Backend, embedder: SwitchableEmbedder, vector_index: VectorIndex | None
) -> AsyncIterator[Memory]:
    """An open store with semantic search on."""
    async with backend.store(embedder=embedder, vector_index=vector_index) as store:
        await store.wait_for_embeddings()  # the shared database's earlier rows
        yield store


async def test_messages_are_embedded_in_the_background(
    semantic: Memory, uid: str, word: str
) -> None:
    """Stored messages get vectors without wait_for_embeddings (the indexer runs by itself)."""
    await semantic.store_messages([user_message(f"{word} jazz trumpet")], uid)
    for _ in range(200):
        if await semantic.embedding_backlog() == 0:
            break
        await asyncio.sleep(0.05)
    assert await semantic.embedding_backlog() == 0
    hits = await semantic.search(f"{word} jazz", conversation_id=uid, mode="semantic")
    assert [hit.content for hit in hits] == [f"{word} jazz trumpet"]


async def test_semantic_search_ranks_by_similarity(semantic: Memory, uid: str, word: str) -> None:
    """The closest message comes first and carries its cosine similarity."""
    await semantic.store_messages(
        [
            user_message(f"{word} alpha beta gamma"),
            user_message(f"{word} alpha beta"),
            user_message("delta epsilon"),
        ],
        uid,
    )
    await semantic.wait_for_embeddings()
    hits = await semantic.search(f"{word} alpha beta", conversation_id=uid, mode="semantic")
    assert [hit.content for hit in hits][:2] == [f"{word} alpha beta", f"{word} alpha beta gamma"]
    similarity = hits[0].signals["semantic"].score
    assert similarity is not None
    assert similarity == pytest.approx(1.0, abs=1e-4)
    assert hits[0].signals["semantic"].rank == 1


async def test_hybrid_fuses_fulltext_and_semantic(semantic: Memory, uid: str, word: str) -> None:
    """A hit found by both signals outranks hits found by one, and says which matched."""
    await semantic.store_messages(
        [user_message(f"{word} saxophone solo"), user_message("saxophone solo tonight")], uid
    )
    await semantic.wait_for_embeddings()
    hits = await semantic.search(f"{word} saxophone", conversation_id=uid)
    assert hits[0].content == f"{word} saxophone solo"
    assert set(hits[0].signals) == {"fulltext", "semantic"}
    assert hits[0].score > hits[-1].score


async def test_search_covers_memories(semantic: Memory, uid: str, word: str) -> None:
    """Memory entries are searched too, and kinds restricts the result to one kind."""
    await semantic.store_memory(memory_entry(uid, f"{word} prefers green tea"))
    await semantic.store_message(
        user_message(f"{word} asked about tea", metadata={"user_id": uid}), f"{uid}-c"
    )
    await semantic.wait_for_embeddings()
    hits = await semantic.search(f"{word} tea", user_id=uid, mode="semantic")
    assert {hit.kind for hit in hits} == {"message", "memory"}
    memories = await semantic.search(f"{word} tea", user_id=uid, kinds=["memory"])
    assert [hit.memory.content for hit in memories if hit.memory] == [f"{word} prefers green tea"]


async def test_search_filters(semantic: Memory, uid: str, word: str) -> None:
    """since/until, conversation and metadata filters apply to every signal."""
    base = dt.datetime(2024, 1, 1, tzinfo=UTC)
    await semantic.store_messages(
        [
            user_message(f"{word} one", timestamp=base, metadata={"topic": "a", "n": 1}),
            user_message(
                f"{word} two",
                timestamp=base + dt.timedelta(days=1),
                metadata={"topic": "b", "n": 2},
            ),
            user_message(
                f"{word} three",
                timestamp=base + dt.timedelta(days=2),
                metadata={"topic": "a", "n": 3},
            ),
        ],
        uid,
    )
    await semantic.wait_for_embeddings()
    for mode in ("fulltext", "semantic", "hybrid"):
        in_range = await semantic.search(
            word,
            conversation_id=uid,
            mode=mode,
            since=base + dt.timedelta(days=1),
            until=base + dt.timedelta(days=2),
        )
        assert [hit.content for hit in in_range] == [f"{word} two"], mode
        tagged = await semantic.search(word, conversation_id=uid, mode=mode, filters={"topic": "a"})
        assert {hit.content for hit in tagged} == {f"{word} one", f"{word} three"}, mode
        numbered = await semantic.search(word, conversation_id=uid, mode=mode, filters={"n": 2})
        assert [hit.content for hit in numbered] == [f"{word} two"], mode


async def test_exact_mode_matches_the_phrase(semantic: Memory, uid: str, word: str) -> None:
    """mode='exact' returns items holding the query as written (case aside)."""
    await semantic.store_messages(
        [user_message(f"{word} Blue Note records"), user_message(f"note: blue {word} records")],
        uid,
    )
    hits = await semantic.search(f"{word} blue note", conversation_id=uid, mode="exact")
    assert [hit.content for hit in hits] == [f"{word} Blue Note records"]


async def test_exact_mode_compares_normalized_text(semantic: Memory, uid: str, word: str) -> None:
    """mode='exact' compares text as search normalizes it (decomposed accents, case)."""
    stored = f"{word} my re\u0301sume\u0301 in İstanbul"
    await semantic.store_messages([user_message(stored)], uid)
    hits = await semantic.search(f"{word} MY RÉSUMÉ in istanbul", conversation_id=uid, mode="exact")
    assert [hit.content for hit in hits] == [stored]


async def test_results_are_deduplicated(semantic: Memory, uid: str, word: str) -> None:
    """An item matched by several signals appears once."""
    await semantic.store_messages([user_message(f"{word} unique")], uid)
    await semantic.wait_for_embeddings()
    hits = await semantic.search(f"{word} unique", conversation_id=uid)
    assert len(hits) == len({hit.message.id for hit in hits if hit.message})


async def test_query_cache_sees_new_writes(semantic: Memory, uid: str, word: str) -> None:
    """A repeated query is served from the cache until a write changes the answer."""
    await semantic.store_message(user_message(f"{word} first"), uid)
    first = await semantic.search(word, conversation_id=uid, mode="fulltext")
    assert len(first) == 1
    await semantic.store_message(user_message(f"{word} second"), uid)
    assert len(await semantic.search(word, conversation_id=uid, mode="fulltext")) == 2


async def test_identical_text_is_embedded_once(
    semantic: Memory, embedder: SwitchableEmbedder, uid: str, word: str
) -> None:
    """The vector cache: the same text under the same model is embedded a single time."""
    text = f"{word} repeated text"
    await semantic.store_messages([user_message(text), user_message(text)], uid)
    await semantic.store_message(user_message(text), f"{uid}-other")
    await semantic.wait_for_embeddings()
    assert embedder.embedded.count(text) == 1
    hits = await semantic.search(text, mode="semantic", limit=5)
    found = [(hit.content, hit.signals["semantic"].score) for hit in hits]
    assert sum(hit.content == text for hit in hits) == 3, found


async def test_failing_embedder_loses_nothing(
    semantic: Memory, embedder: SwitchableEmbedder, uid: str, word: str
) -> None:
    """With the embedder down, messages are stored, the backlog shows them, and they are
    embedded once it is back."""
    embedder.broken = True
    await semantic.store_messages(
        [user_message(f"{word} during outage {i}") for i in range(3)], uid
    )
    assert len(await semantic.retrieve_messages(uid)) == 3
    with pytest.raises(EmbeddingError):
        await semantic.wait_for_embeddings()
    assert await semantic.embedding_backlog() >= 3
    assert len(await semantic.search(word, conversation_id=uid, mode="fulltext")) == 3
    embedder.broken = False
    await semantic.wait_for_embeddings()
    assert await semantic.embedding_backlog() == 0
    assert len(await semantic.search(f"{word} outage", conversation_id=uid, mode="semantic")) == 3


async def test_deleting_removes_vectors_everywhere(
    semantic: Memory, backend: Backend, vector_index: VectorIndex | None, uid: str, word: str
) -> None:
    """clear_history, delete_memory and delete_user leave no vector behind, in SQL or Qdrant."""
    user = f"{uid}-u"
    session = await semantic.create_session(user)
    await semantic.store_messages(
        [message(MessageRole.SYSTEM, f"{word} system"), user_message(f"{word} chat")],
        session.conversation_id,
    )
    kept = memory_entry(user, f"{word} kept memory")
    dropped = memory_entry(user, f"{word} dropped memory")
    await semantic.store_memory(kept)
    await semantic.store_memory(dropped)
    await semantic.wait_for_embeddings()
    inspector = backend.inspector() if backend.sync else semantic
    indexes = [SqlVectorIndex(inspector.storage.database)] + (
        [vector_index] if vector_index else []
    )

    async def counts() -> list[int]:
        return [await index.count(VectorFilter(user_id=user)) for index in indexes]

    assert await counts() == [4] * len(indexes)
    await semantic.clear_history(session.conversation_id)
    assert await counts() == [3] * len(indexes)
    await semantic.delete_memory(str(dropped.id))
    assert await counts() == [2] * len(indexes)
    await semantic.delete_user(user)
    assert await counts() == [0] * len(indexes)
    assert await semantic.search(word, user_id=user, mode="semantic") == []
    if inspector is not semantic:
        await inspector.close()


async def test_updated_memory_is_embedded_again(semantic: Memory, uid: str, word: str) -> None:
    """Changing a memory's content replaces its vector."""
    entry = memory_entry(uid, f"{word} likes cats")
    await semantic.store_memory(entry)
    await semantic.wait_for_embeddings()
    entry.update_content(f"{word} likes horses")
    await semantic.update_memory(entry)
    await semantic.wait_for_embeddings()
    new = await semantic.search(
        f"{word} likes horses", user_id=uid, kinds=["memory"], mode="semantic"
    )
    old = await semantic.search(
        f"{word} likes cats", user_id=uid, kinds=["memory"], mode="semantic"
    )
    assert [hit.content for hit in new] == [f"{word} likes horses"]
    assert new[0].signals["semantic"].score == pytest.approx(1.0, abs=1e-4)
    assert (old[0].signals["semantic"].score or 0) < 0.99


async def test_retrieve_memories_is_semantic_with_threshold(
    semantic: Memory, uid: str, word: str
) -> None:
    """query_text ranks memories by similarity and similarity_threshold drops weak ones."""
    await semantic.store_memory(memory_entry(uid, f"{word} alpha beta"))
    await semantic.store_memory(memory_entry(uid, f"{word} alpha"))
    await semantic.store_memory(memory_entry(uid, "gamma delta"))
    await semantic.wait_for_embeddings()
    found = await semantic.retrieve_memories(
        MemoryQuery(user_id=uid, query_text=f"{word} alpha beta")
    )
    assert [entry.content for entry in found][:2] == [f"{word} alpha beta", f"{word} alpha"]
    strict = await semantic.retrieve_memories(
        MemoryQuery(user_id=uid, query_text=f"{word} alpha beta", similarity_threshold=0.99)
    )
    assert [entry.content for entry in strict] == [f"{word} alpha beta"]


@pytest.mark.file_databases
async def test_changing_model_reembeds_without_mixing(
    backend: Backend, uid: str, word: str
) -> None:
    """A store opened with another model queues everything again and searches only its vectors."""
    async with backend.store(embedder=SwitchableEmbedder(64)) as first:
        await first.store_messages([user_message(f"{word} model change")], uid)
        await first.wait_for_embeddings()
    second_model = SwitchableEmbedder(32)
    async with backend.store(embedder=second_model) as second:
        await second.wait_for_embeddings()
        assert f"{word} model change" in second_model.embedded
        hits = await second.search(f"{word} model change", conversation_id=uid, mode="semantic")
        assert [hit.content for hit in hits] == [f"{word} model change"]


async def test_semantic_without_embedder_is_unsupported(
    memory: Memory, uid: str, word: str
) -> None:
    """mode='semantic' on a store without embedder raises UnsupportedOperationError naming
    the capability; hybrid falls back to full text."""
    assert Capability.SEMANTIC not in memory.capabilities
    with pytest.raises(UnsupportedOperationError) as raised:
        await memory.search("anything", mode="semantic")
    assert raised.value.details["capability"] == "semantic"
    await memory.store_message(user_message(f"{word} stored"), uid)
    hits = await memory.search(word, mode="hybrid")
    assert [(hit.content, set(hit.signals)) for hit in hits] == [(f"{word} stored", {"fulltext"})]
    with pytest.raises(InvalidQueryError):
        await memory.search("  ")


@pytest.mark.one_per_database
async def test_dropping_other_models_waits_until_every_item_is_embedded(
    fresh_url: str, uid: str, word: str
) -> None:
    """drop_other_embeddings refuses (dropping nothing) while the embedder has items left,
    then deletes the other models' vectors; a dropped model configured again embeds anew."""
    async with Memory(fresh_url, embedder=SwitchableEmbedder(48)) as first:
        await first.store_messages([user_message(f"{word} kept")], uid)
        await first.wait_for_embeddings()
    new = SwitchableEmbedder(40)
    new.broken = True
    async with Memory(fresh_url, embedder=new) as second:
        with pytest.raises(EmbeddingError, match="nothing was dropped"):
            await second.drop_other_embeddings()
        new.broken = False
        await second.wait_for_embeddings()
        assert await second.drop_other_embeddings() == {embedder_key(SwitchableEmbedder(48)): 1}
        assert await second.drop_other_embeddings() == {}
    again = SwitchableEmbedder(48)
    async with Memory(fresh_url, embedder=again) as third:
        await third.wait_for_embeddings()
        assert again.embedded == [f"{word} kept"]
