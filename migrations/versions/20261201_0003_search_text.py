"""Full text indexes what the application normalized: a ``search_text`` column.

The FTS5 tables (SQLite) and the ``search_vector`` columns (PostgreSQL) indexed ``content``
as the engine read it: decomposed accents, "İ" and compatibility forms did not match their
usual spelling, and on PostgreSQL a message longer than what a ``tsvector`` holds (1 MB)
could not be stored at all. They now index ``search_text``: the normalized words of the
content, at most ``MAX_INDEXED_BYTES`` of them (:func:`bruno_memory.text.index_text`),
written by the application with every row. This revision adds the column, fills it for the
existing rows (re-indexing them) and rebuilds the indexes over it.

Offline (``alembic upgrade --sql``) the rule cannot run: existing rows get their content
as ``search_text`` (searchable as before, not normalized); new rows are normalized.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from bruno_memory.text import index_text

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FULLTEXT_TABLES = ("messages", "memories")
#: Rows re-indexed per round trip.
BATCH_SIZE = 500
#: On downgrade, PostgreSQL indexes at most this many characters of ``content`` again (at
#: 4 bytes each and 5 bytes of ``tsvector`` per byte, what always fits in 1 MB).
DOWNGRADE_POSTGRES_CHARACTERS = 50_000


def upgrade() -> None:
    for table in FULLTEXT_TABLES:
        _drop_fulltext(table)
        op.add_column(table, sa.Column("search_text", sa.Text(), nullable=True))
        _fill_search_text(table)
        _create_fulltext(table, column="search_text", tokenizer="remove_diacritics 0")


def downgrade() -> None:
    for table in FULLTEXT_TABLES:
        _drop_fulltext(table)
        if op.get_context().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN search_text")
        else:
            op.drop_column(table, "search_text")
        _create_fulltext(table, column="content", tokenizer="remove_diacritics 2")


def _fill_search_text(table: str) -> None:
    """Write each existing row's ``search_text``, in batches of primary keys."""
    if context.is_offline_mode():
        op.execute(f"UPDATE {table} SET search_text = content")
        return
    bind = op.get_bind()
    rows = sa.table(table, sa.column("pk", sa.Integer()), sa.column("content", sa.Text()))
    target = sa.table(table, sa.column("pk", sa.Integer()), sa.column("search_text", sa.Text()))
    statement = (
        sa.update(target)
        .where(target.c.pk == sa.bindparam("row_pk"))
        .values(search_text=sa.bindparam("text"))
    )
    last = None
    while True:
        page = sa.select(rows.c.pk, rows.c.content).order_by(rows.c.pk).limit(BATCH_SIZE)
        if last is not None:
            page = page.where(rows.c.pk > last)
        found = bind.execute(page).all()
        if not found:
            return
        bind.execute(statement, [{"row_pk": pk, "text": index_text(text)} for pk, text in found])
        last = found[-1][0]


def _create_fulltext(table: str, *, column: str, tokenizer: str) -> None:
    """The full-text index of ``table`` over ``column`` (as revision 0001 built it over
    ``content``)."""
    if op.get_context().dialect.name == "sqlite":
        fts = f"{table}_fts"
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, content='{table}', "
            f"content_rowid='pk', tokenize='porter unicode61 {tokenizer}')"
        )
        insert = f"INSERT INTO {fts}(rowid, {column}) VALUES (new.pk, new.{column});"
        delete = (
            f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.pk, old.{column});"
        )
        op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END")
        op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END")
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {column} ON {table} "
            f"BEGIN {delete} {insert} END"
        )
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
    else:
        source = (
            column if column != "content" else f"left(content, {DOWNGRADE_POSTGRES_CHARACTERS})"
        )
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS (to_tsvector('english'::regconfig, {source})) STORED"
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
