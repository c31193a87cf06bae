"""Listing indexes: every listing of a user's items is a range of an index in its order.

- ``(user_id, id)`` on ``conversations`` replaces ``(user_id)``: a user's conversations by
  id, the keyset pages of ``list_conversations``, without a sort.
- ``(user_id, id)`` on ``sessions``: a user's sessions by id (``list_sessions``).
- ``(user_id, created_at, id)`` on ``memories`` replaces ``(user_id, created_at)``: a user's
  memories by creation then id (``iter_memories``); it serves every read the old one did.

Nothing is copied or changed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONVERSATIONS = "ix_conversations_user_id"
_CONVERSATIONS_ID = "ix_conversations_user_id_id"
_SESSIONS_ID = "ix_sessions_user_id_id"
_MEMORIES = "ix_memories_user_id_created_at"
_MEMORIES_ID = "ix_memories_user_id_created_at_id"


def upgrade() -> None:
    op.create_index(_CONVERSATIONS_ID, "conversations", ["user_id", "id"])
    op.drop_index(_CONVERSATIONS, table_name="conversations")
    op.create_index(_SESSIONS_ID, "sessions", ["user_id", "id"])
    op.create_index(_MEMORIES_ID, "memories", ["user_id", "created_at", "id"])
    op.drop_index(_MEMORIES, table_name="memories")


def downgrade() -> None:
    op.create_index(_MEMORIES, "memories", ["user_id", "created_at"])
    op.drop_index(_MEMORIES_ID, table_name="memories")
    op.drop_index(_SESSIONS_ID, table_name="sessions")
    op.create_index(_CONVERSATIONS, "conversations", ["user_id"])
    op.drop_index(_CONVERSATIONS_ID, table_name="conversations")
