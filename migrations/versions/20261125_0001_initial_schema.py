"""Initial schema: users, conversations, sessions, messages, memories, tags, full-text indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=255)
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC = sa.DateTime(timezone=True)

FULLTEXT_TABLES = ("messages", "memories")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", ID, nullable=True),
        sa.Column("preferences", JSON, nullable=False),
        sa.Column("profile", JSON, nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_active", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "conversations",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("last_seq", KEY, nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_conversations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    op.create_index(op.f("ix_conversations_user_id"), "conversations", ["user_id"])

    op.create_table(
        "sessions",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("last_activity", UTC, nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_sessions_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_conversation_id"), "sessions", ["conversation_id"])
    op.create_index(
        "ix_sessions_user_id_is_active_last_activity",
        "sessions",
        ["user_id", "is_active", "last_activity"],
    )

    op.create_table(
        "messages",
        sa.Column("pk", KEY, autoincrement=True, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("seq", KEY, nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("message_type", sa.String(length=32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("timestamp", UTC, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_messages")),
        sa.UniqueConstraint("conversation_id", "seq", name=op.f("uq_messages_conversation_id_seq")),
        sa.UniqueConstraint("id", name=op.f("uq_messages_id")),
    )
    op.create_index(op.f("ix_messages_parent_id"), "messages", ["parent_id"])
    op.create_index(
        "ix_messages_conversation_id_role_seq", "messages", ["conversation_id", "role", "seq"]
    )
    op.create_index("ix_messages_user_id_timestamp", "messages", ["user_id", "timestamp"])

    op.create_table(
        "memories",
        sa.Column("pk", KEY, autoincrement=True, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=True),
        sa.Column("memory_type", sa.String(length=32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source", ID, nullable=False),
        sa.Column("category", ID, nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("importance", sa.Float(), nullable=False),
        sa.Column("access_count", sa.Integer(), nullable=False),
        sa.Column("related_memories", JSON, nullable=False),
        sa.Column("custom_fields", JSON, nullable=False),
        sa.Column("embedding", JSON, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("last_accessed", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memories_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_memories")),
        sa.UniqueConstraint("id", name=op.f("uq_memories_id")),
    )
    op.create_index(op.f("ix_memories_conversation_id"), "memories", ["conversation_id"])
    op.create_index("ix_memories_user_id_category", "memories", ["user_id", "category"])
    op.create_index("ix_memories_user_id_created_at", "memories", ["user_id", "created_at"])
    op.create_index("ix_memories_user_id_expires_at", "memories", ["user_id", "expires_at"])
    op.create_index("ix_memories_user_id_memory_type", "memories", ["user_id", "memory_type"])

    op.create_table(
        "memory_tags",
        sa.Column("memory_pk", KEY, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tag", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["memory_pk"],
            ["memories.pk"],
            name=op.f("fk_memory_tags_memory_pk_memories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("memory_pk", "position", name=op.f("pk_memory_tags")),
    )
    op.create_index("ix_memory_tags_tag_memory_pk", "memory_tags", ["tag", "memory_pk"])

    for table in FULLTEXT_TABLES:
        _create_fulltext(table)


def downgrade() -> None:
    for table in FULLTEXT_TABLES:
        _drop_fulltext(table)
    op.drop_table("memory_tags")
    op.drop_table("memories")
    op.drop_table("messages")
    op.drop_table("sessions")
    op.drop_table("conversations")
    op.drop_table("users")


def _create_fulltext(table: str) -> None:
    if op.get_context().dialect.name == "sqlite":
        fts = f"{table}_fts"
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(content, content='{table}', "
            "content_rowid='pk', tokenize='porter unicode61 remove_diacritics 2')"
        )
        insert = f"INSERT INTO {fts}(rowid, content) VALUES (new.pk, new.content);"
        delete = f"INSERT INTO {fts}({fts}, rowid, content) VALUES ('delete', old.pk, old.content);"
        op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END")
        op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END")
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF content ON {table} "
            f"BEGIN {delete} {insert} END"
        )
    else:
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED"
        )
        op.execute(f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)")


def _drop_fulltext(table: str) -> None:
    if op.get_context().dialect.name == "sqlite":
        fts = f"{table}_fts"
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {fts}_{trigger}")
        op.execute(f"DROP TABLE IF EXISTS {fts}")
    else:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_vector")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
