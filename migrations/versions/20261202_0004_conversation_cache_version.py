"""conversations.cache_version: the version cached views of a conversation are checked against.

Every write to a conversation's messages sets it to a new random value in the writing
transaction, so a reader can tell from the database itself whether a cached view is current
(see :mod:`bruno_memory.adapters.cache.redis`). Rows written before this revision keep NULL
until their next write (a version like any other: no write sets it back to NULL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("cache_version", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # Not a batch (copy and drop) on SQLite: dropping the table would cascade to the
    # conversations' messages and sessions. SQLite drops a column in place since 3.35.
    if op.get_context().dialect.name == "sqlite":
        op.execute("ALTER TABLE conversations DROP COLUMN cache_version")
    else:
        op.drop_column("conversations", "cache_version")
