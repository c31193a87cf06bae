"""Memory read indexes: every memory read of a user walks an index in its own order.

- ``(user_id, archived_at, pk)`` replaces ``(user_id, archived_at)``: a user's archived
  memories, the most recently archived first (``archived_memories``), read in the index's
  order, without a sort (SQLite's index held ``pk`` implicitly; PostgreSQL's did not).
- ``(user_id, importance, created_at, pk)``: the most important memories first, newest
  first among equals (``MEMORY_ORDER``: ``retrieve_memories`` without a query, the context's
  ``importance`` strategy) read as the first rows of an index scan, not a sort of all of the
  user's memories.

Nothing is copied or changed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ARCHIVED = "ix_memories_user_id_archived_at"
_ARCHIVED_PK = "ix_memories_user_id_archived_at_pk"
_IMPORTANCE = "ix_memories_user_id_importance_created_at_pk"


def upgrade() -> None:
    op.create_index(_ARCHIVED_PK, "memories", ["user_id", "archived_at", "pk"])
    op.drop_index(_ARCHIVED, table_name="memories")
    op.create_index(_IMPORTANCE, "memories", ["user_id", "importance", "created_at", "pk"])


def downgrade() -> None:
    op.drop_index(_IMPORTANCE, table_name="memories")
    op.create_index(_ARCHIVED, "memories", ["user_id", "archived_at"])
    op.drop_index(_ARCHIVED_PK, table_name="memories")
