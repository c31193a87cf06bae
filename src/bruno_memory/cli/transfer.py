"""``bruno-memory export``, ``import`` and ``copy``: a store to a file, a file into a store,
one store into another (verified)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from bruno_memory.cli.output import AsJson, Url, emit, errors, progress, run
from bruno_memory.copying import copy_store
from bruno_memory.memory import Memory
from bruno_memory.transfer.export import CSV_COLUMNS, CsvTable, Progress
from bruno_memory.transfer.load import BATCH_SIZE
from bruno_memory.transfer.reports import CopyReport, ExportReport, ImportReport, LoadCounts

_NONE = LoadCounts()
BatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Records per transaction.")]


@contextmanager
def _progress(verb: str, *, quiet: bool) -> Iterator[Progress | None]:
    """A progress display on stderr (records so far, per kind) when it is a terminal and
    not ``quiet``."""
    with progress(f"{verb}…", quiet=quiet) as update:
        if update is None:
            yield None
            return

        def counted(kind: str, count: int) -> None:
            update(description=f"{verb} {kind}s: {count:,}")

        yield counted


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("an ISO 8601 time, e.g. 2026-12-01T00:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _rows(kinds: Mapping[str, Any]) -> AsyncIterator[Mapping[str, Any]]:
    async def rows() -> AsyncIterator[Mapping[str, Any]]:
        for kind, value in kinds.items():
            yield {"kind": kind, **(value if isinstance(value, Mapping) else {"records": value})}

    return rows()


def export(
    file: Annotated[Path, typer.Argument(help="Where to write (.jsonl, .jsonl.gz, .csv).")],
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only what changed at or after this time (ISO 8601)."),
    ] = None,
    embeddings: Annotated[
        bool, typer.Option("--embeddings", help="Include the stored vectors.")
    ] = False,
    anonymize: Annotated[
        bool,
        typer.Option("--anonymize", help="Replace personal data and ids by consistent tokens."),
    ] = False,
    csv_table: Annotated[
        str | None,
        typer.Option("--csv", help=f"Write one table as CSV: {', '.join(CSV_COLUMNS)}."),
    ] = None,
    url: Url = None,
    as_json: AsJson = False,
) -> None:
    """Write the store to FILE: JSON Lines that `bruno-memory import` reads back exactly,
    or one table as CSV. Prints what was written and the watermark for --since."""
    if csv_table is not None and csv_table not in CSV_COLUMNS:
        raise typer.BadParameter(f"must be one of {', '.join(CSV_COLUMNS)}", param_hint="--csv")
    start = _since(since)

    async def work() -> ExportReport:
        async with Memory(url, embedder=None, database_auto_migrate=False) as memory:
            with _progress("exporting", quiet=as_json) as progress:
                if csv_table is not None:
                    table = cast(CsvTable, csv_table)  # checked against CSV_COLUMNS above
                    return await memory.export_csv(file, table, since=start, progress=progress)
                return await memory.export(
                    file,
                    since=start,
                    embeddings=embeddings,
                    anonymize=anonymize,
                    progress=progress,
                )

    report = run(work())
    run(emit(_rows(report.records), ("kind", "records"), as_json=as_json, limit=0))
    if not as_json:
        errors.print(f"watermark (for --since): {report.exported_at.isoformat()}")


def import_(
    file: Annotated[Path, typer.Argument(help="A JSON Lines export (.jsonl or .jsonl.gz).")],
    batch_size: BatchSize = BATCH_SIZE,
    url: Url = None,
    as_json: AsJson = False,
) -> None:
    """Import FILE into the store (its schema created or upgraded first): exact, in one
    transaction per batch; importing it again changes nothing, and an interrupted import
    resumes where it stopped."""

    async def work() -> ImportReport:
        async with Memory(url, embedder=None) as memory:
            with _progress("importing", quiet=as_json) as progress:
                return await memory.import_file(file, batch_size=batch_size, progress=progress)

    report = run(work())
    kinds = {kind: counts.model_dump() for kind, counts in report.kinds.items()}
    columns = ("kind", "inserted", "replaced", "unchanged", "kept")
    run(emit(_rows(kinds), columns, as_json=as_json, limit=0))


def copy(
    source: Annotated[str, typer.Argument(help="URL of the store to copy.")],
    target: Annotated[str, typer.Argument(help="URL of the store to copy into.")],
    embeddings: Annotated[
        bool, typer.Option("--embeddings/--no-embeddings", help="Copy the stored vectors.")
    ] = True,
    batch_size: BatchSize = BATCH_SIZE,
    as_json: AsJson = False,
) -> None:
    """Copy every record of SOURCE into TARGET, then compare both, kind by kind (count and
    checksum); exit 1 when they differ. Run it again to resume an interrupted copy."""

    async def work() -> CopyReport:
        with _progress("copying", quiet=as_json) as progress:
            return await copy_store(
                source, target, embeddings=embeddings, batch_size=batch_size, progress=progress
            )

    report = run(work())
    kinds = {
        kind: {
            "copied": report.imported.kinds.get(kind, _NONE).inserted
            + report.imported.kinds.get(kind, _NONE).replaced,
            "records": digest.count,
            "checksum": digest.checksum[:16],
        }
        for kind, digest in report.source.items()
    }
    run(emit(_rows(kinds), ("kind", "copied", "records", "checksum"), as_json=as_json, limit=0))
    if not as_json:
        errors.print("verified: the target holds what the source does")
