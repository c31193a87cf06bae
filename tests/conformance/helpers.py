"""Builders shared by the conformance tests."""

from __future__ import annotations

from typing import Any

from bruno_core.models.memory import MemoryEntry, MemoryMetadata, MemoryType
from bruno_core.models.message import Message, MessageRole


def user_message(content: str, **fields: Any) -> Message:
    """A user message."""
    return Message(role=MessageRole.USER, content=content, **fields)


def message(role: MessageRole, content: str, **fields: Any) -> Message:
    """A message with the given role."""
    return Message(role=role, content=content, **fields)


def memory_entry(user_id: str, content: str, **metadata: Any) -> MemoryEntry:
    """A long-term memory entry with the given metadata fields."""
    kind = metadata.pop("memory_type", MemoryType.LONG_TERM)
    extra = {key: metadata.pop(key) for key in ("expires_at", "conversation_id") if key in metadata}
    return MemoryEntry(
        content=content,
        memory_type=kind,
        user_id=user_id,
        metadata=MemoryMetadata(**metadata),
        **extra,
    )
