"""bruno-core models as JSON text (never pickle), with aware UTC datetimes.

Values are validated and normalized by :mod:`bruno_memory.mapping`, exactly as the SQL
store does, then written with the SQL store's JSON encoder: UUID, datetime (ISO 8601 with
its UTC offset), Decimal, Enum and sets become JSON values, and NaN or arbitrary objects
raise :class:`~bruno_memory.errors.InvalidInputError`. Reading back is pydantic validation.

Records whose fields a Lua script changes in place (a session's activity, a memory's access
count) are hashes: ``doc`` holds the JSON and the other fields override it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, TypeVar

from bruno_core.models.context import SessionContext, UserContext
from bruno_core.models.memory import MemoryEntry
from bruno_core.models.message import Message
from pydantic import BaseModel

from bruno_memory.db import models
from bruno_memory.db.types import as_utc, json_dumps
from bruno_memory.errors import InvalidInputError
from bruno_memory.mapping import memory_from_row, memory_row, message_from_row, message_row

Model = TypeVar("Model", bound=BaseModel)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def encode(model: BaseModel) -> str:
    """The model as JSON; values JSON (or UTF-8) cannot hold raise InvalidInputError."""
    try:
        text = json_dumps(model.model_dump())
        text.encode("utf-8")  # Redis takes UTF-8: refuse lone surrogates before writing
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"cannot store {type(model).__name__}: {exc}") from exc
    return text


def decode(model_type: type[Model], text: str) -> Model:
    """The model stored as ``text``."""
    return model_type.model_validate_json(text)


def micros(value: dt.datetime) -> int:
    """Microseconds since the epoch (exact in a Redis score up to the year 2255)."""
    return (as_utc(value) - _EPOCH) // dt.timedelta(microseconds=1)


def from_micros(value: float) -> dt.datetime:
    """The aware UTC datetime of :func:`micros`."""
    return _EPOCH + dt.timedelta(microseconds=int(value))


def iso(value: dt.datetime | None) -> str:
    """A datetime as stored in hash fields ('' for None)."""
    return "" if value is None else as_utc(value).isoformat()


def from_iso(value: str | None) -> dt.datetime | None:
    """The datetime of :func:`iso`."""
    return dt.datetime.fromisoformat(value) if value else None


def normalized_message(message: Message, conversation_id: str, now: dt.datetime) -> Message:
    """``message`` validated as the SQL store validates it, in ``conversation_id``."""
    row = message_row(message, conversation_id=conversation_id, user_id=None, seq=0, now=now)
    return message_from_row(models.Message(**row))


def normalized_memory(entry: MemoryEntry) -> MemoryEntry:
    """``entry`` validated as the SQL store validates it, with aware UTC datetimes."""
    return memory_from_row(memory_row(entry))


def session_fields(session: SessionContext) -> dict[str, str]:
    """A session as hash fields."""
    return {
        "doc": encode(session),
        "user_id": session.user_id,
        "is_active": "1" if session.is_active else "0",
        "ended_at": iso(session.ended_at),
        "last_activity": iso(session.last_activity),
    }


def session_from_fields(fields: Mapping[str, str]) -> SessionContext:
    """The session of :func:`session_fields`, with its current activity."""
    session = decode(SessionContext, fields["doc"])
    session.is_active = fields["is_active"] == "1"
    session.ended_at = from_iso(fields.get("ended_at"))
    session.last_activity = from_iso(fields["last_activity"]) or session.last_activity
    return session


def memory_fields(entry: MemoryEntry) -> dict[str, Any]:
    """A memory entry as hash fields (its index keys are added by the writer)."""
    return {
        "doc": encode(entry),
        "user_id": entry.user_id,
        "access_count": entry.metadata.access_count,
        "last_accessed": iso(entry.last_accessed),
    }


def memory_from_fields(fields: Mapping[str, str]) -> MemoryEntry:
    """The memory entry of :func:`memory_fields`, with its current access count."""
    entry = decode(MemoryEntry, fields["doc"])
    entry.metadata.access_count = int(fields["access_count"])
    entry.last_accessed = from_iso(fields["last_accessed"]) or entry.last_accessed
    return entry


def user_context(user_id: str, fields: dict[str, str]) -> UserContext:
    """The user's context from their profile hash (defaults for what was never written)."""
    context = UserContext(user_id=user_id)
    created = from_iso(fields["created_at"]) if "created_at" in fields else None
    if created is not None:  # activity is not tracked here: last_active is the creation
        context.created_at = context.last_active = created
    if "context" in fields:
        context = context.model_copy(update=json.loads(fields["context"]))
    return context
