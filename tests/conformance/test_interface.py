"""The store is a bruno-core MemoryInterface in every respect bruno-core checks."""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points

import pytest
from bruno_core.context.manager import ContextManager
from bruno_core.interfaces.memory import MemoryInterface
from bruno_core.models.message import MessageRole
from bruno_core.registry.memory_registry import MemoryBackendRegistry

from bruno_memory import MemoryStore
from bruno_memory.backends.redis import RedisMemoryBackend
from tests.conformance.helpers import message, user_message

INTERFACE_METHODS = sorted(MemoryInterface.__abstractmethods__)


def test_interface_has_twelve_methods() -> None:
    """bruno-core's MemoryInterface declares the twelve methods this suite covers."""
    assert len(INTERFACE_METHODS) == 12


BACKEND_CLASSES = {"sql": MemoryStore, "redis": RedisMemoryBackend}


@pytest.mark.parametrize("backend_class", BACKEND_CLASSES.values(), ids=BACKEND_CLASSES.keys())
@pytest.mark.parametrize("name", INTERFACE_METHODS)
def test_signature_matches_the_interface(name: str, backend_class: type) -> None:
    """Each interface method keeps the interface's parameter names, kinds and defaults."""
    ours = inspect.signature(getattr(backend_class, name))
    theirs = inspect.signature(getattr(MemoryInterface, name))
    simplify = lambda sig: [(p.name, p.kind, p.default) for p in sig.parameters.values()]  # noqa: E731
    assert simplify(ours) == simplify(theirs)
    assert inspect.iscoroutinefunction(getattr(backend_class, name))


@pytest.mark.parametrize("backend_class", BACKEND_CLASSES.values(), ids=BACKEND_CLASSES.keys())
def test_backends_are_concrete_memory_interfaces(backend_class: type) -> None:
    """Each backend subclasses MemoryInterface and leaves nothing abstract."""
    assert issubclass(backend_class, MemoryInterface)
    assert not getattr(backend_class, "__abstractmethods__", None)


@pytest.mark.parametrize(("name", "backend_class"), BACKEND_CLASSES.items())
def test_registry_accepts_the_backends(name: str, backend_class: type) -> None:
    """bruno-core's MemoryBackendRegistry validates each class and discovers it by entry point."""
    registry = MemoryBackendRegistry()
    assert registry.validate_plugin(backend_class)
    found = {ep.name: ep for ep in entry_points(group="bruno.memory_backends")}
    assert found[name].load() is backend_class
    registry.discover_plugins()
    assert name in registry.list_plugins()


async def test_registry_instance_opens_itself(backend_url_store: MemoryStore, uid: str) -> None:
    """A store built with keyword arguments only (as the registry does) opens on first use."""
    await backend_url_store.store_message(user_message("lazy"), uid)
    assert [m.content for m in await backend_url_store.retrieve_messages(uid)] == ["lazy"]


async def test_bruno_core_context_manager(memory: MemoryStore, uid: str, word: str) -> None:
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
