"""Hot-path benchmark: the library's per-call overhead over bare SQLAlchemy and the raw driver.

::

    python -m benchmarks.hotpath --quick             # smoke run: 200 messages, 100 rounds
    python -m benchmarks.hotpath                     # 1,000 messages, 1,000 rounds per call
    python -m benchmarks.hotpath --backends sqlite --rounds 2000

Per dialect (a SQLite file; PostgreSQL, from ``pgserver`` unless
``BRUNO_MEMORY_BENCH_POSTGRES_URL`` names a server), in a fresh database migrated by the
library: one user, one session (``create_session``) and its conversation of ``--messages``
messages, preloaded with ``store_messages``. Then three calls, each timed round by round
beside two references doing the same work on the same database, the order of the three
reversed every round (``_stats.interleaved``):

1. ``retrieve_messages(conversation_id, limit=20)``; references: the same
   ``SELECT ... FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 20``, rows
   fetched, by the raw driver (``sqlite3`` / ``asyncpg``, one connection) and as a Core
   ``select()`` on the library's own engine (a pooled connection: ``engine.connect()``).
2. ``get_context(user_id, conversation_id)``; references: the two reads a context needs at
   minimum (the conversation's session row, its last 20 messages), one connection each.
3. ``store_message(message, conversation_id)``, a new message each call; references: bump
   ``conversations.last_seq`` (``UPDATE ... RETURNING``), then insert the row, in one
   committed transaction (Core on ``engine.begin()`` for bare SQLAlchemy).

Before timing, each reference is checked once to read the same rows as the library (same
message ids, same order, same session) and to write the same row (every column but the
keys). Targets (reported, never asserted): ``retrieve_messages`` and ``get_context`` p50 <=
1.5x bare SQLAlchemy, ``store_message`` p50 <= 2x bare insert-and-commit.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import platform
import secrets
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bruno_core.models.message import Message
from rich.table import Table
from sqlalchemy import bindparam, insert, select, update

from benchmarks import _data
from benchmarks._raw import WRITE_COLUMNS
from benchmarks._report import (
    Phases,
    console,
    load_average,
    machine_info,
    now_iso,
    print_wall,
    write_json,
)
from benchmarks._servers import Backend, open_backend
from benchmarks._stats import Measurement, Target, interleaved
from bruno_memory import Memory, create_memory
from bruno_memory.db import models
from bruno_memory.db.engine import SQLITE_WRITE_OPTION

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from benchmarks._raw import RawDriver
    from benchmarks._stats import Call

USER = "hotpath-user"
WINDOW = 20  # retrieve_messages(limit=20), and get_context's default window
LIBRARY, BARE = "library", "sqlalchemy core"
RETRIEVE, CONTEXT, STORE = "retrieve_messages", "get_context", "store_message"
#: p50 of the library at most this many times bare SQLAlchemy's, per call.
GOALS = {RETRIEVE: 1.5, CONTEXT: 1.5, STORE: 2.0}


@dataclass(frozen=True)
class Plan:
    """How much to do, per dialect."""

    messages: int = 1_000  # preloaded into the one conversation
    rounds: int = 1_000  # timed rounds per call (each round: every subject once)
    warmup: int = 100  # untimed rounds first


QUICK_PLAN = Plan(messages=200, rounds=100, warmup=20)

NOTES = [
    "One process, one database per dialect, the library opened with embedder=None (no "
    "background indexing) and no cache (no redis_url): every read goes to SQL.",
    "Rounds: library, raw driver and bare SQLAlchemy one after the other on the same "
    "conversation, the order reversed every round; warm-up rounds untimed.",
    "Bare SQLAlchemy: Core statements built once (bound parameters) and executed on the "
    "library's own AsyncEngine (same pool, pre-ping and connect events); rows through "
    "SQLAlchemy's result processing (UUID, UTC datetimes, JSON). Raw: one driver "
    "connection held open, statements as text.",
    "get_context references: session row by conversation + last 20 messages (2 statements; "
    "raw without an explicit transaction). The library's two statements also read the "
    "session's owner (joined) and the earlier system messages (UNION ALL).",
    "store_message references: UPDATE conversations (last_seq + 1, updated_at, "
    "cache_version) RETURNING last_seq, user_id; INSERT INTO messages (search_text "
    "included); commit. SQLite: BEGIN IMMEDIATE, as the library. The library also touches "
    "the conversation's open session (UPDATE sessions ... RETURNING id).",
]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hotpath", description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--messages", type=int, help="messages preloaded (default 1,000)")
    parser.add_argument("--rounds", type=int, help="timed rounds per call (default 1,000)")
    parser.add_argument("--warmup", type=int, help="untimed rounds first (default 100)")
    parser.add_argument("--quick", action="store_true", help="200 messages, 100 rounds")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/hotpath.json"))
    parser.add_argument("--seed", type=int, default=20251125)
    return parser.parse_args(argv)


def plan_of(arguments: argparse.Namespace) -> Plan:
    """The plan: the default or quick one, with any explicit sizes."""
    plan = QUICK_PLAN if arguments.quick else Plan()
    given = {
        name: value
        for name in ("messages", "rounds", "warmup")
        if (value := getattr(arguments, name)) is not None
    }
    plan = dataclasses.replace(plan, **given)
    if plan.messages < WINDOW or plan.rounds < 1 or plan.warmup < 0:
        raise SystemExit(f"need --messages >= {WINDOW}, --rounds >= 1, --warmup >= 0")
    return plan


# -- the references ------------------------------------------------------------------------

_MESSAGES = models.Message.__table__
_SESSIONS = models.Session.__table__
_CONVERSATIONS = models.Conversation.__table__
#: What the library reads of a message (``search_text`` is deferred; ``pk`` first, as _raw).
_READ_COLUMNS = [column for column in _MESSAGES.c if column.name != "search_text"]

_BARE_LATEST = (
    select(*_READ_COLUMNS)
    .where(_MESSAGES.c.conversation_id == bindparam("conversation"))
    .order_by(_MESSAGES.c.seq.desc())
    .limit(WINDOW)
)
_BARE_SESSION = (
    select(_SESSIONS)
    .where(_SESSIONS.c.conversation_id == bindparam("conversation"))
    .order_by(_SESSIONS.c.is_active.desc(), _SESSIONS.c.last_activity.desc())
    .limit(1)
)
_BARE_ALLOCATE = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("conversation"))
    .values(
        last_seq=_CONVERSATIONS.c.last_seq + 1,
        updated_at=bindparam("stamp", type_=_CONVERSATIONS.c.updated_at.type),
        cache_version=bindparam("version", type_=_CONVERSATIONS.c.cache_version.type),
    )
    .returning(_CONVERSATIONS.c.last_seq, _CONVERSATIONS.c.user_id)
)
_BARE_INSERT = insert(_MESSAGES)  # search_text: the column's default, from content

_SESSION_COLUMNS = ", ".join(column.name for column in _SESSIONS.c)
_RAW_SESSION = (
    f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE conversation_id = ? "
    "ORDER BY is_active DESC, last_activity DESC LIMIT 1"
)
_RAW_ALLOCATE = (
    "UPDATE conversations SET last_seq = last_seq + 1, updated_at = ?, cache_version = ? "
    "WHERE id = ? RETURNING last_seq, user_id"
)
_RAW_INSERT = (
    f"INSERT INTO messages ({', '.join(WRITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(WRITE_COLUMNS))})"
)


@dataclass
class Subjects:
    """The library and both references on one database, and the conversation they use."""

    memory: Memory
    raw: RawDriver
    engine: AsyncEngine  # the library's own
    write_engine: AsyncEngine  # the same engine, SQLite writers beginning IMMEDIATE
    conversation: str

    # reads ----------------------------------------------------------------------------

    async def raw_latest(self) -> list[Any]:
        return await self.raw.latest(self.conversation, WINDOW)

    async def bare_latest(self) -> list[Any]:
        async with self.engine.connect() as connection:
            result = await connection.execute(_BARE_LATEST, {"conversation": self.conversation})
            return list(result.all())

    async def raw_context(self) -> tuple[Any, list[Any]]:
        session = await self.raw._fetch(_RAW_SESSION, self.conversation)
        return session[0], await self.raw.latest(self.conversation, WINDOW)

    async def bare_context(self) -> tuple[Any, list[Any]]:
        parameters = {"conversation": self.conversation}
        async with self.engine.connect() as connection:
            session = (await connection.execute(_BARE_SESSION, parameters)).one()
            messages = (await connection.execute(_BARE_LATEST, parameters)).all()
            return session, list(messages)

    # writes ---------------------------------------------------------------------------

    async def raw_store(self, message: Message) -> None:
        raw, now = self.raw, dt.datetime.now(dt.timezone.utc)
        async with raw._transaction():
            rows = await raw._fetch(
                _RAW_ALLOCATE, raw._time(now), secrets.token_hex(16), self.conversation
            )
            seq, owner = rows[0][0], rows[0][1]
            row = raw._row(message, self.conversation, owner, seq, now)
            await raw._execute(_RAW_INSERT, *row)

    async def bare_store(self, message: Message) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        async with self.write_engine.begin() as connection:
            allocated = await connection.execute(
                _BARE_ALLOCATE,
                {"conversation": self.conversation, "stamp": now, "version": secrets.token_hex(16)},
            )
            seq, owner = allocated.one()
            await connection.execute(
                _BARE_INSERT,
                {
                    "id": message.id,
                    "conversation_id": self.conversation,
                    "user_id": owner,
                    "seq": seq,
                    "role": message.role.value,
                    "message_type": message.message_type.value,
                    "content": message.content,
                    "metadata": dict(message.metadata),
                    "parent_id": message.parent_id,
                    "timestamp": message.timestamp,
                    "created_at": now,
                    "state": "active",
                },
            )


# -- checks: each reference does the library's work -------------------------------------------


def _ids(values: list[Any]) -> list[str]:
    return [str(uuid.UUID(str(value))) for value in values]


def _same(what: str, library: list[Any], **references: list[Any]) -> None:
    """Stop the run if a reference does not find what the library finds."""
    expected = _ids(library)
    for name, found in references.items():
        if _ids(found) != expected:
            raise AssertionError(f"{what}: {name} disagrees with the library")
    if len(expected) != WINDOW:
        raise AssertionError(f"{what}: {len(expected)} rows, not {WINDOW}")


async def check_reads(subjects: Subjects) -> None:
    """The references read the library's 20 messages, in its order, and its session."""
    memory, conversation = subjects.memory, subjects.conversation
    library = await memory.retrieve_messages(conversation, limit=WINDOW)
    raw, bare = await subjects.raw_latest(), await subjects.bare_latest()
    _same(RETRIEVE, [m.id for m in library], raw=[r[1] for r in raw], bare=[r.id for r in bare])

    context = await memory.get_context(USER, conversation)
    raw_session, raw_rows = await subjects.raw_context()
    bare_session, bare_rows = await subjects.bare_context()
    sessions = {context.session.session_id, raw_session[0], bare_session.id}
    if len(sessions) != 1:
        raise AssertionError(f"{CONTEXT}: the sessions differ: {sessions}")
    _same(
        CONTEXT,
        [m.id for m in reversed(context.messages)],  # chronological: newest last
        raw=[r[1] for r in raw_rows],
        bare=[r.id for r in bare_rows],
    )


