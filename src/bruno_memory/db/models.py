"""The relational model: one set of tables for SQLite and PostgreSQL.

Ids given by callers (bruno-core's UUIDs and string ids) are kept as given. Messages and
memories also carry an integer surrogate key ``pk``: it is the rowid SQLite's FTS5 index
points at, and a cheap join key. Full-text objects (SQLite FTS5 tables and triggers,
PostgreSQL's ``search_vector`` column) are built by the migrations and described in
:mod:`bruno_memory.db.fulltext`; they are not mapped here. What they index is the
``search_text`` column, which the application fills from ``content`` by the rule of
:mod:`bruno_memory.text` (a column default for Core inserts, an attribute event for ORM
writes); it is deferred, so reading rows never loads it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    event,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bruno_memory.db.base import Base
from bruno_memory.db.types import (
    FloatVector,
    JsonDocument,
    SurrogateKey,
    UTCDateTime,
    new_cache_version,
    utc_now,
)
from bruno_memory.text import index_text

ID_LENGTH = 255
#: ``messages.state``: in the history (``ACTIVE``), or archived: out of the default reads,
#: the window, search and context, kept and restorable.
ACTIVE = "active"
ARCHIVED = "archived"


def _search_text(context: DefaultExecutionContext) -> str | None:
    """The ``search_text`` of a row inserted without one: what is indexed of its content."""
    parameters: dict[str, Any] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    content = parameters.get("content")
    return None if content is None else index_text(content)


class User(Base):
    """A user and the context that persists across their conversations."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    preferences: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    profile: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDocument, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_active: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)


class Conversation(Base):
    """A sequence of messages; ``last_seq`` hands out each message's position.

    A branch is a conversation with a ``parent_id``: it inherits the parent's messages up to
    position ``fork_seq`` (the message ``fork_message_id``, the parent's own) and numbers its
    own from ``fork_seq + 1``, so its history is the parent's range and its own, by position
    (:mod:`bruno_memory.repositories.lineage`). Nothing is copied.
    """

    __tablename__ = "conversations"
    # A user's conversations by id: the keyset pages of ``list_conversations``.
    __table_args__ = (Index("ix_conversations_user_id_id", "user_id", "id"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE")
    )
    # Not a foreign key: adding one to an existing SQLite table means copying it, which
    # cascades to its messages. A branch has its parent's owner and goes with that user.
    parent_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    fork_seq: Mapped[int | None] = mapped_column(SurrogateKey)
    fork_message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_seq: Mapped[int] = mapped_column(SurrogateKey, default=0)
    #: Changed, in the writing transaction, by every write to the conversation's messages:
    #: cached views of the conversation count only under the version they were read at
    #: (:mod:`bruno_memory.adapters.cache.redis`). NULL for rows older than revision 0004.
    cache_version: Mapped[str | None] = mapped_column(String(32), default=new_cache_version)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDocument, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)


class Session(Base):
    """A conversation session of one user."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index(
            "ix_sessions_user_id_is_active_last_activity", "user_id", "is_active", "last_activity"
        ),
        # A user's sessions by id: the keyset pages of ``list_sessions``.
        Index("ix_sessions_user_id_id", "user_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_activity: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDocument, default=dict)


class Message(Base):
    """One message of a conversation, at position ``seq`` (1, 2, 3, ... per conversation)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        # Pinned system messages of a long conversation are found without a scan.
        Index("ix_messages_conversation_id_role_seq", "conversation_id", "role", "seq"),
        Index("ix_messages_user_id_timestamp", "user_id", "timestamp"),
        # A store-wide analytics window is a range of it.
        Index("ix_messages_timestamp", "timestamp"),
    )

    pk: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    conversation_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE")
    )
    user_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    seq: Mapped[int] = mapped_column(SurrogateKey)
    role: Mapped[str] = mapped_column(String(32))
    message_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str | None] = mapped_column(Text, default=_search_text, deferred=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonDocument, default=dict)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    state: Mapped[str] = mapped_column(String(16), default=ACTIVE)


class Memory(Base):
    """A long-lived memory entry (fact, preference, episode...) of one user."""

    __tablename__ = "memories"
    __table_args__ = (
        Index("ix_memories_user_id_memory_type", "user_id", "memory_type"),
        Index("ix_memories_user_id_category", "user_id", "category"),
        # By creation, then id: also the keyset pages of ``iter_memories``.
        Index("ix_memories_user_id_created_at_id", "user_id", "created_at", "id"),
        Index("ix_memories_user_id_expires_at", "user_id", "expires_at"),
        Index("ix_memories_user_id_archived_at_pk", "user_id", "archived_at", "pk"),
        Index(
            "ix_memories_user_id_importance_created_at_pk",
            "user_id",
            "importance",
            "created_at",
            "pk",
        ),
    )

    pk: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    memory_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str | None] = mapped_column(Text, default=_search_text, deferred=True)
    source: Mapped[str] = mapped_column(String(ID_LENGTH), default="unknown")
    category: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    importance: Mapped[float] = mapped_column(Float, default=1.0)
    access_count: Mapped[int] = mapped_column(Integer, default=0)
    related_memories: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    # A vector the caller supplied in MemoryMetadata.embedding, kept as given.
    embedding: Mapped[list[float] | None] = mapped_column(JsonDocument)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_accessed: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When pruning archived it (None: active); archived memories are out of every read.
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    tags: Mapped[list[MemoryTag]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="MemoryTag.position",
    )


