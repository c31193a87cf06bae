"""Importing records: in batches of one kind, each in its own transaction.

A file is checked whole first (a line that is not a record stores nothing). Records
are stored in the order they come, a batch of up to ``batch_size`` consecutive
records of one kind at a time (:meth:`~bruno_memory.ports.storage.Transfer.load`). A
batch lands whole or not at all; the batches before a failure stay, and since storing a
record again changes nothing, running the same import again resumes it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import TypeVar

from bruno_memory.errors import ImportRecordError
from bruno_memory.ports.storage import Transfer
from bruno_memory.transfer.export import Progress
from bruno_memory.transfer.jsonl import Destination, open_text, read_lines
from bruno_memory.transfer.records import Header, Record, record_key
from bruno_memory.transfer.reports import ImportReport, LoadCounts

#: Records per transaction of an import.
BATCH_SIZE = 1000
#: A record and where it came from (its line in a file; None for records given in code).
Sourced = tuple[int | None, Record]
Item = TypeVar("Item")


async def import_file(
    transfer: Transfer,
    source: Destination,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportReport:
    """Import every record of a JSON Lines export. A file (any seekable stream) is read
    twice: every line must parse before anything is stored."""
    with open_text(source, "r") as stream:
        if stream.seekable():
            for _ in read_lines(stream):
                pass
            stream.seek(0)
        records = (
            (number, item) for number, item in read_lines(stream) if not isinstance(item, Header)
        )
        return await import_sourced(
            transfer, _aiter(records), batch_size=batch_size, progress=progress
        )


async def import_records(
    transfer: Transfer,
    records: AsyncIterable[Record] | Iterable[Record],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportReport:
    """Import records given in code (another store's ``export_records``)."""
    if isinstance(records, AsyncIterable):
        sourced: AsyncIterator[Sourced] = _unsourced(records)
    else:
        sourced = _aiter((None, record) for record in records)
    return await import_sourced(transfer, sourced, batch_size=batch_size, progress=progress)


async def import_sourced(
    transfer: Transfer,
    records: AsyncIterator[Sourced],
    *,
    batch_size: int,
    progress: Progress | None,
) -> ImportReport:
    kinds: dict[str, LoadCounts] = defaultdict(LoadCounts)
    batch: list[Sourced] = []
    seen = 0

    async def flush() -> None:
        kind = batch[0][1].kind
        kinds[kind] = kinds[kind] + await _load(transfer, batch)
        if progress is not None:
            progress(kind, kinds[kind].total)
        batch.clear()

    async for item in records:
        if batch and (item[1].kind != batch[0][1].kind or len(batch) >= batch_size):
            await flush()
        batch.append(item)
        seen += 1
    if batch:
        await flush()
    return ImportReport(kinds=dict(kinds), records=seen)


async def _load(transfer: Transfer, batch: list[Sourced]) -> LoadCounts:
    try:
        return await transfer.load([record for _, record in batch])
    except ImportRecordError as exc:
        line = _line_of(batch, exc)
        if line is None:
            raise
        raise ImportRecordError(
            f"line {line}: {exc.message}", details={**exc.details, "line": line}, cause=exc
        ) from exc


def _line_of(batch: list[Sourced], exc: ImportRecordError) -> int | None:
    """The line of the (last) record of the batch the error names."""
    named = exc.details.get("id")
    for line, record in reversed(batch):
        if str(record_key(record)) == named or str(getattr(record, "item_id", "")) == named:
            return line
    return None


async def _aiter(items: Iterable[Item]) -> AsyncIterator[Item]:
    for item in items:
        yield item


async def _unsourced(records: AsyncIterable[Record]) -> AsyncIterator[Sourced]:
    async for record in records:
        yield None, record