async def check_writes(subjects: Subjects, corpus: _data.Corpus) -> None:
    """The references write the library's row: the same message content stored by each
    gives rows equal in every column but the keys, at consecutive positions."""
    model = corpus.messages("hotpath-check", USER, 1)[0]
    copies = [model.model_copy(update={"id": uuid.uuid4()}) for _ in range(3)]
    await subjects.memory.store_message(copies[0], subjects.conversation)
    await subjects.raw_store(copies[1])
    await subjects.bare_store(copies[2])
    async with subjects.engine.connect() as connection:
        result = await connection.execute(
            select(_MESSAGES).where(_MESSAGES.c.id.in_([m.id for m in copies]))
        )
        rows = {row.id: row._asdict() for row in result}
    ordered = [rows[m.id] for m in copies]
    keys = {"pk", "id", "seq", "created_at"}
    values = [{k: v for k, v in row.items() if k not in keys} for row in ordered]
    if values[1] != values[0] or values[2] != values[0]:
        raise AssertionError(f"{STORE}: the references write other rows: {values}")
    seqs = [row["seq"] for row in ordered]
    if seqs != list(range(seqs[0], seqs[0] + 3)):
        raise AssertionError(f"{STORE}: positions {seqs} are not consecutive")


# -- the run --------------------------------------------------------------------------------


