"""Translation between bruno-core's pydantic models and the database rows.

Values arrive validated by the facade (:mod:`bruno_memory.validation`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from bruno_core.models.context import SessionContext, UserContext
from bruno_core.models.memory import MemoryEntry, MemoryMetadata, MemoryType
from bruno_core.models.message import Message, MessageRole, MessageType
from pydantic import TypeAdapter
from sqlalchemy import Row

from bruno_memory.context.summaries import LLMUsage, Summary
from bruno_memory.db import models
from bruno_memory.db.types import as_utc, utc_now


def message_row(
    message: Message, *, conversation_id: str, user_id: str | None, seq: int, now: dt.datetime
) -> dict[str, Any]:
    """Column values of a new ``messages`` row."""
    return {
        "id": message.id,
        "conversation_id": conversation_id,
        "user_id": user_id,
        "seq": seq,
        "role": MessageRole(message.role).value,
        "message_type": MessageType(message.message_type).value,
        "content": message.content,
        "metadata_": dict(message.metadata),
        "parent_id": message.parent_id,
        "timestamp": as_utc(message.timestamp),
        "created_at": now,
        "state": models.ACTIVE,
    }


#: The attributes of a ``messages`` row that reads select: what :func:`message_from_row`
#: reads, and ``seq`` (the position cursors and windows order by). Nothing else of a row
#: is decoded on a read (``search_text``, ``created_at``, ``state``...).
MESSAGE_FIELDS = (
    "id",
    "conversation_id",
    "seq",
    "role",
    "message_type",
    "content",
    "metadata_",
    "parent_id",
    "timestamp",
)


def message_from_row(row: models.Message | Row[Any]) -> Message:
    """The bruno-core message of a row (an ORM object, or a Core row labelled alike)."""
    return Message(
        id=row.id,
        role=MessageRole(row.role),
        content=row.content,
        message_type=MessageType(row.message_type),
        timestamp=row.timestamp,
        metadata=dict(row.metadata_),
        parent_id=row.parent_id,
        conversation_id=row.conversation_id,
    )


def memory_row(entry: MemoryEntry) -> models.Memory:
    """A new ``memories`` row (with its tags) for ``entry``."""
    row = models.Memory(id=entry.id, pk=None)
    apply_memory(row, entry, updated_at=as_utc(entry.updated_at))
    row.created_at = as_utc(entry.created_at)
    row.last_accessed = as_utc(entry.last_accessed)
    row.access_count = entry.metadata.access_count
    return row


def apply_memory(row: models.Memory, entry: MemoryEntry, *, updated_at: dt.datetime) -> None:
    """Copy the editable fields of ``entry`` onto ``row``."""
    meta = entry.metadata
    row.user_id = entry.user_id
    row.conversation_id = entry.conversation_id
    row.memory_type = MemoryType(entry.memory_type).value
    row.content = entry.content
    row.source = meta.source
    row.category = meta.category
    row.confidence = meta.confidence
    row.importance = meta.importance
    row.related_memories = [str(related) for related in meta.related_memories]
    row.custom_fields = dict(meta.custom_fields)
    row.embedding = list(meta.embedding) if meta.embedding is not None else None
    row.updated_at = updated_at
    row.expires_at = as_utc(entry.expires_at) if entry.expires_at is not None else None
    row.tags = [models.MemoryTag(position=i, tag=tag) for i, tag in enumerate(meta.tags)]


def memory_from_row(row: models.Memory) -> MemoryEntry:
    """The bruno-core memory entry of a row."""
    return MemoryEntry(
        id=row.id,
        content=row.content,
        memory_type=MemoryType(row.memory_type),
        user_id=row.user_id,
        conversation_id=row.conversation_id,
        metadata=MemoryMetadata(
            source=row.source,
            category=row.category,
            tags=[tag.tag for tag in row.tags],
            confidence=row.confidence,
            importance=row.importance,
            access_count=row.access_count,
            embedding=row.embedding,
            related_memories=[uuid.UUID(related) for related in row.related_memories],
            custom_fields=dict(row.custom_fields),
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_accessed=row.last_accessed,
        expires_at=row.expires_at,
    )


def counted(entry: MemoryEntry, access_count: int, when: dt.datetime) -> MemoryEntry:
    """A copy of ``entry`` after an access: its new ``access_count``, last accessed ``when``."""
    metadata = entry.metadata.model_copy(update={"access_count": access_count})
    return entry.model_copy(update={"metadata": metadata, "last_accessed": when})


def new_session_row(
    *, user_id: str, conversation_id: str, metadata: dict[str, Any] | None
) -> models.Session:
    """A new, active ``sessions`` row."""
    now = utc_now()
    return models.Session(
        id=str(uuid.uuid4()),
        user_id=user_id,
        conversation_id=conversation_id,
        started_at=now,
        ended_at=None,
        last_activity=now,
        is_active=True,
        state={},
        metadata_=dict(metadata or {}),
    )


def session_from_row(row: models.Session | Row[Any]) -> SessionContext:
    """The bruno-core session context of a row (an ORM object, or a Core row labelled alike)."""
    return SessionContext(
        session_id=row.id,
        user_id=row.user_id,
        conversation_id=row.conversation_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        last_activity=row.last_activity,
        is_active=row.is_active,
        state=dict(row.state),
        metadata=dict(row.metadata_),
    )


def user_from_row(row: models.User | Row[Any], prefix: str = "") -> UserContext:
    """The bruno-core user context of a row; ``prefix``: a Core row whose user columns are
    named ``<prefix><column>`` (read beside another table's)."""
    column: Callable[[str], Any] = lambda name: getattr(row, prefix + name)  # noqa: E731
    return UserContext(
        user_id=column("id"),
        name=column("name"),
        preferences=dict(column("preferences")),
        profile=dict(column("profile")),
        metadata=dict(column("metadata_")),
        created_at=column("created_at"),
        last_active=column("last_active"),
    )


_MESSAGE_LIST: TypeAdapter[list[Message]] = TypeAdapter(list[Message])


def encode_messages(messages: list[Message]) -> str:
    """Messages as JSON (for caches): every field, timestamps as aware UTC ISO 8601."""
    return _MESSAGE_LIST.dump_json(messages).decode()


def decode_messages(payload: str) -> list[Message]:
    """The messages :func:`encode_messages` wrote."""
    return _MESSAGE_LIST.validate_json(payload)


def summary_row(
    summary: Summary, *, user_id: str | None, first_pk: int, first_seq: int, last_pk: int
) -> dict[str, Any]:
    """Column values of a new ``summaries`` row, its span starting at the message row
    ``first_pk`` (position ``first_seq``) and ending at ``last_pk``."""
    return {
        "id": summary.id,
        "conversation_id": summary.conversation_id,
        "user_id": user_id,
        "level": summary.level,
        "content": summary.content,
        "first_message_pk": first_pk,
        "last_message_pk": last_pk,
        "first_seq": first_seq,
        "span_start": as_utc(summary.span_start),
        "span_end": as_utc(summary.span_end),
        "message_count": summary.message_count,
        "source_ids": [str(source) for source in summary.source_ids],
        "covered_by": summary.covered_by,
        "model": summary.usage.model,
        "input_tokens": summary.usage.input_tokens,
        "output_tokens": summary.usage.output_tokens,
        "cost": summary.usage.cost,
        "created_at": as_utc(summary.created_at),
    }


def summary_from_row(row: Row[Any]) -> Summary:
    """The summary of a ``summaries`` row joined with its end messages' ids."""
    return Summary(
        id=row.id,
        conversation_id=row.conversation_id,
        level=row.level,
        content=row.content,
        first_message_id=row.first_message_id,
        last_message_id=row.last_message_id,
        span_start=as_utc(row.span_start),
        span_end=as_utc(row.span_end),
        message_count=row.message_count,
        source_ids=[uuid.UUID(source) for source in row.source_ids],
        covered_by=row.covered_by,
        usage=LLMUsage(
            model=row.model,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            cost=row.cost,
        ),
        created_at=as_utc(row.created_at),
    )
