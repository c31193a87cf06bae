"""The ``bruno-memory`` command line, run as a user runs it (``python -m bruno_memory``) on
each SQL target's fresh database: the schema commands, the listings, and exit codes."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from bruno_core.models.message import Message, MessageRole
from sqlalchemy import text
from typer.testing import CliRunner, Result

from bruno_memory import Capability, Memory
from bruno_memory.adapters.embeddings import HashingEmbedder
from bruno_memory.analytics.report import CHARTS
from bruno_memory.cli.app import app
from bruno_memory.db import migrate
from bruno_memory.db.engine import create_engine
from bruno_memory.ports.embedding import embedder_key
from bruno_memory.settings import MemorySettings
from tests.conformance.helpers import memory_entry

pytestmark = [pytest.mark.one_per_database, pytest.mark.requires(Capability.MIGRATIONS)]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the command line without the library's settings variables (each test passes
    --url; no cache is configured)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BRUNO_MEMORY_")}
    return subprocess.run(
        [sys.executable, "-m", "bruno_memory", *args],
        env={**environment, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def invoke(*args: str, settings: Mapping[str, str] | None = None) -> Result:
    """Run a command in this process (typer's runner, in a worker thread: a command runs
    its own event loop), as ``cli`` does but without starting Python again; ``settings``:
    the only ``BRUNO_MEMORY_*`` variables it sees."""
    environment: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith("BRUNO_MEMORY_")
    }
    runner = CliRunner(env={**environment, **(settings or {}), "COLUMNS": "200"})
    return await asyncio.to_thread(runner.invoke, app, list(args))


def json_lines(result: subprocess.CompletedProcess[str] | Result) -> list[dict[str, Any]]:
    code = (
        result.returncode if isinstance(result, subprocess.CompletedProcess) else result.exit_code
    )
    assert code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_db_commands_move_the_schema_and_say_where_it_is(fresh_url: str) -> None:
    head = migrate.head_revision()
    assert cli("db", "current", "--url", fresh_url).stdout.strip() == "base (empty)"
    checked = cli("db", "check", "--url", fresh_url)
    assert checked.returncode == 1
    assert f"not head {head}" in checked.stderr

    assert cli("db", "upgrade", "--url", fresh_url).stdout.strip() == f"at revision {head}"
    assert cli("db", "current", "--url", fresh_url).stdout.strip() == f"{head} (head)"
    assert cli("db", "check", "--url", fresh_url).returncode == 0
    assert cli("db", "history").stdout.splitlines()[0].startswith(f"{head}  ")

    downgraded = cli("db", "downgrade", "base", "--url", fresh_url)
    assert downgraded.stdout.strip() == "at revision base (empty)"
    assert cli("db", "current", "--url", fresh_url).stdout.strip() == "base (empty)"


async def test_ls_lists_what_the_store_holds(fresh_url: str, uid: str) -> None:
    async with Memory(fresh_url, embedder=None) as memory:
        session = await memory.create_session(uid)
        for n in range(3):
            await memory.store_message(
                Message(role=MessageRole.USER, content=f"message {n}"), session.conversation_id
            )
        await memory.store_memory(memory_entry(uid, "likes tea"))

    users = json_lines(cli("ls", "users", "--json", "--url", fresh_url))
    assert [user["user_id"] for user in users] == [uid]
    conversations = json_lines(cli("ls", "conversations", uid, "--json", "--url", fresh_url))
    assert [c["conversation_id"] for c in conversations] == [session.conversation_id]
    sessions = json_lines(cli("ls", "sessions", uid, "--active", "--json", "--url", fresh_url))
    assert [s["session_id"] for s in sessions] == [session.session_id]
    assert json_lines(cli("ls", "sessions", uid, "--ended", "--json", "--url", fresh_url)) == []
    messages = cli(
        "ls", "messages", session.conversation_id, "--json", "--limit", "2", "--url", fresh_url
    )
    assert [m["content"] for m in json_lines(messages)] == ["message 0", "message 1"]
    memories = json_lines(cli("ls", "memories", uid, "--json", "--url", fresh_url))
    assert [m["content"] for m in memories] == ["likes tea"]
    table = cli("ls", "memories", uid, "--url", fresh_url)
    assert table.returncode == 0
    assert "likes tea" in table.stdout

    found = cli("search", "tea", "--user", uid, "--mode", "fulltext", "--json", "--url", fresh_url)
    assert [(hit["kind"], hit["content"]) for hit in json_lines(found)] == [("memory", "likes tea")]
    [statistics] = json_lines(cli("stats", uid, "--json", "--url", fresh_url))
    assert (statistics["total_messages"], statistics["memories"]) == (3, 1)
    assert cli("search", "tea", "--mode", "fuzzy", "--url", fresh_url).returncode == 2


async def test_report_and_stats_give_the_analytics(
    fresh_url: str, uid: str, tmp_path: Path
) -> None:
    monday = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    async with Memory(fresh_url, embedder=None) as memory:
        session = await memory.create_session(uid)
        await memory.store_messages(
            [
                Message(role=MessageRole.USER, content="A Lisbon trip?", timestamp=monday),
                Message(role=MessageRole.ASSISTANT, content="Lisbon in spring", timestamp=monday),
            ],
            session.conversation_id,
        )

    out = tmp_path / "report.html"
    since = ("--since", "2026-01-01")
    written = cli("report", "--out", str(out), "--user", uid, *since, "--url", fresh_url)
    assert written.returncode == 0, written.stderr
    page = out.read_text(encoding="utf-8")
    assert all(f'<svg id="{chart}"' in page for chart in CHARTS)
    assert ">lisbon<" in page
    [statistics] = json_lines(cli("stats", uid, *since, "--json", "--url", fresh_url))
    assert statistics["total_messages"] == 2
    analytics = statistics["analytics"]
    assert analytics["topics"]["keywords"][0] == {"word": "lisbon", "count": 2}
    assert analytics["patterns"]["turn_taking"]["user_to_assistant_share"] == 1.0
    assert analytics["growth"]["messages"] == [{"day": "2026-01-05", "count": 2}]
    everyone = cli("stats", "--url", fresh_url)  # the whole store, as a table
    assert everyone.returncode == 0, everyone.stderr
    assert "lisbon (2)" in everyone.stdout
    unwritable = cli("report", "--out", str(tmp_path / "no" / "r.html"), "--url", fresh_url)
    assert (unwritable.returncode, unwritable.stderr[:6]) == (1, "error:")


def test_a_mistake_is_one_line_and_a_usage_error_is_exit_2(fresh_url: str) -> None:
    unmigrated = cli("ls", "users", "--url", fresh_url)
    assert unmigrated.returncode == 1
    assert unmigrated.stderr.startswith("error: ")
    assert "Traceback" not in unmigrated.stderr
    bad_url = cli("db", "current", "--url", "nosuchdriver://x")
    assert bad_url.returncode == 1
    assert "Traceback" not in bad_url.stderr
    assert cli("ls", "nope").returncode == 2
    assert cli("db", "downgrade").returncode == 2  # the revision is required


def test_doctor_says_what_each_part_is_and_fails_on_a_broken_one(fresh_url: str) -> None:
    before = cli("doctor", "--json", "--url", fresh_url)
    assert before.returncode == 1
    parts = {row["part"]: row["status"] for row in map(json.loads, before.stdout.splitlines())}
    assert (parts["store"], parts["schema"], parts["database"]) == ("failed", "failed", "ok")

    assert cli("db", "upgrade", "--url", fresh_url).returncode == 0
    after = json_lines(cli("doctor", "--json", "--url", fresh_url))
    parts = {row["part"]: row["status"] for row in after}
    assert parts["store"] == parts["schema"] == parts["full text"] == "ok"
    assert parts["cache"] == "not configured"
    dialect = "SQLite" if fresh_url.startswith("sqlite") else "PostgreSQL"
    assert next(r for r in after if r["part"] == "database")["detail"].startswith(dialect)


async def test_doctor_shows_vector_search_and_the_embedding_models(
    fresh_url: str, uid: str
) -> None:
    await _store_conversation(fresh_url, uid, 3)
    async with Memory(fresh_url, embedder=HashingEmbedder(32)) as memory:
        await memory.wait_for_embeddings()
    qdrant = {"BRUNO_MEMORY_VECTOR_URL": "qdrant+local://"}
    rows = json_lines(await invoke("doctor", "--json", "--url", fresh_url, settings=qdrant))
    found = {row["part"]: (row["status"], row["detail"]) for row in rows}
    key = embedder_key(HashingEmbedder(32))
    assert found["embedding model"] == ("ok", f"{key}: 4 vectors, 0 queued")
    assert found["vector store"] == ("ok", "qdrant: 0 vectors")
    status, search = found["vector search"]
    assert status == "ok"
    if found.get("pgvector", ("",))[0] == "ok":
        assert search.startswith("pgvector column; HNSW index for 384 dimensions")
    else:
        assert search.endswith("exact, over in-memory matrices (numpy)")
    plain = json_lines(await invoke("doctor", "--json", "--url", fresh_url))
    assert {row["part"]: row["status"] for row in plain}["vector store"] == "not configured"


async def _store_conversation(url: str, uid: str, messages: int) -> None:
    async with Memory(url, embedder=None) as memory:
        session = await memory.start_session(uid, conversation_id=f"{uid}-c")
        await memory.store_messages(
            [Message(role=MessageRole.USER, content=f"message {n}") for n in range(messages)],
            session.conversation_id,
        )
        await memory.store_memory(memory_entry(uid, "likes tea", tags=["drinks"]))


def _records(path: Path) -> list[str]:
    """The records of an export (its header left out), in a canonical order."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return sorted(json.dumps(json.loads(line), sort_keys=True) for line in lines)