async def measure(
    backend: Backend, corpus: _data.Corpus, plan: Plan, phases: Phases
) -> list[Measurement]:
    """Every measurement of one dialect, in a database of its own."""
    name = backend.name
    async with backend.database("hotpath") as url:
        memory = create_memory(url, embedder=None)
        with phases.phase(name, "open (migrations)"):
            await memory.open()
        raw = await backend.connect_raw(url)
        try:
            with phases.phase(name, f"preload {plan.messages:,} messages"):
                session = await memory.create_session(USER)
                conversation = session.conversation_id
                messages = corpus.messages("hotpath", USER, plan.messages)
                await memory.store_messages(messages, conversation)
                await raw.settle()
            engine: AsyncEngine = memory.storage.database.engine  # type: ignore[attr-defined]
            subjects = Subjects(
                memory,
                raw,
                engine,
                engine.execution_options(**{SQLITE_WRITE_OPTION: True}),
                conversation,
            )
            await check_reads(subjects)
            return await _timed(name, subjects, corpus, plan, phases)
        finally:
            await raw.close()
            await memory.close()


async def _timed(
    name: str, subjects: Subjects, corpus: _data.Corpus, plan: Plan, phases: Phases
) -> list[Measurement]:
    memory, conversation, raw_name = subjects.memory, subjects.conversation, subjects.raw.name

    async def library_retrieve(_: int) -> None:
        await memory.retrieve_messages(conversation, limit=WINDOW)

    async def library_context(_: int) -> None:
        await memory.get_context(USER, conversation)

    reads: dict[str, dict[str, Call]] = {
        RETRIEVE: {
            LIBRARY: library_retrieve,
            raw_name: lambda _: subjects.raw_latest(),
            BARE: lambda _: subjects.bare_latest(),
        },
        CONTEXT: {
            LIBRARY: library_context,
            raw_name: lambda _: subjects.raw_context(),
            BARE: lambda _: subjects.bare_context(),
        },
    }
    results = []
    for call, calls in reads.items():
        with phases.phase(name, f"{call} x {plan.rounds:,}"):
            samples = await interleaved(calls, plan.rounds, plan.warmup)
        results += [Measurement(name, call, s, plan.messages, 1, t) for s, t in samples.items()]

    await check_writes(subjects, corpus)
    count = plan.warmup + plan.rounds
    batches = {s: corpus.messages(f"hotpath-{s}", USER, count) for s in (LIBRARY, raw_name, BARE)}

    async def library_store(number: int) -> None:
        await memory.store_message(batches[LIBRARY][number], conversation)

    writes: dict[str, Call] = {
        LIBRARY: library_store,
        raw_name: lambda number: subjects.raw_store(batches[raw_name][number]),
        BARE: lambda number: subjects.bare_store(batches[BARE][number]),
    }
    with phases.phase(name, f"{STORE} x {plan.rounds:,}"):
        samples = await interleaved(writes, plan.rounds, plan.warmup)
    results += [Measurement(name, STORE, s, plan.messages, 1, t) for s, t in samples.items()]
    return results


