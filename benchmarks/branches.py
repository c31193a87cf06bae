"""Branch reads: a branch's newest messages and its whole history, beside the recursive walk.

::

    python -m benchmarks.branches --quick     # 1,000-deep history, 50 rounds
    python -m benchmarks.branches             # 10,000-deep history, 300 rounds

On a SQLite file: a root conversation ``--depth`` messages deep (each message's
``parent_id`` is the one before), a branch forked 50 messages before its end with 50 of
its own, and a branch of that branch forked half way through its own messages with 50
more. For each conversation, interleaved round by round:

- ``retrieve_messages(limit=50)`` beside the reference, a raw ``sqlite3`` recursive CTE
  walking ``parent_id`` from the newest message, 50 deep (what a message-tree store does);
- ``retrieve_messages()`` (the whole history) beside the same walk to the root.

Before timing, the library's history is checked to be the walk's. Targets (reported, never
asserted), from the context-engine issue: newest 50 of a branch <= 1 ms, the whole branch
<= 50 ms at 10,000 deep. Writes ``benchmarks/results/branches.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from bruno_core.models.message import Message, MessageRole

from benchmarks._report import console, machine_info, measurement_table, now_iso, write_json
from benchmarks._stats import Measurement, Target, interleaved
from bruno_memory import Memory, create_memory

OUT = Path("benchmarks/results/branches.json")
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
OWN = 50
WALK = """
    WITH RECURSIVE walk(id, parent_id, depth, content) AS (
        SELECT id, parent_id, 0, content FROM messages WHERE id = :newest
        UNION ALL
        SELECT m.id, m.parent_id, walk.depth + 1, m.content
        FROM messages m JOIN walk ON m.id = walk.parent_id
        WHERE walk.depth + 1 < :depth
    )
    SELECT id, content FROM walk ORDER BY depth
"""


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.branches", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 deep, 50 rounds")
    parser.add_argument("--depth", type=int, default=None, help="messages in the root")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    return parser.parse_args(argv)


def _chain(count: int, first: int, parent: uuid.UUID | None) -> list[Message]:
    messages = []
    for n in range(first, first + count):
        message = Message(
            role=MessageRole.USER if n % 2 == 0 else MessageRole.ASSISTANT,
            content=f"message {n} " + "lorem ipsum dolor sit amet " * 6,
            parent_id=parent,
            timestamp=START + dt.timedelta(seconds=n),
        )
        messages.append(message)
        parent = message.id
    return messages


async def _build(memory: Memory, depth: int) -> dict[str, tuple[str, uuid.UUID]]:
    """The three conversations: name -> (conversation id, newest message id)."""
    session = await memory.create_session("bench-user")
    root = session.conversation_id
    history = _chain(depth, 0, None)
    for start in range(0, depth, 5_000):
        await memory.store_messages(history[start : start + 5_000], root)
    at = history[depth - OWN - 1]
    branch = await memory.fork_conversation(root, at.id)
    own = _chain(OWN, depth, at.id)
    await memory.store_messages(own, branch)
    nested_at = own[OWN // 2 - 1]
    nested = await memory.fork_conversation(branch, nested_at.id)
    nested_own = _chain(OWN, depth + OWN, nested_at.id)
    await memory.store_messages(nested_own, nested)
    return {
        "root": (root, history[-1].id),
        "branch": (branch, own[-1].id),
        "branch of a branch": (nested, nested_own[-1].id),
    }


def _walk(connection: sqlite3.Connection, newest: uuid.UUID, depth: int) -> list[Any]:
    return connection.execute(WALK, {"newest": newest.hex, "depth": depth}).fetchall()


async def run(arguments: argparse.Namespace) -> int:
    depth = arguments.depth or (1_000 if arguments.quick else 10_000)
    rounds = arguments.rounds or (50 if arguments.quick else 300)
    measurements: list[Measurement] = []
    targets: list[Target] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "branches.db"
        async with create_memory(f"sqlite+aiosqlite:///{path}", embedder=None) as memory:
            conversations = await _build(memory, depth)
            raw = sqlite3.connect(path)
            for name, (conversation_id, newest) in conversations.items():
                whole = await memory.retrieve_messages(conversation_id)
                walked = _walk(raw, newest, 10**9)
                assert [m.id.hex for m in whole] == [row[0] for row in walked], name
                stored = len(whole)
                for operation, limit in (("newest 50", 50), ("whole history", None)):
                    samples = await interleaved(
                        {
                            "library": lambda _, c=conversation_id, n=limit: (
                                memory.retrieve_messages(c, limit=n)
                            ),
                            "sqlite3 recursive walk": lambda _, m=newest, n=limit: _async(
                                _walk, raw, m, n or 10**9
                            ),
                        },
                        count=rounds if limit else max(rounds // 10, 10),
                        warmup=3,
                    )
                    for subject, values in samples.items():
                        measurements.append(
                            Measurement(
                                "sqlite",
                                f"{operation}: {name}",
                                subject,
                                stored,
                                1,
                                values,
                            )
                        )
                    library = measurements[-2]
                    if name != "root":
                        goal = 1.0 if limit else 50.0
                        p50 = library.percentile_ms(50)
                        targets.append(
                            Target(
                                "sqlite",
                                f"{operation} of a {name} ({depth:,} deep)",
                                f"p50 <= {goal:g} ms",
                                f"{p50:.3f} ms",
                                p50 <= goal,
                            )
                        )
            raw.close()
    console.print(measurement_table("sqlite", f"branch reads, {depth:,}-deep root", measurements))
    for target in targets:
        verdict = "PASS" if target.passed else "FAIL"
        console.print(f"{verdict}  {target.name}: {target.goal}, measured {target.measured}")
    write_json(
        arguments.out,
        {
            "benchmark": "branches",
            "created": now_iso(),
            "machine": machine_info(),
            "depth": depth,
            "rounds": rounds,
            "measurements": [m.summary() for m in measurements],
            "targets": [t.summary() for t in targets],
        },
    )
    return 0


async def _async(function: Any, *arguments: Any) -> Any:
    return function(*arguments)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_arguments(argv)))


if __name__ == "__main__":
    sys.exit(main())
