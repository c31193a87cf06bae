"""Branches: a conversation may fork another at one of its messages.

``conversations.parent_id`` (indexed; not a foreign key, which SQLite could only add by
copying the table, cascading to its messages: a branch has its parent's owner and is erased
with that user), ``fork_seq`` (the last inherited position) and ``fork_message_id``.
Existing conversations are roots (all NULL). No message is copied or changed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INDEX = "ix_conversations_parent_id"
_COLUMNS = ("fork_message_id", "fork_seq", "parent_id")


def upgrade() -> None:
    op.add_column("conversations", sa.Column("parent_id", sa.String(length=255), nullable=True))
    op.add_column("conversations", sa.Column("fork_seq", _KEY, nullable=True))
    op.add_column("conversations", sa.Column("fork_message_id", sa.Uuid(), nullable=True))
    op.create_index(_INDEX, "conversations", ["parent_id"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="conversations")
    for column in _COLUMNS:
        # In place on SQLite (3.35+): a batch copy of the table would cascade to its messages.
        if op.get_context().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE conversations DROP COLUMN {column}")
        else:
            op.drop_column("conversations", column)