@dataclass(frozen=True)
class Row:
    """One call on one dialect: the library and both references."""

    backend: str
    call: str
    library: Measurement
    raw: Measurement
    bare: Measurement

    @property
    def goal(self) -> float:
        return GOALS[self.call]

    def ratio(self, reference: Measurement, q: float = 50) -> float:
        return self.library.percentile_ms(q) / reference.percentile_ms(q)

    @property
    def passed(self) -> bool:
        return self.ratio(self.bare) <= self.goal

    def target(self) -> Target:
        what = "bare insert-and-commit" if self.call == STORE else "bare SQLAlchemy"
        return Target(
            self.backend,
            self.call,
            f"library p50 <= {self.goal:g}x {what}",
            f"{self.ratio(self.bare):.2f}x ({self.library.percentile_ms(50):.3f} ms vs "
            f"{self.bare.percentile_ms(50):.3f} ms)",
            self.passed,
        )


def rows_of(measurements: list[Measurement]) -> list[Row]:
    """The measurements grouped by dialect and call, in the order measured."""
    rows = []
    for library in (m for m in measurements if m.is_library):
        peers = [
            m
            for m in measurements
            if (m.backend, m.operation) == (library.backend, library.operation)
        ]
        bare = next(m for m in peers if m.subject == BARE)
        raw = next(m for m in peers if m.subject not in (LIBRARY, BARE))
        rows.append(Row(library.backend, library.operation, library, raw, bare))
    return rows


