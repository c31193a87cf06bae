"""Checksums of a store's content that two stores can compare, whatever their order.

A record's content is its canonical JSON: keys sorted (PostgreSQL's JSONB keeps metadata
keys in an order of its own) and numbers by value (JSONB keeps a number, not its spelling:
``1e16`` stored comes back as ``10000000000000000``, as JSON allows), each written as its
normalized decimal after a NUL, which no stored string holds. A kind's checksum is the
sum, modulo 2**256, of the SHA-256 of its records' content. Equal multisets of records give
equal checksums in any order, and a changed, missing or extra record changes the sum (short
of a SHA-256 collision).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from bruno_memory.transfer.records import Record
from bruno_memory.transfer.reports import KindDigest

_MODULUS = 2**256


def canonical(record: Record) -> bytes:
    """The record's content as bytes that do not depend on the store it came from."""
    document = _numbers_by_value(record.model_dump(mode="json"))
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _numbers_by_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return f"\x00{number.normalize() if number else 0}"  # -0.0 is JSONB's 0
    if isinstance(value, list):
        return [_numbers_by_value(item) for item in value]
    return {key: _numbers_by_value(item) for key, item in value.items()}


async def digest(records: AsyncIterator[Record]) -> dict[str, KindDigest]:
    """Count and checksum of each kind among ``records``."""
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, int] = defaultdict(int)
    async for record in records:
        counts[record.kind] += 1
        value = int.from_bytes(hashlib.sha256(canonical(record)).digest(), "big")
        sums[record.kind] = (sums[record.kind] + value) % _MODULUS
    return {kind: KindDigest(count=counts[kind], checksum=f"{sums[kind]:064x}") for kind in counts}
