"""JSON Lines files of records: a header line, then one record per line.

A path ending in ``.gz`` is gzip-compressed. Reading checks the header (a bruno-memory
export of a version this library reads) and parses each line on its own, so a bad line is
named by its number (:class:`~bruno_memory.errors.ImportFormatError`) and nothing before it
is lost; nothing is held but the line being read.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

from pydantic import ValidationError

from bruno_memory.errors import ImportFormatError, InvalidInputError
from bruno_memory.transfer.records import (
    FORMAT,
    FORMAT_VERSION,
    HEADER_ADAPTER,
    RECORD_ADAPTER,
    Header,
    Record,
)

#: Where a file is read from or written to: a path, or an open text stream.
Destination = str | os.PathLike[str] | IO[str]


@contextmanager
def open_text(target: Destination, mode: str) -> Iterator[IO[str]]:
    """``target`` as a text stream (UTF-8; gzip for ``.gz`` paths); a stream given is
    neither opened nor closed."""
    if not isinstance(target, (str, os.PathLike)):
        yield target
        return
    path = Path(target)
    try:
        if path.suffix == ".gz":
            stream = cast(IO[str], gzip.open(path, f"{mode}t", encoding="utf-8", newline=""))  # noqa: SIM115
        else:
            stream = path.open(mode, encoding="utf-8", newline="")
    except OSError as exc:
        raise InvalidInputError(
            f"cannot open {path}: {exc.strerror or exc}", details={"path": str(path)}
        ) from exc
    with stream:
        yield stream


def header_line(header: Header) -> str:
    return header.model_dump_json() + "\n"


def record_line(record: Record) -> str:
    return record.model_dump_json() + "\n"


def read_lines(stream: IO[str]) -> Iterator[tuple[int, Header | Record]]:
    """``(line number, header or record)`` of each line; the header first."""
    number = 0
    lines = enumerate(stream, start=1)
    while True:
        try:
            number, line = next(lines)
        except StopIteration:
            break
        except (UnicodeDecodeError, OSError, EOFError) as exc:
            raise ImportFormatError(
                f"line {number + 1}: unreadable ({exc})", details={"line": number + 1}
            ) from exc
        if number == 1:
            yield number, _header(line)
        elif line.strip():
            yield number, _record(number, line)
    if number == 0:
        raise ImportFormatError("the file is empty: an export starts with its header line")


def _header(line: str) -> Header:
    try:
        header = HEADER_ADAPTER.validate_json(line)
    except ValidationError as exc:
        raise ImportFormatError(
            f"line 1: not the header of a {FORMAT} export ({_first_error(exc)})",
            details={"line": 1},
        ) from exc
    if header.version > FORMAT_VERSION:
        raise ImportFormatError(
            f"line 1: the export has format version {header.version}; this bruno-memory reads "
            f"up to {FORMAT_VERSION} (upgrade it)",
            details={"line": 1, "version": header.version},
        )
    return header


def _record(number: int, line: str) -> Record:
    try:
        return RECORD_ADAPTER.validate_json(line)
    except ValidationError as exc:
        raise ImportFormatError(
            f"line {number}: not a record ({_first_error(exc)})", details={"line": number}
        ) from exc


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
