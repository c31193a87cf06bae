"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import numpy as np
import numpy.typing as npt
from sqlalchemy import JSON, REAL, BigInteger, DateTime, Dialect, Integer, LargeBinary
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

#: Integer surrogate key: BIGINT on PostgreSQL, the rowid alias on SQLite.
SurrogateKey = BigInteger().with_variant(Integer(), "sqlite")

#: A JSON document: JSONB on PostgreSQL, JSON text on SQLite.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every dialect.

    Naive datetimes (bruno-core creates them with ``utcnow()``) are read as UTC;
    aware ones are converted to UTC. Values come back aware, in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # SQLite has no timezone support: store naive UTC, which also sorts correctly.
        timezone = dialect.name != "sqlite"
        return dialect.type_descriptor(DateTime(timezone=timezone))

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        return None if value is None else as_utc(value)


class FloatVector(TypeDecorator[npt.NDArray[np.float32]]):
    """A float32 vector: ``real[]`` on PostgreSQL (castable to pgvector), little-endian
    float32 bytes on SQLite. Values are numpy arrays in and out."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(REAL()))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: npt.NDArray[np.float32] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        array = np.asarray(value, dtype="<f4")
        return array.tolist() if dialect.name == "postgresql" else array.tobytes()

    def process_result_value(self, value: Any, dialect: Dialect) -> npt.NDArray[np.float32] | None:
        if value is None:
            return None
        if isinstance(value, (bytes, bytearray, memoryview)):
            return np.frombuffer(value, dtype="<f4").astype(np.float32)
        return np.asarray(value, dtype=np.float32)


def as_utc(value: dt.datetime) -> dt.datetime:
    """Return ``value`` as an aware UTC datetime, reading a naive one as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def new_cache_version() -> str:
    """A fresh value for ``conversations.cache_version``: random, so that no version is
    ever handed out twice (not after a row is deleted and made again, not by two writers)."""
    return secrets.token_hex(16)


def utc_now() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.timezone.utc)


def _encode_json_value(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} values cannot be stored in JSON metadata")


def json_dumps(value: Any) -> str:
    """Serialize metadata to JSON; UUID, datetime, Decimal, Enum and sets become JSON values.

    NaN and infinities are refused: PostgreSQL's JSONB cannot hold them.
    """
    return json.dumps(value, default=_encode_json_value, allow_nan=False, ensure_ascii=False)
