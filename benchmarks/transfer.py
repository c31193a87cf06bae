"""Export, import and copy rates at scale, with each phase's peak memory.

::

    python -m benchmarks.transfer --quick          # 20,000 messages
    python -m benchmarks.transfer                  # 1,000,000 messages
    python -m benchmarks.transfer --messages 200000 --backends sqlite

A JSON Lines export of ``--messages`` messages (conversations of 1,000 messages, ten per
user, ~120 characters each) is written directly, then, each phase in a process of its own
so that its peak RSS is its own:

- ``import`` of the file into an empty SQLite file (``memory.import_file``), beside the
  reference: the same message rows inserted with the raw ``sqlite3`` driver
  (``executemany`` into the same migrated schema, its full-text triggers included);
- ``export`` of that store to a file (``memory.export``), beside the reference: the raw
  driver reading the rows in key order and writing each as JSON;
- ``copy`` of that store into PostgreSQL (``copy_store``, verified: both stores read again
  and compared), with the PostgreSQL of ``benchmarks/_servers.py``.

Targets (reported, never asserted), from the operations issue: export and import at least
20,000 messages/s with a peak RSS under 200 MB at 1M messages. Writes
``benchmarks/results/transfer.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.table import Table

from benchmarks._report import console, load_average, machine_info, now_iso, print_wall, write_json
from benchmarks._servers import open_backend
from bruno_memory import Memory, copy_store
from bruno_memory.text import index_text

OUT = Path("benchmarks/results/transfer.json")
PER_CONVERSATION = 1000
CONVERSATIONS_PER_USER = 10
STAMP = "2026-01-01T00:00:00+00:00"
RATE_TARGET = 20_000
RSS_TARGET_MB = 200


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.transfer", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 messages")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--backends", default="sqlite,postgres", help="postgres: the copy")
    parser.add_argument("--out", type=Path, default=OUT)
    return parser.parse_args(argv)


# -- the data ----------------------------------------------------------------------------------


def _message_text(n: int) -> str:
    return (
        f"message {n}: the assistant remembers the user's plans for trip {n % 97} and week {n % 52}"
    )


def write_export(path: Path, messages: int) -> None:
    """An export of ``messages`` messages, written line by line (no library involved)."""
    conversations = max(1, messages // PER_CONVERSATION)
    with path.open("w", encoding="utf-8") as out:
        header = {"kind": "header", "exported_at": STAMP, "source_backend": "synthetic"}
        out.write(json.dumps(header) + "\n")
        users = {f"user-{c // CONVERSATIONS_PER_USER}" for c in range(conversations)}
        for user in sorted(users):
            out.write(json.dumps(_user(user)) + "\n")
        for c in range(conversations):
            out.write(json.dumps(_conversation(c, min(PER_CONVERSATION, messages))) + "\n")
        for n in range(messages):
            out.write(json.dumps(_message(n)) + "\n")


def _user(user: str) -> dict[str, Any]:
    return {
        "kind": "user", "id": user, "name": None, "preferences": {}, "profile": {},
        "metadata": {}, "created_at": STAMP, "last_active": STAMP,
    }  # fmt: skip


def _conversation(c: int, length: int) -> dict[str, Any]:
    return {
        "kind": "conversation", "id": f"conversation-{c}",
        "user_id": f"user-{c // CONVERSATIONS_PER_USER}", "parent_id": None,
        "fork_message_id": None, "fork_position": None, "last_position": length,
        "metadata": {}, "created_at": STAMP, "updated_at": STAMP,
    }  # fmt: skip


def _message(n: int) -> dict[str, Any]:
    c = n // PER_CONVERSATION
    return {
        "kind": "message", "id": str(uuid.UUID(int=n + 1)), "conversation_id": f"conversation-{c}",
        "user_id": f"user-{c // CONVERSATIONS_PER_USER}", "position": n % PER_CONVERSATION + 1,
        "role": "user" if n % 2 == 0 else "assistant", "type": "text",
        "content": _message_text(n), "metadata": {"n": n}, "parent_id": None,
        "timestamp": STAMP, "created_at": STAMP, "archived": False,
    }  # fmt: skip


# -- the phases (each in its own process) ------------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _phase(name: str, arguments: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    if name == "import":
        url, path = arguments
        async with Memory(url, embedder=None) as memory:
            report = await memory.import_file(path)
        records = report.kinds["message"].inserted
    elif name == "export":
        url, path = arguments
        async with Memory(url, embedder=None) as memory:
            exported = await memory.export(path)
        records = exported.records["message"]
    elif name == "copy":
        source, target = arguments
        copied = await copy_store(source, target)
        records = copied.imported.kinds["message"].inserted
    elif name == "raw-import":
        database, path = arguments
        records = _raw_import(database, Path(path))
    else:
        database, path = arguments
        records = _raw_export(database, Path(path))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "messages": records, "peak_rss_mb": _peak_rss_mb()}


def _raw_import(database: str, path: Path) -> int:
    """The messages of the file inserted with sqlite3 (what a hand-written loader does)."""
    connection = sqlite3.connect(database)
    columns = (
        "id, conversation_id, user_id, seq, role, message_type, content, search_text, "
        "metadata, parent_id, timestamp, created_at, state"
    )
    statement = f"INSERT INTO messages ({columns}) VALUES ({', '.join('?' * 13)})"
    count = 0
    batch: list[tuple[Any, ...]] = []
    with path.open(encoding="utf-8") as lines, connection:
        for line in lines:
            record = json.loads(line)
            if record["kind"] in ("user", "conversation"):
                _raw_parent(connection, record)
            if record["kind"] != "message":
                continue
            batch.append(_raw_row(record))
            if len(batch) == 1000:
                connection.executemany(statement, batch)
                count += len(batch)
                batch.clear()
        connection.executemany(statement, batch)
    return count + len(batch)


def _raw_parent(connection: sqlite3.Connection, record: dict[str, Any]) -> None:
    if record["kind"] == "user":
        connection.execute(
            "INSERT INTO users (id, preferences, profile, metadata, created_at, last_active) "
            "VALUES (?, '{}', '{}', '{}', ?, ?)",
            (record["id"], STAMP, STAMP),
        )
    else:
        connection.execute(
            "INSERT INTO conversations (id, user_id, last_seq, metadata, created_at, updated_at) "
            "VALUES (?, ?, ?, '{}', ?, ?)",
            (record["id"], record["user_id"], record["last_position"], STAMP, STAMP),
        )


def _raw_row(record: dict[str, Any]) -> tuple[Any, ...]:
    return (
        uuid.UUID(record["id"]).hex,
        record["conversation_id"],
        record["user_id"],
        record["position"],
        record["role"],
        record["type"],
        record["content"],
        index_text(record["content"]),
        json.dumps(record["metadata"]),
        None,
        "2026-01-01 00:00:00.000000",
        "2026-01-01 00:00:00.000000",
        "active",
    )


def _raw_export(database: str, path: Path) -> int:
    """The messages read in key order with sqlite3, each written as a JSON line."""
    connection = sqlite3.connect(database)
    count = 0
    columns = ("id", "conversation_id", "user_id", "seq", "role", "message_type", "content")
    with path.open("w", encoding="utf-8") as out:
        cursor = connection.execute(
            f"SELECT {', '.join(columns)}, metadata, timestamp FROM messages ORDER BY pk"
        )
        while rows := cursor.fetchmany(1000):
            for row in rows:
                document = dict(zip(columns, row, strict=False))
                document["metadata"] = json.loads(row[7])
                document["timestamp"] = row[8]
                out.write(json.dumps(document) + "\n")
                count += 1
    return count


def run_phase(name: str, *arguments: str) -> dict[str, Any]:
    """Run one phase in a new process; its measurements."""
    command = [sys.executable, "-m", "benchmarks.transfer", "--phase", name, *arguments]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["phase"] = name
    result["rate"] = result["messages"] / result["seconds"]
    return result


async def _migrated(url: str) -> None:
    async with Memory(url, embedder=None):
        pass


# -- the run -----------------------------------------------------------------------------------


async def measure(messages: int, backends: set[str], folder: Path) -> list[dict[str, Any]]:
    export = folder / "source.jsonl"
    console.print(f"writing an export of {messages:,} messages …")
    write_export(export, messages)
    store, raw = folder / "store.db", folder / "raw.db"
    for path in (store, raw):
        await _migrated(f"sqlite+aiosqlite:///{path}")
    results = [
        run_phase("import", f"sqlite+aiosqlite:///{store}", str(export)),
        run_phase("raw-import", str(raw), str(export)),
        run_phase("export", f"sqlite+aiosqlite:///{store}", str(folder / "out.jsonl")),
        run_phase("raw-export", str(raw), str(folder / "raw.jsonl")),
    ]
    if "postgres" in backends:
        async with open_backend("postgres") as postgres, postgres.database("transfer") as target:
            results.append(run_phase("copy", f"sqlite+aiosqlite:///{store}", target))
    return results


def table(results: list[dict[str, Any]]) -> Table:
    shown = Table(title="transfer (messages)", title_justify="left")
    for heading in ("phase", "messages", "seconds", "messages/s", "peak RSS (MB)", "targets"):
        shown.add_column(heading, justify="left" if heading in ("phase", "targets") else "right")
    for result in results:
        verdict = ""
        if result["phase"] in ("import", "export"):
            rate_ok = result["rate"] >= RATE_TARGET
            rss_ok = result["peak_rss_mb"] < RSS_TARGET_MB
            verdict = f"rate {'PASS' if rate_ok else 'FAIL'}, RSS {'PASS' if rss_ok else 'FAIL'}"
        shown.add_row(
            result["phase"],
            f"{result['messages']:,}",
            f"{result['seconds']:,.1f}",
            f"{result['rate']:,.0f}",
            f"{result['peak_rss_mb']:,.0f}",
            verdict,
        )
    return shown


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    messages = arguments.messages or (20_000 if arguments.quick else 1_000_000)
    backends = set(arguments.backends.split(","))
    before, started = load_average(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bruno-transfer-") as folder:
        results = asyncio.run(measure(messages, backends, Path(folder)))
    console.print(table(results))
    write_json(
        arguments.out,
        {"run_at": now_iso(), "machine": machine_info(), "messages": messages, "results": results},
    )
    print_wall(time.perf_counter() - started, before, load_average(), arguments.out)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--phase":
        print(json.dumps(asyncio.run(_phase(sys.argv[2], sys.argv[3:]))))
    else:
        main()
