"""Inbound values checked once, by the facade, before any storage sees them.

A bad value raises :class:`~bruno_memory.errors.InvalidInputError` and nothing is written.
Models are checked field by field rather than trusted: pydantic validates a model when it is
built, not after ``model_construct`` or attribute assignment, and a value that slipped through
would otherwise be stored and break every later read of its conversation.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from bruno_core.models.memory import MemoryEntry, MemoryMetadata, MemoryType
from bruno_core.models.message import Message, MessageRole, MessageType

from bruno_memory.db.models import ID_LENGTH
from bruno_memory.db.types import json_dumps
from bruno_memory.errors import InvalidInputError, InvalidQueryError

#: Metadata key bruno-core's assistant reads a message's user from.
USER_ID_METADATA_KEY = "user_id"
#: The largest limit a read takes; larger ones mean "all" and are read as this.
MAX_LIMIT = 2**31 - 1
#: How deep metadata may nest (dicts and lists).
MAX_METADATA_DEPTH = 32

_ROLES = frozenset(role.value for role in MessageRole)
_MESSAGE_TYPES = frozenset(kind.value for kind in MessageType)
_MEMORY_TYPES = frozenset(kind.value for kind in MemoryType)


def require_text(value: Any, name: str, *, allow_blank: bool = False) -> str:
    """A string that UTF-8 can carry (no lone surrogate) and without NUL."""
    if not isinstance(value, str) or (not allow_blank and not value.strip()):
        raise InvalidInputError(f"{name} must be a non-empty string", details={name: repr(value)})
    if "\x00" in value:
        raise InvalidInputError(f"{name} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(f"{name} is not valid Unicode text ({exc.reason})") from exc
    return value


def require_query(value: Any) -> str:
    """Query text an embedder can take: a string UTF-8 can carry (else InvalidQueryError)."""
    if not isinstance(value, str):
        raise InvalidQueryError("a search query must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidQueryError(
            f"a search query must be valid Unicode text ({exc.reason})"
        ) from exc
    return value


def require_id(value: Any, name: str) -> str:
    """Validate a string id (user, conversation or session id)."""
    require_text(value, name)
    if len(value) > ID_LENGTH:
        raise InvalidInputError(
            f"{name} must be at most {ID_LENGTH} characters", details={name: value}
        )
    return str(value)


def optional_id(value: Any, name: str) -> str | None:
    """A string id, or None."""
    return None if value is None else require_id(value, name)


def parse_uuid(value: Any, name: str) -> uuid.UUID:
    """Accept a UUID or its string form."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise InvalidInputError(f"{name} is not a UUID", details={name: repr(value)}) from exc


def optional_uuid(value: Any, name: str) -> uuid.UUID | None:
    """A UUID, or None."""
    return None if value is None else parse_uuid(value, name)


