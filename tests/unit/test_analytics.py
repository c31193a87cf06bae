"""The parts of analytics that need no store: latency histograms, the bounded keyword
counter, and the HTML report (self-contained, escaped, every chart drawn)."""

from __future__ import annotations

import datetime as dt
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bruno_memory.analytics.keywords import TopWords, keywords_of
from bruno_memory.analytics.latency import GROWTH, LatencyRecorder
from bruno_memory.analytics.model import (
    Analytics,
    DayCount,
    Growth,
    Keyword,
    LlmUsage,
    Topics,
    Window,
)
from bruno_memory.analytics.report import CHARTS, render


@given(st.lists(st.floats(min_value=1e-6, max_value=100.0), min_size=1, max_size=200))
def test_percentiles_are_within_a_bucket_above_the_true_value(samples: list[float]) -> None:
    recorder = LatencyRecorder()
    for seconds in samples:
        recorder.record("op", seconds)
    [latency] = recorder.snapshot()
    ordered = sorted(samples)
    assert latency.count == len(samples)
    assert latency.max == ordered[-1]
    for fraction, found in ((0.5, latency.p50), (0.95, latency.p95), (0.99, latency.p99)):
        true = ordered[max(1, math.ceil(len(ordered) * fraction)) - 1]
        assert true <= found <= true * GROWTH * 1.0000001


def test_keywords_leave_out_stop_words_numbers_and_short_words() -> None:
    assert keywords_of("The 42 cats of Paris, and a cat: OK?") == ["cats", "paris", "cat"]


def test_the_keyword_counter_is_exact_below_capacity_and_bounded_above() -> None:
    exact = TopWords(capacity=10)
    exact.add(["b", "a", "b", "c", "b", "a"])
    assert exact.top(2) == (Keyword(word="b", count=3), Keyword(word="a", count=2))

    bounded = TopWords(capacity=3)  # a word of more than 1/4 of them survives
    bounded.add(word for n in range(1000) for word in ("hot", f"rare{n}", f"rare{n}b"))
    assert len(bounded.top(100)) <= 3
    assert bounded.top(1)[0].word == "hot"


def _hostile() -> Analytics:
    """Analytics whose store-given texts try to break out of the page."""
    evil = '<script>alert("x")</script>'
    day = dt.date(2026, 1, 5)
    return Analytics(
        window=Window(user_id=evil),
        generated_at=dt.datetime(2026, 1, 6, tzinfo=dt.UTC),
        growth=Growth(messages=(DayCount(day=day, count=3),)),
        topics=Topics(keywords=(Keyword(word=evil, count=2),), sampled_messages=3),
        llm=(
            LlmUsage(user_id=evil, model=evil, calls=1, input_tokens=5, output_tokens=2, cost=None),
        ),
    )


def test_the_report_is_one_escaped_self_contained_page() -> None:
    page = render(_hostile())

    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page)
    assert re.findall(r"https?://[^\"']+", page) == ["http://www.w3.org/2000/svg"] * len(CHARTS)
    for chart in CHARTS:
        assert f'<svg id="{chart}"' in page


@pytest.mark.parametrize("chart", ["chart-growth", "chart-keywords", "chart-llm"])
def test_a_chart_with_data_draws_marks_and_one_without_says_so(chart: str) -> None:
    page = render(_hostile())
    svg = re.search(rf'<svg id="{chart}".*?</svg>', page)
    assert svg is not None
    assert 'class="mark"' in svg.group(0)
    empty = re.search(r'<svg id="chart-embeddings".*?</svg>', page)
    assert empty is not None
    assert "no data" in empty.group(0)
    assert 'class="mark"' not in empty.group(0)