async def test_export_and_import_round_trip_a_store(
    fresh_url: str, uid: str, tmp_path: Path
) -> None:
    await _store_conversation(fresh_url, uid, 5)
    exported = await invoke("export", str(tmp_path / "a.jsonl"), "--json", "--url", fresh_url)
    counts = {row["kind"]: row["records"] for row in json_lines(exported)}
    assert counts == {"user": 1, "conversation": 1, "session": 1, "message": 5, "memory": 1}

    target = f"sqlite+aiosqlite:///{tmp_path / 'target.db'}"
    backup = str(tmp_path / "a.jsonl")
    imported = json_lines(await invoke("import", backup, "--json", "--url", target))
    assert {row["kind"]: row["inserted"] for row in imported} == counts
    again = json_lines(await invoke("import", backup, "--json", "--url", target))
    assert {row["kind"]: row["unchanged"] for row in again} == counts
    assert (await invoke("export", str(tmp_path / "b.jsonl.gz"), "--url", target)).exit_code == 0
    with gzip.open(tmp_path / "b.jsonl.gz", "rt", encoding="utf-8") as stream:
        (tmp_path / "b.jsonl").write_text(stream.read(), encoding="utf-8")
    assert _records(tmp_path / "b.jsonl") == _records(tmp_path / "a.jsonl")

    table = await invoke("export", str(tmp_path / "m.csv"), "--csv", "messages", "--url", target)
    assert table.exit_code == 0, table.stderr
    rows = list(csv.DictReader((tmp_path / "m.csv").open(encoding="utf-8")))
    assert [row["content"] for row in rows] == [f"message {n}" for n in range(5)]


