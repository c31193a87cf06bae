"""summaries: what compression writes, one row per summarized span of a conversation.

A summary's first and last messages are foreign keys that cascade, so clearing a history
or erasing a user removes the summaries citing it in the same statement; a higher-level
summary covers its sources through ``covered_by``. Messages are not touched.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "summaries",
        sa.Column("pk", _KEY, autoincrement=True, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("first_message_pk", _KEY, nullable=False),
        sa.Column("last_message_pk", _KEY, nullable=False),
        sa.Column("first_seq", _KEY, nullable=False),
        sa.Column("span_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("span_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("source_ids", _JSON, nullable=False),
        sa.Column("covered_by", sa.Uuid(), nullable=True),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_summaries_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["covered_by"],
            ["summaries.id"],
            name=op.f("fk_summaries_covered_by_summaries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["first_message_pk"],
            ["messages.pk"],
            name=op.f("fk_summaries_first_message_pk_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_message_pk"],
            ["messages.pk"],
            name=op.f("fk_summaries_last_message_pk_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_summaries")),
        sa.UniqueConstraint(
            "conversation_id",
            "level",
            "first_message_pk",
            name=op.f("uq_summaries_conversation_id_level_first_message_pk"),
        ),
        sa.UniqueConstraint("id", name=op.f("uq_summaries_id")),
    )
    with op.batch_alter_table("summaries") as batch_op:
        batch_op.create_index(
            "ix_summaries_conversation_id_covered_by", ["conversation_id", "covered_by"]
        )
        batch_op.create_index(batch_op.f("ix_summaries_first_message_pk"), ["first_message_pk"])
        batch_op.create_index(batch_op.f("ix_summaries_last_message_pk"), ["last_message_pk"])
        batch_op.create_index(batch_op.f("ix_summaries_covered_by"), ["covered_by"])
        batch_op.create_index("ix_summaries_user_id_created_at", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_table("summaries")
