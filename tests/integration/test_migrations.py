"""The Alembic chain on each dialect: upgrade, drift, downgrade, data kept, failures undone."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from bruno_memory import Capability, SchemaError, StorageError, create_memory
from bruno_memory.db import migrate
from bruno_memory.db.engine import create_engine
from bruno_memory.settings import MemorySettings
from tests.conformance.helpers import user_message

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.file_databases,
    pytest.mark.requires(Capability.MIGRATIONS),
]


async def table_names(url: str) -> set[str]:
    engine = create_engine(MemorySettings(database_url=url))
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_check_downgrade_upgrade(fresh_url: str) -> None:
    """head has no drift from the models; base removes every table; head again is clean."""
    engine = create_engine(MemorySettings(database_url=fresh_url))
    try:
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
        assert await migrate.schema_drift(engine) == []
        await migrate.downgrade(engine, "base")
        assert await table_names(fresh_url) == {"alembic_version"}
        await migrate.upgrade(engine)
        assert await migrate.schema_drift(engine) == []
    finally:
        await engine.dispose()


async def test_every_revision_downgrades_and_upgrades(fresh_url: str) -> None:
    """Each revision of the chain can be stepped down and up again."""
    revisions = [
        script.revision
        for script in ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions()
    ]
    engine = create_engine(MemorySettings(database_url=fresh_url))
    try:
        await migrate.upgrade(engine)
        for _ in revisions:
            await migrate.downgrade(engine, "-1")
        assert await migrate.current_revision(engine) is None
        for revision in reversed(revisions):
            await migrate.upgrade(engine, revision)
            assert await migrate.current_revision(engine) == revision
    finally:
        await engine.dispose()


async def test_upgrade_keeps_existing_data(fresh_url: str) -> None:
    """Rows written at the first revision are still there, and searchable, at head."""
    first = ScriptDirectory.from_config(migrate.alembic_config()).get_base()
    assert isinstance(first, str)
    when = dt.datetime(2023, 5, 8, 13, 56, tzinfo=dt.timezone.utc)
    message_id = uuid.uuid4()
    conversations = sa.table(
        "conversations",
        *(sa.column(name) for name in ("id", "last_seq", "metadata")),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    messages = sa.table(
        "messages",
        *(
            sa.column(name)
            for name in (
                "conversation_id",
                "seq",
                "role",
                "message_type",
                "content",
                "metadata",
                "state",
            )
        ),
        sa.column("id", sa.Uuid()),
        sa.column("timestamp", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    engine = create_engine(MemorySettings(database_url=fresh_url))
    try:
        await migrate.upgrade(engine, first)
        async with engine.begin() as connection:
            await connection.execute(
                conversations.insert().values(
                    id="c1", last_seq=1, metadata="{}", created_at=when, updated_at=when
                )
            )
            await connection.execute(
                messages.insert().values(
                    id=message_id,
                    conversation_id="c1",
                    seq=1,
                    role="user",
                    message_type="text",
                    content="written early",
                    metadata="{}",
                    state="active",
                    timestamp=when,
                    created_at=when,
                )
            )
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    async with create_memory(fresh_url, database_auto_migrate=False) as memory:
        stored = await memory.retrieve_messages("c1")
        assert [(m.id, m.content, m.timestamp) for m in stored] == [
            (message_id, "written early", when)
        ]
        assert len(await memory.search_messages("early")) == 1


async def test_search_text_revision_reindexes_existing_rows(fresh_url: str) -> None:
    """Rows written before revision 0003 are normalized and re-indexed by it (found by any
    spelling of their words), and again indexed by content after a downgrade."""
    when = dt.datetime(2024, 2, 1, 9, 30, tzinfo=dt.timezone.utc)
    contents = {"m1": "Trip to İstanbul", "m2": "my re\u0301sume\u0301 draft"}
    engine = create_engine(MemorySettings(database_url=fresh_url))
    try:
        await migrate.upgrade(engine, "0002")
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO users (id, preferences, profile, metadata, created_at, "
                    "last_active) VALUES ('u1', '{}', '{}', '{}', :when, :when)"
                ),
                {"when": when},
            )
            await connection.execute(
                sa.text(
                    "INSERT INTO conversations (id, user_id, last_seq, metadata, created_at, "
                    "updated_at) VALUES ('c1', 'u1', 2, '{}', :when, :when)"
                ),
                {"when": when},
            )
            for seq, content in enumerate(contents.values(), start=1):
                await connection.execute(
                    sa.insert(MESSAGES_0002),
                    {
                        "id": uuid.uuid4(),
                        "conversation_id": "c1",
                        "user_id": "u1",
                        "seq": seq,
                        "role": "user",
                        "message_type": "text",
                        "content": content,
                        "metadata": "{}",
                        "timestamp": when,
                        "created_at": when,
                        "state": "active",
                    },
                )
        await migrate.upgrade(engine)
        async with create_memory(fresh_url, database_auto_migrate=False) as memory:
            for query, content in (("istanbul", contents["m1"]), ("résumé", contents["m2"])):
                found = await memory.search_messages(query)
                assert [m.content for m in found] == [content], query
        await migrate.downgrade(engine, "0002")
        async with engine.connect() as connection:
            if "sqlite" in fresh_url:
                match = "SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'draft'"
            else:
                match = (
                    "SELECT pk FROM messages WHERE search_vector @@ to_tsquery('english', 'draft')"
                )
            assert len((await connection.execute(sa.text(match))).all()) == 1
        await migrate.upgrade(engine)
        assert await migrate.schema_drift(engine) == []
    finally:
        await engine.dispose()


MESSAGES_0002 = sa.table(
    "messages",
    sa.column("id", sa.Uuid()),
    *map(
        sa.column,
        ("conversation_id", "user_id", "seq", "role", "message_type", "content", "metadata"),
    ),
    sa.column("timestamp", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("state"),
)


async def test_failed_migration_leaves_no_trace(fresh_url: str) -> None:
    """A revision that fails half way is rolled back whole: no table, no version row."""
    engine = create_engine(MemorySettings(database_url=fresh_url))
    try:
        async with engine.begin() as connection:
            # The initial revision creates memory_tags late: make that step fail.
            await connection.execute(sa.text("CREATE TABLE memory_tags (x INTEGER)"))
        with pytest.raises(StorageError):
            await migrate.upgrade(engine)
        assert await table_names(fresh_url) == {"memory_tags"}
        assert await migrate.current_revision(engine) is None
    finally:
        await engine.dispose()


async def test_store_refuses_an_unmigrated_database(fresh_url: str) -> None:
    """With auto_migrate off, opening a database that is not at head raises SchemaError."""
    with pytest.raises(SchemaError):
        async with create_memory(fresh_url, database_auto_migrate=False):
            pass
    async with create_memory(fresh_url) as memory:
        await memory.store_message(user_message("now it works"), "c")
    async with create_memory(fresh_url, database_auto_migrate=False) as memory:
        assert len(await memory.retrieve_messages("c")) == 1


def run_alembic(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "BRUNO_MEMORY_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_alembic_command_line(fresh_url: str) -> None:
    """`alembic upgrade head`, `check` and `downgrade base` work from the repository root."""
    upgraded = run_alembic(fresh_url, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "messages" in await table_names(fresh_url)
    checked = run_alembic(fresh_url, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr
    downgraded = run_alembic(fresh_url, "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    assert await table_names(fresh_url) == {"alembic_version"}


def test_offline_sql_script(tmp_path: Path) -> None:
    """`alembic upgrade head --sql` prints the DDL without a database."""
    result = run_alembic(f"sqlite+aiosqlite:///{tmp_path / 'never.db'}", "upgrade", "head", "--sql")
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE messages" in result.stdout
    assert "CREATE VIRTUAL TABLE messages_fts USING fts5" in result.stdout
    assert not (tmp_path / "never.db").exists()
