"""Writing an export: the records of a store to a JSON Lines file, or a table of it to CSV.

The watermark of an export (``ExportReport.exported_at``) is when its snapshot began, less
:data:`WATERMARK_MARGIN`: an incremental export ``since`` it holds every row changed at or
after it. Rows carry the time their write began, so a write that began before the snapshot
and committed after it is still covered, unless its transaction took longer than the
margin. The overlap costs nothing: an import of a row stored already changes nothing.
Deletions are not in an incremental export (it holds rows, not their absence).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from bruno_memory.db.types import utc_now
from bruno_memory.transfer.jsonl import Destination, header_line, open_text, record_line
from bruno_memory.transfer.records import Header, MemoryRecord, MessageRecord, Record
from bruno_memory.transfer.reports import ExportReport

WATERMARK_MARGIN = dt.timedelta(minutes=1)
#: Records between two calls of an export's or import's ``progress`` callback.
PROGRESS_EVERY = 1000
#: ``progress(kind, records so far)``: called as an export or import goes.
Progress = Callable[[str, int], None]
#: The tables a CSV export writes, and their columns.
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "messages": (
        "id",
        "conversation_id",
        "user_id",
        "position",
        "timestamp",
        "role",
        "type",
        "content",
        "archived",
        "metadata",
    ),
    "memories": (
        "id",
        "user_id",
        "conversation_id",
        "created_at",
        "type",
        "category",
        "content",
        "importance",
        "confidence",
        "tags",
        "archived_at",
        "custom_fields",
    ),
}
CsvTable = Literal["messages", "memories"]


def watermark(started: dt.datetime | None = None) -> dt.datetime:
    """The watermark of an export whose snapshot begins now (or at ``started``)."""
    return (started or utc_now()) - WATERMARK_MARGIN


async def write_jsonl(
    records: AsyncIterator[Record],
    target: Destination,
    header: Header,
    *,
    progress: Progress | None = None,
) -> ExportReport:
    """Write the header and every record, a line each; what was written, by kind."""
    counts: Counter[str] = Counter()
    with open_text(target, "w") as stream:
        stream.write(header_line(header))
        async for record in records:
            stream.write(record_line(record))
            counts[record.kind] += 1
            _report(progress, record.kind, counts[record.kind])
    return ExportReport(records=dict(counts), exported_at=header.exported_at, since=header.since)


async def write_csv(
    records: AsyncIterator[Record],
    target: Destination,
    table: CsvTable,
    *,
    progress: Progress | None = None,
) -> ExportReport:
    """Write the messages or memories among ``records`` as CSV (a header row, then a row
    each; JSON values as JSON text, tags joined by ``;``)."""
    wanted = MessageRecord if table == "messages" else MemoryRecord
    columns = CSV_COLUMNS[table]
    exported_at = utc_now()
    written = 0
    with open_text(target, "w") as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        async for record in records:
            if isinstance(record, wanted):
                writer.writerow([_cell(record, column) for column in columns])
                written += 1
                _report(progress, record.kind, written)
    return ExportReport(
        records={wanted.model_fields["kind"].default: written}, exported_at=exported_at
    )


def _cell(record: Record, column: str) -> Any:
    value = getattr(record, column)
    if column == "tags":
        return ";".join(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return "" if value is None else value


def _report(progress: Progress | None, kind: str, count: int) -> None:
    if progress is not None and count % PROGRESS_EVERY == 0:
        progress(kind, count)