def test_a_bad_import_file_is_one_line_naming_it(fresh_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"kind": "header", "exported_at": "2026-12-01T00:00:00Z", '
        '"source_backend": "sqlite"}\n{"kind": "user"}\n',
        encoding="utf-8",
    )
    result = cli("import", str(path), "--url", fresh_url)
    assert result.returncode == 1
    assert result.stderr.startswith("error: line 2: not a record")
    assert "Traceback" not in result.stderr


def _count_messages(path: Path) -> int:
    try:
        with sqlite3.connect(path) as connection:
            return int(connection.execute("SELECT count(*) FROM messages").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet


def _kill_once(arguments: list[str], started: Callable[[], bool]) -> None:
    """Run the command and kill it (SIGKILL) as soon as it has ``started`` landing work."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BRUNO_MEMORY_")}
    command = [sys.executable, "-m", "bruno_memory", *arguments, "--batch-size", "20"]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not started() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


async def test_copy_verifies_and_resumes_after_being_killed(
    fresh_url: str, uid: str, tmp_path: Path
) -> None:
    """A copy killed half way, run again, ends verified with every record once."""
    total = 3000
    await _store_conversation(fresh_url, uid, total)
    target_path = tmp_path / "copy.db"
    target = f"sqlite+aiosqlite:///{target_path}"
    copying = ["copy", fresh_url, target]
    await asyncio.to_thread(_kill_once, copying, lambda: _count_messages(target_path) > 0)
    landed = _count_messages(target_path)
    assert 0 < landed < total, "the copy was not interrupted half way"

    resumed = json_lines(cli("copy", fresh_url, target, "--json"))
    by_kind = {row["kind"]: row for row in resumed}
    assert by_kind["message"]["records"] == total
    assert by_kind["message"]["copied"] == total - landed
    assert _count_messages(target_path) == total


async def test_erase_user_deletes_what_they_own_once_confirmed(fresh_url: str, uid: str) -> None:
    await _store_conversation(fresh_url, uid, 3)
    refused = await invoke("erase-user", uid, "--url", fresh_url)  # stdin is no terminal
    assert (refused.exit_code, refused.stderr.strip()) == (
        2,
        "error: erasing a user cannot be undone: pass --yes",
    )

    erased = json_lines(await invoke("erase-user", uid, "--yes", "--json", "--url", fresh_url))
    assert {row["kind"]: row["deleted"] for row in erased} == {
        "messages": 3,
        "memories": 1,
        "sessions": 1,
        "conversations": 1,
        "users": 1,
    }
    async with Memory(fresh_url, embedder=None) as memory:
        assert (await memory.get_statistics(uid))["total_messages"] == 0
    again = json_lines(await invoke("erase-user", uid, "--yes", "--json", "--url", fresh_url))
    assert {row["deleted"] for row in again} == {0}


def _vectors_per_model(url: str) -> dict[str, int]:
    """Rows of ``embeddings`` per model key, read with SQL straight from the database."""

    async def read() -> dict[str, int]:
        engine = create_engine(MemorySettings(database_url=url))
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT model_key, count(*) FROM embeddings GROUP BY model_key")
                )
                return {str(key): int(count) for key, count in rows.all()}
        finally:
            await engine.dispose()

    return asyncio.run(read())


async def test_reembed_moves_every_item_to_a_new_model(fresh_url: str, uid: str) -> None:
    async with Memory(fresh_url, embedder=HashingEmbedder(32)) as memory:
        session = await memory.create_session(uid)
        words = ("jazz club tonight", "quiet library", "mountain hike", "fresh bread")
        await memory.store_messages(
            [Message(role=MessageRole.USER, content=text) for text in words],
            session.conversation_id,
        )
        await memory.store_memory(memory_entry(uid, "likes green tea"))
        await memory.wait_for_embeddings()
    old, new = embedder_key(HashingEmbedder(32)), embedder_key(HashingEmbedder(64))
    assert await asyncio.to_thread(_vectors_per_model, fresh_url) == {old: 5}

    moved = await invoke("reembed", "--model", "hashing:64", "--json", "--url", fresh_url)
    [row] = json_lines(moved)
    assert (row["model"], row["embedded"], row["dropped"]) == (new, 5, 0)
    async with Memory(fresh_url, embedder=HashingEmbedder(64)) as memory:
        assert await memory.embedding_backlog() == 0
        [hit, *_] = await memory.search("green tea", user_id=uid, mode="semantic")
        assert hit.memory is not None
        assert hit.memory.content == "likes green tea"
    assert await asyncio.to_thread(_vectors_per_model, fresh_url) == {old: 5, new: 5}

    dropped = await invoke(
        "reembed", "--model", "hashing:64", "--drop-others", "--json", "--url", fresh_url
    )
    assert [(r["model"], r["embedded"], r["dropped"]) for r in json_lines(dropped)] == [
        (new, 0, 0),
        (old, 0, 5),
    ]
    assert await asyncio.to_thread(_vectors_per_model, fresh_url) == {new: 5}
    assert (await invoke("reembed", "--model", "hashing:x", "--url", fresh_url)).exit_code == 2


async def test_reembed_goes_on_after_being_killed(fresh_url: str, uid: str) -> None:
    """A reembed killed half way, run again, embeds what is left; every item once."""
    items = 3000 + 1  # messages and a memory
    await _store_conversation(fresh_url, uid, items - 1)
    key = embedder_key(HashingEmbedder(16))
    arguments = ["reembed", "--model", "hashing:16", "--url", fresh_url]

    def embedded() -> int:
        return _vectors_per_model(fresh_url).get(key, 0)

    await asyncio.to_thread(_kill_once, arguments, lambda: embedded() > 0)
    landed = await asyncio.to_thread(embedded)
    assert 0 < landed < items, "the reembed was not interrupted half way"

    [row] = json_lines(await invoke(*arguments, "--json"))
    assert row["embedded"] == items - landed
    assert await asyncio.to_thread(_vectors_per_model, fresh_url) == {key: items}
