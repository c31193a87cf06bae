"""Embeddings: vectors per item and model, the embedding job queue, pgvector when available.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "embedding_models",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_embedding_models")),
    )
    op.create_table(
        "embedding_jobs",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "message_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("memory_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("model_key", sa.String(length=255), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(message_pk IS NULL) <> (memory_pk IS NULL)", name=op.f("ck_embedding_jobs_one_item")
        ),
        sa.ForeignKeyConstraint(
            ["memory_pk"],
            ["memories.pk"],
            name=op.f("fk_embedding_jobs_memory_pk_memories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["messages.pk"],
            name=op.f("fk_embedding_jobs_message_pk_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_embedding_jobs")),
        sa.UniqueConstraint(
            "memory_pk", "model_key", name=op.f("uq_embedding_jobs_memory_pk_model_key")
        ),
        sa.UniqueConstraint(
            "message_pk", "model_key", name=op.f("uq_embedding_jobs_message_pk_model_key")
        ),
    )
    with op.batch_alter_table("embedding_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_embedding_jobs_model_key_available_at", ["model_key", "available_at"], unique=False
        )

    op.create_table(
        "embeddings",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column(
            "message_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("memory_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("model_key", sa.String(length=255), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column(
            "vector",
            sa.LargeBinary().with_variant(postgresql.ARRAY(sa.REAL()), "postgresql"),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("conversation_id", sa.String(length=255), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(message_pk IS NULL) <> (memory_pk IS NULL)", name=op.f("ck_embeddings_one_item")
        ),
        sa.ForeignKeyConstraint(
            ["memory_pk"],
            ["memories.pk"],
            name=op.f("fk_embeddings_memory_pk_memories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["messages.pk"],
            name=op.f("fk_embeddings_message_pk_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_embeddings")),
        sa.UniqueConstraint(
            "memory_pk", "model_key", name=op.f("uq_embeddings_memory_pk_model_key")
        ),
        sa.UniqueConstraint(
            "message_pk", "model_key", name=op.f("uq_embeddings_message_pk_model_key")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("embeddings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_embeddings_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            "ix_embeddings_model_key_content_hash", ["model_key", "content_hash"], unique=False
        )
        batch_op.create_index(
            "ix_embeddings_model_key_conversation_id",
            ["model_key", "conversation_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_embeddings_model_key_user_id_timestamp",
            ["model_key", "user_id", "timestamp"],
            unique=False,
        )

    _add_pgvector_index()


def downgrade() -> None:
    with op.batch_alter_table("embeddings", schema=None) as batch_op:
        batch_op.drop_index("ix_embeddings_model_key_user_id_timestamp")
        batch_op.drop_index("ix_embeddings_model_key_conversation_id")
        batch_op.drop_index("ix_embeddings_model_key_content_hash")
        batch_op.drop_index(batch_op.f("ix_embeddings_item_id"))

    op.drop_table("embeddings")
    with op.batch_alter_table("embedding_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_embedding_jobs_model_key_available_at")

    op.drop_table("embedding_jobs")
    op.drop_table("embedding_models")


# The default model (all-MiniLM-L6-v2) has 384 dimensions; vectors of other sizes are
# searched exactly until a revision adds an index for them.
HNSW_DIMENSIONS = 384
HNSW_INDEX = f"ix_embeddings_embedding_hnsw_{HNSW_DIMENSIONS}"


def _add_pgvector_index() -> None:
    """On PostgreSQL with pgvector available, add a generated ``vector`` column and an HNSW index.

    Without the extension (or the right to create it), vectors stay in ``real[]`` and are
    searched exactly; ``alembic upgrade`` is not blocked.
    """
    if op.get_context().dialect.name != "postgresql" or context.is_offline_mode():
        return
    bind = op.get_bind()
    installed = bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'vector'").scalar()
    if not installed:
        available = bind.exec_driver_sql(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
        ).scalar()
        if not available:
            return
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
        except sa.exc.DBAPIError:
            return  # no privilege to create it: stay on exact search
    op.execute(
        "ALTER TABLE embeddings ADD COLUMN embedding vector "
        "GENERATED ALWAYS AS (vector::vector) STORED"
    )
    op.execute(
        f"CREATE INDEX {HNSW_INDEX} ON embeddings USING hnsw "
        f"((embedding::vector({HNSW_DIMENSIONS})) vector_cosine_ops) "
        f"WITH (m = 16, ef_construction = 64) WHERE dimensions = {HNSW_DIMENSIONS}"
    )