def hotpath_table(rows: list[Row], descriptions: dict[str, str], plan: Plan) -> Table:
    """Library, raw and bare SQLAlchemy p50/p95 side by side, with the target of each call."""
    table = Table(
        title=f"hot paths (ms): {plan.messages:,} messages in the conversation, "
        f"{plan.rounds:,} interleaved rounds (+{plan.warmup} warm-up)",
        title_justify="left",
    )
    table.add_column("dialect", no_wrap=True)
    table.add_column("call", no_wrap=True)
    for heading in (
        "lib p50",
        "raw p50",
        "bare p50",
        "lib/bare",
        "lib/raw",
        "lib p95",
        "raw p95",
        "bare p95",
    ):
        table.add_column(heading, justify="right", no_wrap=True)
    table.add_column("target: p50 lib/bare", no_wrap=True)
    for row in rows:
        verdict = "[green]PASS[/green]" if row.passed else "[red]FAIL[/red]"
        table.add_row(
            row.backend,
            row.call,
            *(f"{m.percentile_ms(50):.3f}" for m in (row.library, row.raw, row.bare)),
            f"{row.ratio(row.bare):.2f}x",
            f"{row.ratio(row.raw):.2f}x",
            *(f"{m.percentile_ms(95):.3f}" for m in (row.library, row.raw, row.bare)),
            f"<= {row.goal:g}x  {verdict}",
        )
    drivers = ", ".join(sorted({f"{row.raw.subject} ({row.backend})" for row in rows}))
    table.caption = (
        f"lib: bruno-memory; raw: {drivers}; bare: SQLAlchemy Core on the library's engine. "
        + "; ".join(f"{name}: {text}" for name, text in descriptions.items())
    )
    table.caption_justify = "left"
    return table


def versions() -> dict[str, str | None]:
    """The versions the timings depend on."""
    packages = machine_info()["packages"]
    return {
        "python": platform.python_version(),
        **{name: packages.get(name) for name in ("sqlalchemy", "aiosqlite", "asyncpg")},
    }


async def run(arguments: argparse.Namespace) -> int:
    """Run the benchmark; print and write the results. Exit status 0 (targets are reported)."""
    started, load_before = time.perf_counter(), load_average()
    plan = plan_of(arguments)
    wanted = [name.strip() for name in arguments.backends.split(",") if name.strip()]
    if unknown := set(wanted) - {"sqlite", "postgres"}:
        raise SystemExit(f"unknown backends: {', '.join(sorted(unknown))}")
    corpus, phases = _data.Corpus(arguments.seed), Phases()
    installed = versions()
    console.print(
        f"[bold]bruno-memory hot-path benchmark[/bold]  {plan.messages:,} messages, "
        f"{plan.rounds:,} rounds (+{plan.warmup} warm-up), seed {arguments.seed}"
    )
    console.print("versions: " + ", ".join(f"{k} {v}" for k, v in installed.items()))
    console.print(f"load average before (1/5/15 min): {load_before} on {os.cpu_count()} CPUs")
    descriptions: dict[str, str] = {}
    measurements: list[Measurement] = []
    for name in wanted:
        async with open_backend(name) as backend:
            descriptions[name] = backend.description
            measurements += await measure(backend, corpus, plan, phases)

    rows = rows_of(measurements)
    load_after = load_average()
    console.print(hotpath_table(rows, descriptions, plan))
    for note in NOTES:
        console.print(f"[dim]- {note}[/dim]")
    wall = time.perf_counter() - started
    machine = machine_info()
    machine["load_average_1_5_15_min"] = {"before": load_before, "after": load_after}
    write_json(
        arguments.out,
        {
            "benchmark": "hotpath",
            "date": now_iso(),
            "command": " ".join(["python -m benchmarks.hotpath", *sys.argv[1:]]),
            "machine": machine,
            "versions": installed,
            "backends": descriptions,
            "parameters": {
                "quick": arguments.quick,
                "seed": arguments.seed,
                "plan": dataclasses.asdict(plan),
                "window": WINDOW,
                "goals_p50_library_over_bare": GOALS,
                "notes": NOTES,
            },
            "rows": [
                {
                    "backend": row.backend,
                    "call": row.call,
                    "raw_driver": row.raw.subject,
                    "library_over_bare_p50": round(row.ratio(row.bare), 3),
                    "library_over_raw_p50": round(row.ratio(row.raw), 3),
                    "library_over_bare_p95": round(row.ratio(row.bare, 95), 3),
                    "library_over_raw_p95": round(row.ratio(row.raw, 95), 3),
                }
                for row in rows
            ],
            "measurements": [m.summary() for m in measurements],
            "targets": [row.target().summary() for row in rows],
            "phases": phases.records,
            "wall_seconds": round(wall, 1),
        },
    )
    print_wall(wall, load_before, load_after, arguments.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.hotpath``."""
    return asyncio.run(run(parse_arguments(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