def require_limit(limit: Any) -> int:
    """A positive integer limit; limits beyond :data:`MAX_LIMIT` read as that."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInputError("limit must be a positive integer", details={"limit": limit})
    return min(limit, MAX_LIMIT)


def require_timestamp(value: Any, name: str) -> dt.datetime:
    """A datetime that can be expressed in UTC (naive ones are UTC, as in bruno-core)."""
    if not isinstance(value, dt.datetime):
        raise InvalidInputError(f"{name} must be a datetime", details={name: repr(value)})
    try:
        if value.tzinfo is not None:
            value.astimezone(dt.timezone.utc)
    except OverflowError as exc:
        raise InvalidInputError(
            f"{name} is out of range in UTC", details={name: str(value)}
        ) from exc
    return value


def require_json_object(value: Any, name: str) -> dict[str, Any]:
    """A dict that JSON (UTF-8) can carry, nested at most :data:`MAX_METADATA_DEPTH` deep."""
    if not isinstance(value, dict):
        raise InvalidInputError(f"{name} must be a dict", details={name: type(value).__name__})
    if _depth(value) > MAX_METADATA_DEPTH:
        raise InvalidInputError(f"{name} nests deeper than {MAX_METADATA_DEPTH} levels")
    try:
        json_dumps(value).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} cannot be stored as JSON: {exc}") from exc
    return value


def _depth(value: Any) -> int:
    """How deep ``value`` nests, iteratively (so a pathological value cannot exhaust the
    stack), stopping once past the limit."""
    deepest, pending = 0, [(value, 1)]
    while pending and deepest <= MAX_METADATA_DEPTH:
        item, level = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, (list, tuple)):
            deepest = max(deepest, level)
            pending.extend((child, level + 1) for child in item)
    return deepest


def valid_message(message: Any, conversation_id: str) -> Message:
    """A message whose every field a storage can hold and read back."""
    if not isinstance(message, Message):
        raise InvalidInputError("messages must be bruno-core Message objects")
    if not isinstance(message.id, uuid.UUID):
        raise InvalidInputError("message.id must be a UUID")
    require_text(message.content, "message content")
    _require_choice(message.role, _ROLES, "message role")
    _require_choice(message.message_type, _MESSAGE_TYPES, "message_type")
    require_timestamp(message.timestamp, "message timestamp")
    require_json_object(message.metadata, "message metadata")
    if message.parent_id is not None and not isinstance(message.parent_id, uuid.UUID):
        raise InvalidInputError("message.parent_id must be a UUID or None")
    if message.conversation_id not in (None, conversation_id):
        raise InvalidInputError(
            "message.conversation_id differs from the conversation it is stored in",
            details={"message": str(message.id), "conversation_id": conversation_id},
        )
    return message


def batch_user(messages: Sequence[Message], owner: str | None = None) -> str | None:
    """The user a batch is written for: ``owner`` (the caller's) and the one its messages
    name in ``metadata['user_id']``, which must agree (at most one user), once the batch is
    known to hold no message id twice."""
    hints = {message.metadata.get(USER_ID_METADATA_KEY) for message in messages} - {None}
    if owner is not None:
        hints.add(require_id(owner, "user_id"))
    if len(hints) > 1:
        raise InvalidInputError(
            "the messages name different users (user_id and metadata['user_id'])",
            details={"users": sorted(map(str, hints))},
        )
    if len({message.id for message in messages}) != len(messages):
        raise InvalidInputError("the batch holds the same message id twice")
    hint = next(iter(hints), None)
    return None if hint is None else require_id(hint, "metadata['user_id']")


def valid_memory(entry: Any) -> MemoryEntry:
    """A memory entry whose every field a storage can hold and read back."""
    if not isinstance(entry, MemoryEntry):
        raise InvalidInputError("memory entries must be bruno-core MemoryEntry objects")
    if not isinstance(entry.id, uuid.UUID):
        raise InvalidInputError("memory entry id must be a UUID")
    require_text(entry.content, "memory content")
    require_id(entry.user_id, "user_id")
    optional_id(entry.conversation_id, "conversation_id")
    _require_choice(entry.memory_type, _MEMORY_TYPES, "memory_type")
    for name in ("created_at", "updated_at", "last_accessed"):
        require_timestamp(getattr(entry, name), f"memory {name}")
    if entry.expires_at is not None:
        require_timestamp(entry.expires_at, "memory expires_at")
    _valid_memory_metadata(entry.metadata)
    return entry


def _valid_memory_metadata(meta: Any) -> None:
    if not isinstance(meta, MemoryMetadata):
        raise InvalidInputError("memory metadata must be a MemoryMetadata")
    for name in ("importance", "confidence"):
        score = getattr(meta, name)
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
            raise InvalidInputError(f"memory {name} must be a number from 0 to 1")
    if not isinstance(meta.tags, list):
        raise InvalidInputError("memory tags must be a list of strings")
    for tag in meta.tags:
        require_id(tag, "tag")
    for name in ("source", "category"):
        if getattr(meta, name) is not None:
            require_text(getattr(meta, name), f"memory {name}", allow_blank=True)
    require_json_object(meta.custom_fields, "memory custom_fields")


def _require_choice(value: Any, allowed: frozenset[str], name: str) -> None:
    if getattr(value, "value", value) not in allowed:
        raise InvalidInputError(
            f"{name} must be one of {sorted(allowed)}", details={name: repr(value)}
        )
