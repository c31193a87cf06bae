"""The ``bruno-memory`` command line, run as a user runs it (``python -m bruno_memory``) on
each SQL target's fresh database: the schema commands, the listings, and exit codes."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bruno_core.models.message import Message, MessageRole

from bruno_memory import Capability, Memory
from bruno_memory.analytics.report import CHARTS
from bruno_memory.db import migrate
from tests.conformance.helpers import memory_entry

pytestmark = [pytest.mark.file_databases, pytest.mark.requires(Capability.MIGRATIONS)]


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


def json_lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert result.returncode == 0, result.stderr
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
