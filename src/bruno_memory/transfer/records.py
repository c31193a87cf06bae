"""The records of an export: one per stored row, in the order an import needs them.

An export is a stream of records (JSON Lines: one record per line, :mod:`.jsonl`), headed by
a :class:`Header`. Each record is a row of the store as it is, with the keys callers know
(ids, positions), never the database's surrogate keys: a message's ``position`` in its
conversation, a summary's first and last message by id, a memory's tags in order. The kinds
come in :data:`LOAD_ORDER`, so that whatever a record refers to (a message's conversation,
a summary's messages) is stored before it: users, conversations (branches name their
parent and fork point), sessions, messages, summaries (oldest first: a summary's sources
before it), memories, then embeddings (vectors) when asked for.

Timestamps are aware UTC datetimes, ids UUID strings, metadata any JSON. A vector is its
float32 values, little-endian, in base64 (exact, and a quarter of a decimal list's size).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

#: What the header's ``format`` says, and the version of the record layout below.
FORMAT = "bruno-memory"
FORMAT_VERSION = 1


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Header(_Record):
    """The first line of an export: what it holds and where it came from."""

    kind: Literal["header"] = "header"
    format: Literal["bruno-memory"] = "bruno-memory"
    version: int = FORMAT_VERSION
    exported_at: dt.datetime
    #: An incremental export holds what changed at or after this time (None: everything).
    since: dt.datetime | None = None
    source_backend: str
    embeddings: bool = False
    anonymized: bool = False


class UserRecord(_Record):
    kind: Literal["user"] = "user"
    id: str
    name: str | None
    preferences: dict[str, Any]
    profile: dict[str, Any]
    metadata: dict[str, Any]
    created_at: dt.datetime
    last_active: dt.datetime


class ConversationRecord(_Record):
    kind: Literal["conversation"] = "conversation"
    id: str
    user_id: str | None
    #: A branch's parent, and the parent's message it forked at (its position there).
    parent_id: str | None
    fork_message_id: uuid.UUID | None
    fork_position: int | None
    #: The last position handed out (positions are never reused, even after a clear).
    last_position: int
    metadata: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class SessionRecord(_Record):
    kind: Literal["session"] = "session"
    id: str
    user_id: str
    conversation_id: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    last_activity: dt.datetime
    is_active: bool
    state: dict[str, Any]
    metadata: dict[str, Any]


class MessageRecord(_Record):
    kind: Literal["message"] = "message"
    id: uuid.UUID
    conversation_id: str
    user_id: str | None
    position: int = Field(ge=1)
    role: str
    type: str
    content: str
    metadata: dict[str, Any]
    parent_id: uuid.UUID | None
    timestamp: dt.datetime
    created_at: dt.datetime
    archived: bool


class SummaryRecord(_Record):
    kind: Literal["summary"] = "summary"
    id: uuid.UUID
    conversation_id: str
    user_id: str | None
    level: int = Field(ge=0)
    content: str
    first_message_id: uuid.UUID
    last_message_id: uuid.UUID
    first_position: int
    span_start: dt.datetime
    span_end: dt.datetime
    message_count: int
    source_ids: list[str]
    covered_by: uuid.UUID | None
    model: str
    input_tokens: int
    output_tokens: int
    cost: float | None
    created_at: dt.datetime


class MemoryRecord(_Record):
    kind: Literal["memory"] = "memory"
    id: uuid.UUID
    user_id: str
    conversation_id: str | None
    type: str
    content: str
    source: str
    category: str | None
    confidence: float
    importance: float
    access_count: int
    tags: list[str]
    related_memories: list[str]
    custom_fields: dict[str, Any]
    embedding: list[float] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    last_accessed: dt.datetime
    expires_at: dt.datetime | None
    archived_at: dt.datetime | None


class EmbeddingRecord(_Record):
    kind: Literal["embedding"] = "embedding"
    item_kind: Literal["message", "memory"]
    item_id: uuid.UUID
    model: str
    dimensions: int = Field(ge=1)
    content_hash: str
    #: float32 little-endian values, base64 (see :func:`encode_vector`).
    vector: str


Record = Annotated[
    UserRecord
    | ConversationRecord
    | SessionRecord
    | MessageRecord
    | SummaryRecord
    | MemoryRecord
    | EmbeddingRecord,
    Field(discriminator="kind"),
]
#: Each kind of record, in the order an import stores them.
LOAD_ORDER = ("user", "conversation", "session", "message", "summary", "memory", "embedding")
RECORD_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)
HEADER_ADAPTER = TypeAdapter(Header)


def encode_vector(values: npt.NDArray[np.float32]) -> str:
    """A vector as a record holds it."""
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode("ascii")


def decode_vector(encoded: str) -> npt.NDArray[np.float32]:
    """The float32 values of a record's vector."""
    return np.frombuffer(base64.b64decode(encoded, validate=True), dtype="<f4").astype(np.float32)


#: The key of a record among the records of its kind: an id, or (item kind, item id,
#: model) for an embedding.
RecordKey = Any


def record_key(record: Record) -> RecordKey:
    """What identifies ``record`` among the records of its kind."""
    if isinstance(record, EmbeddingRecord):
        return (record.item_kind, record.item_id, record.model)
    return record.id
