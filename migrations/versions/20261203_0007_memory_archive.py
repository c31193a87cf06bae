"""Memory archive: pruning archives memories instead of deleting them.

``memories.archived_at`` (nullable: existing memories are active), with an index on
``(user_id, archived_at)`` for the reads that leave archived memories out and for
``archived_memories``. Nothing is copied or changed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_memories_user_id_archived_at"


def upgrade() -> None:
    op.add_column("memories", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(_INDEX, "memories", ["user_id", "archived_at"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="memories")
    # In place on SQLite (3.35+): a batch copy of the table would cascade to its tags.
    if op.get_context().dialect.name == "sqlite":
        op.execute("ALTER TABLE memories DROP COLUMN archived_at")
    else:
        op.drop_column("memories", "archived_at")
