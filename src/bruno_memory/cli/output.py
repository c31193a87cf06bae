"""How the commands speak: rich tables for people, JSON Lines for scripts, one line per error."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any, Protocol, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from bruno_memory.errors import BrunoMemoryError

_T = TypeVar("_T")

#: ``--url``: the database; the settings' variable when not given.
Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="BRUNO_MEMORY_DATABASE_URL",
        show_envvar=True,
        help="Database URL (default: the settings' BRUNO_MEMORY_DATABASE_URL, else "
        "the SQLite file bruno_memory.db).",
    ),
]
#: ``--json``: JSON Lines on stdout instead of a table.
AsJson = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]

console = Console()
errors = Console(stderr=True)


def run(work: Coroutine[Any, Any, _T]) -> _T:
    """Run a command's coroutine; a library error is one line on stderr and exit code 1."""
    try:
        return asyncio.run(work)
    except (BrunoMemoryError, ValidationError) as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None


class Update(Protocol):
    """Changes what a progress display shows: its description, or the work done so far."""

    def __call__(self, *, description: str | None = None, completed: int | None = None) -> None:
        """Show ``description`` and/or ``completed`` (of the total)."""


@contextmanager
def progress(description: str, *, quiet: bool, total: int | None = None) -> Iterator[Update | None]:
    """A progress display on stderr, gone at the end, when it is a terminal and not ``quiet``
    (else None): a spinner, ``description`` and the time elapsed; with a ``total``, a bar,
    the count done and the time left too."""
    if quiet or not errors.is_terminal:
        yield None
        return
    columns: list[ProgressColumn] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=errors, transient=True) as bar:
        task = bar.add_task(description, total=total)

        def update(*, description: str | None = None, completed: int | None = None) -> None:
            bar.update(task, description=description, completed=completed)

        yield update


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


async def emit(
    rows: AsyncIterator[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    as_json: bool,
    limit: int,
) -> int:
    """Print up to ``limit`` rows (all when 0): a JSON object per line as each row comes,
    or one table of ``columns``; how many were printed."""
    count = 0
    table = Table(*columns)
    async for row in rows:
        if as_json:
            typer.echo(json.dumps({key: _plain(value) for key, value in row.items()}))
        else:
            table.add_row(*("" if row.get(c) is None else str(_plain(row[c])) for c in columns))
        count += 1
        if count == limit:
            break
    if not as_json:
        console.print(table)
    return count
