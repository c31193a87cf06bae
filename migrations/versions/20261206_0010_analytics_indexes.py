"""Analytics index: ``(timestamp)`` on ``messages``.

The store-wide figures of a time window (``analytics(since=..., until=...)``: messages per
day, conversation lengths, turn-taking, active hours, the keyword sample) read the window's
messages as a range of this index instead of scanning every message. A user's window is
served by ``(user_id, timestamp)`` already; the other tables counted per day are far
smaller than ``messages``.

Nothing is copied or changed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MESSAGES_TIMESTAMP = "ix_messages_timestamp"


def upgrade() -> None:
    op.create_index(_MESSAGES_TIMESTAMP, "messages", ["timestamp"])


def downgrade() -> None:
    op.drop_index(_MESSAGES_TIMESTAMP, table_name="messages")
