"""Query understanding for retrieval: the dates a query names, stop words, settings."""

from __future__ import annotations

import datetime as dt

import pytest

from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.managers.retriever import RetrievalSettings
from bruno_memory.retrieval import find_periods, without_stop_words
from bruno_memory.retrieval.dates import MAX_PERIODS
from bruno_memory.retrieval.options import retrieval_settings
from bruno_memory.settings import MemorySettings

UTC = dt.timezone.utc


def spans(text: str) -> list[tuple[str, str, str]]:
    return [
        (period.start.date().isoformat(), period.end.date().isoformat(), period.granularity)
        for period in find_periods(text)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Who did Maria meet on May 3, 2023?", [("2023-05-03", "2023-05-04", "day")]),
        ("on May 3rd 2023", [("2023-05-03", "2023-05-04", "day")]),
        ("What did Gina find on 1 February, 2023?", [("2023-02-01", "2023-02-02", "day")]),
        ("the 3rd of May, 2023", [("2023-05-03", "2023-05-04", "day")]),
        ("logged 2023-05-03", [("2023-05-03", "2023-05-04", "day")]),
        ("What did they paint in July 2023?", [("2023-07-01", "2023-08-01", "month")]),
        ("in December, 2022", [("2022-12-01", "2023-01-01", "month")]),
        ("Sept. of 2021", [("2021-09-01", "2021-10-01", "month")]),
        ("2023-06", [("2023-06-01", "2023-07-01", "month")]),
        ("How many times in 2023?", [("2023-01-01", "2024-01-01", "year")]),
    ],
)
def test_dates_are_found_at_their_granularity(
    text: str, expected: list[tuple[str, str, str]]
) -> None:
    """Days, months and years in the usual English spellings become UTC periods."""
    assert spans(text) == expected


def test_periods_are_utc_and_end_exclusive() -> None:
    """A day runs from its midnight UTC to the next one."""
    (period,) = find_periods("on March 1, 2024")
    assert period.start == dt.datetime(2024, 3, 1, tzinfo=UTC)
    assert period.end == dt.datetime(2024, 3, 2, tzinfo=UTC)


def test_each_date_counts_once_in_order() -> None:
    """A day is not also read as its year; several dates come in the order written."""
    assert spans("between January 2024 and 5 March 2022, not 2019") == [
        ("2024-01-01", "2024-02-01", "month"),
        ("2022-03-05", "2022-03-06", "day"),
        ("2019-01-01", "2020-01-01", "year"),
    ]
    assert spans("July 2023 and again July 2023") == [("2023-07-01", "2023-08-01", "month")]


@pytest.mark.parametrize(
    "text",
    [
        "May I ask what happened in May?",  # no year: which May is unknown
        "last week",  # relative: no anchor
        "room 1234 at 10:30",  # not a plausible year
        "",
    ],
)
def test_no_period_without_a_year(text: str) -> None:
    """Dates without a year and numbers that are no year name no period."""
    assert find_periods(text) == []


def test_impossible_day_leaves_its_year() -> None:
    """February 30 is no day; its year still counts."""
    assert spans("February 30, 2023") == [("2023-01-01", "2024-01-01", "year")]


def test_periods_are_capped() -> None:
    """At most MAX_PERIODS periods come from one query."""
    assert len(find_periods(" ".join(str(year) for year in range(2000, 2010)))) == MAX_PERIODS


def test_stop_words_are_dropped_unless_nothing_is_left() -> None:
    """Content words survive; a query of stop words alone is searched as it is."""
    query = FullTextQuery.parse("What did the Jazz band play?", MatchMode.ANY)
    assert without_stop_words(query).terms == ("jazz", "band", "play")
    assert without_stop_words(query).mode is MatchMode.ANY
    only = FullTextQuery.parse("what is it", MatchMode.ANY)
    assert without_stop_words(only) == only


def test_search_settings_reach_the_retriever() -> None:
    """Every search_* setting maps to the retriever's settings; the defaults agree."""
    assert retrieval_settings(MemorySettings().search) == RetrievalSettings()
    custom = retrieval_settings(
        MemorySettings(
            search_rrf_k=60,
            search_stop_words=False,
            search_date_weight=0.5,
            search_date_before_days=0,
            search_date_after_days=3,
            search_neighbor_weight=0,
            search_neighbor_window=1,
        ).search
    )
    assert (
        custom.rrf_k,
        custom.stop_words,
        custom.date_weight,
        custom.date_before_days,
        custom.date_after_days,
        custom.neighbor_weight,
        custom.neighbor_window,
    ) == (60, False, 0.5, 0, 3, 0, 1)
