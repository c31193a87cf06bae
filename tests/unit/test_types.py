"""Timestamps and JSON encoding shared by every dialect."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from enum import Enum

import pytest

from bruno_memory.db.types import as_utc, json_dumps

UTC = dt.timezone.utc


def test_naive_datetimes_are_read_as_utc() -> None:
    """bruno-core's naive utcnow() values are taken as UTC."""
    assert as_utc(dt.datetime(2024, 1, 1, 12)) == dt.datetime(2024, 1, 1, 12, tzinfo=UTC)


def test_aware_datetimes_are_converted_to_utc() -> None:
    """An aware value keeps its instant and gets the UTC zone."""
    local = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    converted = as_utc(local)
    assert converted == local
    assert converted.tzinfo == UTC
    assert converted.hour == 17


def test_json_encoder_handles_common_python_values() -> None:
    """UUID, datetime, date, Decimal, Enum and sets become plain JSON values."""

    class Color(Enum):
        RED = "red"

    ref = uuid.uuid4()
    encoded = json_dumps(
        {
            "id": ref,
            "at": dt.datetime(2024, 1, 1, tzinfo=UTC),
            "day": dt.date(2024, 1, 2),
            "price": Decimal("1.10"),
            "color": Color.RED,
            "set": {1},
            "text": "é🎷",
        }
    )
    assert json.loads(encoded) == {
        "id": str(ref),
        "at": "2024-01-01T00:00:00+00:00",
        "day": "2024-01-02",
        "price": "1.10",
        "color": "red",
        "set": [1],
        "text": "é🎷",
    }


@pytest.mark.parametrize("value", [float("nan"), float("inf"), object(), b"bytes"])
def test_json_encoder_refuses_what_json_cannot_hold(value: object) -> None:
    """NaN, infinities and arbitrary objects are refused, never pickled."""
    with pytest.raises((TypeError, ValueError)):
        json_dumps({"x": value})
