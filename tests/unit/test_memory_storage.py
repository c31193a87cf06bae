"""The in-memory storage: what the conformance suite (which runs on it as the ``memory``
target) does not cover: its URL, the options it refuses, and that instances are apart."""

from __future__ import annotations

from typing import Any

import pytest
from bruno_core.models.memory import MemoryQuery

from bruno_memory import Capability, ConfigurationError, Memory, create_memory
from bruno_memory.adapters.embeddings import HashingEmbedder
from bruno_memory.adapters.vector.exact import ExactVectorIndex
from bruno_memory.backends.memory import InMemoryStorage
from tests.conformance.helpers import memory_entry, user_message


def test_the_memory_url_builds_the_in_memory_storage() -> None:
    memory = create_memory("memory://")
    assert isinstance(memory.storage, InMemoryStorage)
    assert memory.backend == "memory"
    assert memory.capabilities == {
        Capability.FULL_TEXT,
        Capability.RETRIEVAL,
        Capability.PRUNING,
        Capability.USER_LISTING,
        Capability.ANALYTICS,
    }
    assert isinstance(Memory("memory://").storage, InMemoryStorage)  # default embedder: none


@pytest.mark.parametrize(
    "url", ["memory://name", "memory:///path", "memory://?shared=1", "memory://#x"]
)
def test_a_memory_url_names_nothing(url: str) -> None:
    with pytest.raises(ConfigurationError, match="memory://"):
        create_memory(url)


@pytest.mark.parametrize(
    "options",
    [
        {"database_url": "sqlite+aiosqlite://"},
        {"auto_migrate": True},
        {"redis_url": "redis://127.0.0.1:6379"},
        {"key_prefix": "bruno"},
        {"session_ttl_seconds": 60},
        {"context_window": 0},
        {"search_rrf_k": 0},
    ],
    ids=lambda options: next(iter(options)),
)
def test_options_it_does_not_use_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        create_memory("memory://", **options)


def test_semantic_search_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="embedder=None"):
        create_memory("memory://", embedder=HashingEmbedder())
    with pytest.raises(ConfigurationError, match="embedder=None"):
        create_memory("memory://", embedder=None, vector_index=ExactVectorIndex())


async def test_the_context_window_and_search_options_are_honoured() -> None:
    async with create_memory("memory://", context_window=3, search_neighbor_weight=0) as memory:
        assert memory.context_window == 3
        session = await memory.create_session("alice")
        await memory.store_messages(
            [user_message(f"m{n}") for n in range(5)], session.conversation_id
        )
        context = await memory.get_context("alice", session.session_id)
        assert [m.content for m in context.messages] == ["m2", "m3", "m4"]
        hits = await memory.search("m3", conversation_id=session.conversation_id)
        assert [hit.content for hit in hits] == ["m3"]  # no neighbours


async def test_two_instances_share_nothing() -> None:
    async with create_memory("memory://") as first, create_memory("memory://") as second:
        await first.store_message(user_message("only here", metadata={"user_id": "a"}), "c")
        await first.store_memory(memory_entry("a", "a fact"))
        assert await second.retrieve_messages("c") == []
        assert await second.retrieve_memories(MemoryQuery(user_id="a")) == []
        assert (await second.get_statistics("a"))["total_messages"] == 0
        await second.store_message(user_message("elsewhere", metadata={"user_id": "b"}), "c")
        assert [m.content for m in await first.retrieve_messages("c")] == ["only here"]


async def test_returned_models_are_copies() -> None:
    async with create_memory("memory://") as memory:
        await memory.store_message(user_message("kept", metadata={"k": 1}), "c")
        entry = memory_entry("a", "kept fact", tags=["t"])
        await memory.store_memory(entry)
        entry.metadata.tags.append("changed by the caller")
        [read] = await memory.retrieve_messages("c")
        read.metadata["k"] = 2
        found = await memory.get_memory(entry.id)
        assert found is not None
        found.metadata.tags.clear()
        assert (await memory.retrieve_messages("c"))[0].metadata == {"k": 1}
        again = await memory.get_memory(entry.id)
        assert again is not None
        assert again.metadata.tags == ["t"]


async def test_what_is_stored_outlives_close_and_reopen() -> None:
    memory = create_memory("memory://")
    await memory.store_message(user_message("still here"), "c")
    await memory.close()
    async with memory:
        assert [m.content for m in await memory.retrieve_messages("c")] == ["still here"]