@event.listens_for(Message.content, "set")
@event.listens_for(Memory.content, "set")
def _content_set(target: Message | Memory, value: str | None, *_: Any) -> None:
    """Keep ``search_text`` in step when an ORM object's content is set."""
    target.search_text = None if value is None else index_text(value)


class MemoryTag(Base):
    """One tag of a memory; a table of its own so tag filters use an index."""

    __tablename__ = "memory_tags"
    __table_args__ = (Index("ix_memory_tags_tag_memory_pk", "tag", "memory_pk"),)

    memory_pk: Mapped[int] = mapped_column(
        SurrogateKey, ForeignKey("memories.pk", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag: Mapped[str] = mapped_column(String(ID_LENGTH))


class EmbeddingModel(Base):
    """An embedding model the store has indexed with (its key names model, version, size)."""

    __tablename__ = "embedding_models"

    key: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    dimensions: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)


class EmbeddingJob(Base):
    """An item waiting to be embedded with a model (the transactional outbox of the write path)."""

    __tablename__ = "embedding_jobs"
    __table_args__ = (
        UniqueConstraint("message_pk", "model_key"),
        UniqueConstraint("memory_pk", "model_key"),
        CheckConstraint("(message_pk IS NULL) <> (memory_pk IS NULL)", name="one_item"),
        Index("ix_embedding_jobs_model_key_available_at", "model_key", "available_at"),
    )

    pk: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    message_pk: Mapped[int | None] = mapped_column(
        SurrogateKey, ForeignKey("messages.pk", ondelete="CASCADE")
    )
    memory_pk: Mapped[int | None] = mapped_column(
        SurrogateKey, ForeignKey("memories.pk", ondelete="CASCADE")
    )
    model_key: Mapped[str] = mapped_column(String(ID_LENGTH))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    enqueued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    available_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)


class Embedding(Base):
    """The vector of one message or memory under one model, with the fields searches filter on.

    The system of record for vectors (and the cache: identical text under the same model is
    never embedded twice). On PostgreSQL with pgvector, a generated ``embedding`` column and
    an HNSW index are added by the migrations (not mapped here).
    """

    __tablename__ = "embeddings"
    __table_args__ = (
        UniqueConstraint("message_pk", "model_key"),
        UniqueConstraint("memory_pk", "model_key"),
        CheckConstraint("(message_pk IS NULL) <> (memory_pk IS NULL)", name="one_item"),
        Index("ix_embeddings_model_key_content_hash", "model_key", "content_hash"),
        Index("ix_embeddings_model_key_user_id_timestamp", "model_key", "user_id", "timestamp"),
        Index("ix_embeddings_model_key_conversation_id", "model_key", "conversation_id"),
        # Keys only grow: in-memory matrices detect changes by (count, max key).
        {"sqlite_autoincrement": True},
    )

    pk: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    message_pk: Mapped[int | None] = mapped_column(
        SurrogateKey, ForeignKey("messages.pk", ondelete="CASCADE")
    )
    memory_pk: Mapped[int | None] = mapped_column(
        SurrogateKey, ForeignKey("memories.pk", ondelete="CASCADE")
    )
    model_key: Mapped[str] = mapped_column(String(ID_LENGTH))
    content_hash: Mapped[str] = mapped_column(String(64))
    dimensions: Mapped[int] = mapped_column(Integer)
    vector: Mapped[npt.NDArray[np.float32]] = mapped_column(FloatVector)
    user_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    conversation_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    role: Mapped[str | None] = mapped_column(String(32))
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)


class Summary(Base):
    """A summary of a contiguous span of one conversation (see
    :mod:`bruno_memory.context.summaries`).

    The span's end messages are foreign keys that cascade: a summary never outlives a
    message it starts or ends on (clearing a history or erasing a user removes it).
    """

    __tablename__ = "summaries"
    __table_args__ = (
        # One summary per level starts at a message: two runs racing cannot both land.
        UniqueConstraint("conversation_id", "level", "first_message_pk"),
        Index("ix_summaries_conversation_id_covered_by", "conversation_id", "covered_by"),
        Index("ix_summaries_user_id_created_at", "user_id", "created_at"),
    )

    pk: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    conversation_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE")
    )
    user_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    level: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    first_message_pk: Mapped[int] = mapped_column(
        SurrogateKey, ForeignKey("messages.pk", ondelete="CASCADE"), index=True
    )
    last_message_pk: Mapped[int] = mapped_column(
        SurrogateKey, ForeignKey("messages.pk", ondelete="CASCADE"), index=True
    )
    first_seq: Mapped[int] = mapped_column(SurrogateKey)
    span_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    span_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    message_count: Mapped[int] = mapped_column(Integer)
    source_ids: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    covered_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("summaries.id", ondelete="SET NULL"), index=True
    )
    model: Mapped[str] = mapped_column(String(ID_LENGTH))
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
