"""The calendar dates a query names: "on May 3, 2023", "in July 2023", "in 2022".

A question such as "What did Maria do in July 2023?" is about what was said around that
time; the retriever runs its signals again inside each period found here (see
``RetrievalSettings.date_weight``). Recognised, case-insensitively, in English:

- a day: ``May 3, 2023``, ``May 3rd 2023``, ``3 May 2023``, ``3rd of May, 2023``, ``2023-05-03``;
- a month: ``May 2023``, ``May, 2023``, ``May of 2023``, ``2023-05``;
- a year: a four-digit number from 1900 to 2099 not part of a day or month.

Month names may be abbreviated (``Jan``, ``Sept.``). Dates without a year ("in May") and
relative ones ("last week") are not periods: their year or anchor is unknown. Periods are
whole UTC days, months or years.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

UTC = dt.timezone.utc

#: At most this many periods are taken from one query.
MAX_PERIODS = 3

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (granularity, re.compile(rf"\b{pattern}\b", re.IGNORECASE))
    for granularity, pattern in (
        ("day", rf"{_YEAR}-(?P<month_number>\d{{2}})-(?P<day>\d{{2}})"),
        ("day", rf"{_MONTH}\s+{_DAY},?\s+{_YEAR}"),
        ("day", rf"{_DAY}(?:\s+of)?\s+{_MONTH},?\s+{_YEAR}"),
        ("month", rf"{_YEAR}-(?P<month_number>\d{{2}})"),
        ("month", rf"{_MONTH},?\s+(?:of\s+)?{_YEAR}"),
        ("year", _YEAR),
    )
)


@dataclass(frozen=True)
class Period:
    """A span of time a query names: ``start`` inclusive, ``end`` exclusive, both UTC."""

    start: dt.datetime
    end: dt.datetime
    granularity: str  # "day", "month" or "year"


def find_periods(text: str) -> list[Period]:
    """The dates named in ``text``, most specific patterns first, in order of appearance.

    Each character belongs to at most one date ("May 3, 2023" is a day, not also a year); an
    impossible day ("February 30, 2023") leaves only its year; duplicates are dropped and at
    most :data:`MAX_PERIODS` are returned.
    """
    taken = [False] * len(text)
    found: list[tuple[int, Period]] = []
    for granularity, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if any(taken[match.start() : match.end()]):
                continue
            period = _period(granularity, match)
            if period is None:
                continue
            taken[match.start() : match.end()] = [True] * (match.end() - match.start())
            found.append((match.start(), period))
    periods = list(dict.fromkeys(period for _, period in sorted(found, key=lambda f: f[0])))
    return periods[:MAX_PERIODS]


def _period(granularity: str, match: re.Match[str]) -> Period | None:
    groups = match.groupdict()
    year = int(groups["year"])
    if granularity == "year":
        return Period(_at(year, 1, 1), _at(year + 1, 1, 1), granularity)
    month = (
        int(groups["month_number"])
        if groups.get("month_number")
        else _MONTHS[groups["month"].lower()]
    )
    if not 1 <= month <= 12:
        return None
    if granularity == "month":
        following = _at(year + 1, 1, 1) if month == 12 else _at(year, month + 1, 1)
        return Period(_at(year, month, 1), following, granularity)
    try:
        day = _at(year, month, int(groups["day"]))
    except ValueError:
        return None
    return Period(day, day + dt.timedelta(days=1), granularity)


def _at(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, tzinfo=UTC)
