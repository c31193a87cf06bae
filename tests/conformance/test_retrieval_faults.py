"""Ranked retrieval sees the caller's own writes, and an embedder that fails at query time
degrades hybrid ranking to full text instead of failing it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from bruno_core.models.memory import MemoryQuery
from bruno_llm.exceptions import LLMError

from bruno_memory import Capability, EmbeddingError, Memory
from bruno_memory.adapters.embeddings import HashingEmbedder
from bruno_memory.ports.embedding import Matrix
from tests.conformance.helpers import memory_entry, user_message
from tests.conftest import Backend

pytestmark = pytest.mark.requires(Capability.RETRIEVAL, Capability.SEMANTIC)


class FlakyEmbedder(HashingEmbedder):
    """A deterministic embedder whose background batches can be held (items stay pending)
    and which can fail as a bruno-llm provider does (``LLMError``)."""

    def __init__(self) -> None:
        super().__init__(1024)
        self.down = False
        self.held = asyncio.Event()
        self.held.set()

    async def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        await self.held.wait()  # the background indexer's batches, not query texts
        return await super().embed_texts(texts)

    async def _embed(self, texts: list[str]) -> Matrix:
        if self.down:
            raise LLMError("provider unavailable")
        return await super()._embed(texts)


@pytest.fixture
def flaky() -> FlakyEmbedder:
    return FlakyEmbedder()


@pytest.fixture
async def semantic(backend: Backend, flaky: FlakyEmbedder) -> AsyncIterator[Memory]:
    async with backend.store(embedder=flaky) as store:
        await store.wait_for_embeddings()
        yield store


async def test_a_memory_pending_embedding_is_found(
    semantic: Memory, flaky: FlakyEmbedder, uid: str, word: str
) -> None:
    """retrieve_memories(query_text=...) finds a memory stored a moment ago whose embedding
    is still pending (full text fills in what vectors cannot rank yet)."""
    await semantic.store_memory(memory_entry(uid, f"{word} likes sailing"))
    await semantic.wait_for_embeddings()
    flaky.held.clear()  # what is stored now stays pending
    await semantic.store_memory(memory_entry(uid, f"{word} owns a red kayak"))
    found = await semantic.retrieve_memories(MemoryQuery(user_id=uid, query_text=f"{word} kayak"))
    assert f"{word} owns a red kayak" in [entry.content for entry in found]
    assert await semantic.embedding_backlog() >= 1
    flaky.held.set()


async def test_hybrid_falls_back_to_full_text_when_the_embedder_is_down(
    semantic: Memory, flaky: FlakyEmbedder, uid: str, word: str
) -> None:
    """With the embedder down at query time, hybrid search and ranked retrieve_memories
    answer from full text (counted in semantic_fallbacks), semantic-only search raises a
    typed EmbeddingError, and a degraded result is not cached."""
    await semantic.store_message(
        user_message(f"{word} went to Lisbon", metadata={"user_id": uid}), uid
    )
    await semantic.store_memory(memory_entry(uid, f"{word} prefers trains"))
    await semantic.wait_for_embeddings()
    flaky.down = True
    before = semantic.semantic_fallbacks
    hits = await semantic.search(f"{word} Lisbon", user_id=uid, mode="hybrid")
    assert f"{word} went to Lisbon" in [hit.content for hit in hits]
    assert all("semantic" not in hit.signals for hit in hits)
    found = await semantic.retrieve_memories(MemoryQuery(user_id=uid, query_text=f"{word} trains"))
    assert [entry.content for entry in found] == [f"{word} prefers trains"]
    assert semantic.semantic_fallbacks == before + 2
    with pytest.raises(EmbeddingError) as raised:
        await semantic.search(f"{word} Lisbon", user_id=uid, mode="semantic")
    assert isinstance(raised.value.__cause__, LLMError)
    flaky.down = False
    hits = await semantic.search(f"{word} Lisbon", user_id=uid, mode="hybrid")
    assert any("semantic" in hit.signals for hit in hits)  # the degraded answer was not cached
