"""Output of a benchmark run: progress lines, ``rich`` tables and a JSON file."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Iterator

    from benchmarks._stats import Measurement, Target

# Wide enough for the tables when the output goes to a file or a pipe.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)

_PACKAGES = ("bruno-memory", "bruno-core", "sqlalchemy", "aiosqlite", "asyncpg", "alembic")


class Phases:
    """Wall-clock time of each phase of the run, printed as each one ends."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def phase(self, backend: str, name: str) -> Iterator[None]:
        """Time the enclosed block as phase ``name`` of ``backend``."""
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        self.records.append({"backend": backend, "phase": name, "seconds": round(seconds, 2)})
        console.print(f"  [dim]{backend}[/dim] {name}: {seconds:,.1f} s")


def machine_info() -> dict[str, Any]:
    """What ran the benchmark: hardware, operating system, versions, repository commit."""
    return {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "sqlite_library": sqlite3.sqlite_version,
        "packages": {name: _version(name) for name in _PACKAGES},
        "git_commit": _git("rev-parse", "HEAD"),
        "git_uncommitted_changes": bool(_git("status", "--porcelain")),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    return None


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*arguments: str) -> str | None:
    try:
        result = subprocess.run(["git", *arguments], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip()


def _size(stored: int | None) -> str:
    if stored is None:
        return ""
    return f"{stored // 1_000_000}M" if stored % 1_000_000 == 0 else f"{stored // 1000}k"


def _versus_raw(library: Measurement, measurements: list[Measurement]) -> str:
    """How the library compares with each raw driver doing the same operation at that size."""
    peers = [
        other
        for other in measurements
        if not other.is_library
        and (other.backend, other.operation, other.stored)
        == (library.backend, library.operation, library.stored)
    ]
    if library.operation.startswith("store"):
        return ", ".join(f"{library.rate_per_s / p.rate_per_s:.0%} of {p.subject}" for p in peers)
    return ", ".join(
        f"{library.percentile_ms(50) / p.percentile_ms(50):.1f}x {p.subject}" for p in peers
    )


def measurement_table(backend: str, description: str, measurements: list[Measurement]) -> Table:
    """Every measurement of one backend; library rows compare themselves with raw ones."""
    table = Table(title=f"{backend}: {description}", title_justify="left")
    table.add_column("operation")
    table.add_column("stored", justify="right")
    table.add_column("subject")
    table.add_column("n", justify="right")
    for heading in ("p50 ms", "p95 ms", "p99 ms", "per second"):
        table.add_column(heading, justify="right")
    table.add_column("library vs raw: rate %, p50 ratio")
    for m in measurements:
        if m.backend != backend:
            continue
        table.add_row(
            m.operation,
            _size(m.stored),
            m.subject if not m.is_library else "[bold]library[/bold]",
            str(len(m.samples_ns)),
            *(f"{m.percentile_ms(q):,.3f}" for q in (50, 95, 99)),
            f"{m.rate_per_s:,.0f}",
            _versus_raw(m, measurements) if m.is_library else "",
        )
    return table


def search_notes(measurements: list[Measurement]) -> list[str]:
    """What the queries found at each size: most cost comes from matches of every user."""
    return [
        f"{m.backend} search at {_size(m.stored)}: {m.extra['mean_results']} results per query "
        f"on average, {m.extra['queries_without_results']}/{len(m.samples_ns)} queries find "
        f"nothing for their user; matching messages of all users: median "
        f"{m.extra['median_matching_messages_all_users']:,.0f}, "
        f"mean {m.extra['mean_matching_messages_all_users']:,.0f}"
        for m in measurements
        if m.operation == "search_messages" and m.is_library
    ]


def target_table(targets: list[Target]) -> Table:
    """The goals and whether they were met."""
    table = Table(title="targets", title_justify="left")
    for heading in ("backend", "target", "goal", "measured", "result"):
        table.add_column(heading)
    verdicts = {True: "[green]PASS[/green]", False: "[red]FAIL[/red]", None: "not measured"}
    for t in targets:
        table.add_row(t.backend, t.name, t.goal, t.measured, verdicts[t.passed])
    return table


def phase_table(phases: Phases) -> Table:
    """Wall time of each phase."""
    table = Table(title="phases (wall time)", title_justify="left")
    for heading in ("backend", "phase", "seconds"):
        table.add_column(heading, justify="right" if heading == "seconds" else "left")
    for record in phases.records:
        table.add_row(record["backend"], record["phase"], f"{record['seconds']:,.1f}")
    return table


def load_average() -> list[float]:
    """The machine's load average over 1, 5 and 15 minutes."""
    return [round(value, 2) for value in os.getloadavg()]


def print_wall(wall: float, load_before: list[float], load_after: list[float], out: Path) -> None:
    """The closing line of a run: its wall time, the machine's load and where results went."""
    console.print(
        f"wall time {wall:,.1f} s; load average (1 min) before/after {load_before[0]:.2f}/"
        f"{load_after[0]:.2f} on {os.cpu_count()} CPUs; results in {out}"
    )


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write the results document (creating its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def now_iso() -> str:
    """The current UTC time, ISO 8601."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
