"""The store is a bruno-core MemoryInterface in every respect bruno-core checks."""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points

import pytest
from bruno_core.context.manager import ContextManager
from bruno_core.interfaces.memory import MemoryInterface
from bruno_core.models.message import MessageRole
from bruno_core.registry.memory_registry import MemoryBackendRegistry

from bruno_memory import AccessDeniedError, Capability, InvalidInputError, Memory
from tests.conformance.helpers import message, user_message

INTERFACE_METHODS = sorted(MemoryInterface.__abstractmethods__)


def test_interface_has_twelve_methods() -> None:
    """bruno-core's MemoryInterface declares the twelve methods this suite covers."""
    assert len(INTERFACE_METHODS) == 12


@pytest.mark.parametrize("name", INTERFACE_METHODS)
def test_signature_matches_the_interface(name: str) -> None:
    """Each interface method keeps the interface's parameter names, kinds and defaults."""
    ours = inspect.signature(getattr(Memory, name))
    theirs = inspect.signature(getattr(MemoryInterface, name))
    simplify = lambda sig: [(p.name, p.kind, p.default) for p in sig.parameters.values()]  # noqa: E731
    assert simplify(ours) == simplify(theirs)
    assert inspect.iscoroutinefunction(getattr(Memory, name))


def test_the_facade_is_a_concrete_memory_interface() -> None:
    """Memory subclasses MemoryInterface and leaves nothing abstract."""
    assert issubclass(Memory, MemoryInterface)
    assert not getattr(Memory, "__abstractmethods__", None)


def test_registry_accepts_the_facade() -> None:
    """bruno-core's MemoryBackendRegistry validates Memory and discovers it by entry point."""
    registry = MemoryBackendRegistry()
    assert registry.validate_plugin(Memory)
    found = {ep.name: ep for ep in entry_points(group="bruno.memory_backends")}
    assert found["bruno_memory"].load() is Memory
    registry.discover_plugins()
    assert "bruno_memory" in registry.list_plugins()


async def test_registry_instance_opens_itself(backend_url_store: Memory, uid: str) -> None:
    """A store built with keyword arguments only (as the registry does) opens on first use."""
    await backend_url_store.store_message(user_message("lazy"), uid)
    assert [m.content for m in await backend_url_store.retrieve_messages(uid)] == ["lazy"]


async def test_bruno_core_context_manager(memory: Memory, uid: str, word: str) -> None:
    """bruno-core's ContextManager stores through the store and asks retrieve_context."""
    manager = ContextManager(memory=memory, max_messages=10)
    conversation = f"{uid}-conv"
    await memory.store_message(
        user_message(f"{word} is my cat", metadata={"user_id": uid}), conversation
    )
    await manager.add_message(user_message(f"tell me about {word}"), conversation, user_id=uid)
    await manager.add_message(message(MessageRole.ASSISTANT, "sure"), conversation, user_id=uid)
    context = await manager.get_context(conversation, user_id=uid)
    assert context.metadata["relevant_memories_count"] >= 1
    stored = await memory.retrieve_messages(conversation)
    assert [m.content for m in stored] == ["sure", f"tell me about {word}", f"{word} is my cat"]


@pytest.mark.requires(Capability.RETRIEVAL)
async def test_context_manager_messages_belong_to_their_user(
    memory: Memory, uid: str, word: str
) -> None:
    """What bruno-core's ContextManager saves through ``for_user`` is the user's: found by
    their searches and contexts, by no one else's."""
    alice, bob = f"{uid}-alice", f"{uid}-bob"
    manager = ContextManager(memory=memory.for_user(alice), max_messages=10)
    conversation = f"{uid}-conv"
    await manager.add_message(user_message(f"my cat is {word}"), conversation, user_id=alice)
    await manager.add_message(message(MessageRole.ASSISTANT, "noted"), conversation, user_id=alice)

    context = await manager.get_context(conversation, user_id=alice)
    assert context.metadata["relevant_memories_count"] == 1
    assert [m.content for m in await memory.retrieve_context(alice, word)] == [f"my cat is {word}"]
    hits = await memory.search(word, user_id=alice)
    assert hits[0].message is not None
    assert hits[0].message.content == f"my cat is {word}"
    assert [m.content for m in (await memory.get_context(alice, conversation)).messages] == [
        f"my cat is {word}",
        "noted",
    ]
    window = await memory.build_context(alice, conversation, query=word)
    assert f"my cat is {word}" in [m.content for m in window.messages]

    assert await memory.retrieve_context(bob, word) == []
    assert await memory.search(word, user_id=bob) == []
    with pytest.raises(AccessDeniedError):
        await memory.get_context(bob, conversation)


async def test_a_user_bound_memory_refuses_another_users_conversation(
    memory: Memory, uid: str
) -> None:
    """``for_user`` and ``store_messages(user_id=)`` write only into the user's own
    conversations; naming two users at once is refused."""
    session = await memory.create_session(f"{uid}-alice")
    with pytest.raises(AccessDeniedError):
        await memory.for_user(f"{uid}-bob").store_message(
            user_message("hi"), session.conversation_id
        )
    with pytest.raises(AccessDeniedError):
        await memory.store_messages(
            [user_message("hi")], session.conversation_id, user_id=f"{uid}-bob"
        )
    with pytest.raises(InvalidInputError):
        await memory.store_messages(
            [user_message("hi", metadata={"user_id": f"{uid}-bob"})],
            f"{uid}-other",
            user_id=f"{uid}-alice",
        )
    await memory.store_messages([user_message("mine")], f"{uid}-new", user_id=f"{uid}-bob")
    stats = await memory.get_statistics(f"{uid}-bob")
    assert stats["conversations"] == 1
    assert await memory.retrieve_messages(session.conversation_id) == []
