"""The analytics report: one self-contained HTML file (inline CSS and SVG, no script, nothing
fetched when it is viewed) of an :class:`~bruno_memory.analytics.model.Analytics`.

Every chart (:mod:`.charts`) has an id of :data:`CHARTS`; every text taken from the store
(keywords, user ids, model names, operation names) is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bruno_memory.analytics.charts import bar_chart, column_chart, heatmap, line_chart
from bruno_memory.analytics.model import Analytics, DayCount, Growth, LengthCount

#: The ids of the report's charts, in page order.
CHARTS = (
    "chart-growth",
    "chart-lengths",
    "chart-turns",
    "chart-hours",
    "chart-weekdays",
    "chart-activity",
    "chart-keywords",
    "chart-llm",
    "chart-embeddings",
    "chart-latency",
)
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 760px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.figures span { display: inline-block; margin-right: 1.5em; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #555; }
svg.chart text { fill: #333; font-family: system-ui, sans-serif; }
"""


def render(analytics: Analytics) -> str:
    """The report of ``analytics``, as a complete HTML document."""
    sections = [
        _section("Growth per day", _growth(analytics.growth)),
        _section("Conversation lengths", _lengths(analytics.patterns.lengths)),
        _section("Turn-taking", _turns(analytics)),
        _section("Active hours (UTC)", _activity(analytics)),
        _section("Topics", _keywords(analytics)),
        _section("LLM usage", _llm(analytics)),
        _section("Embeddings", _embeddings(analytics)),
        _section("Operation latencies (this process)", _latencies(analytics)),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>bruno-memory analytics</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>bruno-memory analytics</h1>{_heading(analytics)}{''.join(sections)}"
        "</body></html>\n"
    )


def _section(title: str, content: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{content}</section>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(value))}</td>" for value in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>" if rows else ""


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


def _heading(analytics: Analytics) -> str:
    window = analytics.window
    who = "all users" if window.user_id is None else f"user {window.user_id}"
    since = "the start" if window.since is None else window.since.isoformat()
    until = "now" if window.until is None else window.until.isoformat()
    patterns = analytics.patterns
    figures = {
        "messages": sum(patterns.weekdays),
        "conversations": patterns.conversations,
        "mean length": f"{patterns.mean_length:.1f}",
        "user→assistant": f"{patterns.turn_taking.user_to_assistant_share:.0%}",
    }
    spans = "".join(f"<span><b>{escape(str(v))}</b> {escape(k)}</span>" for k, v in figures.items())
    generated = analytics.generated_at.isoformat(timespec="seconds")
    return (
        f"<p>{escape(who)}, from {escape(since)} until {escape(until)} "
        f'(generated {escape(generated)}).</p><p class="figures">{spans}</p>'
    )


def _growth(growth: Growth) -> str:
    series: list[tuple[str, tuple[DayCount, ...]]] = [
        ("messages", growth.messages),
        ("memories", growth.memories),
        ("conversations", growth.conversations),
        ("users", growth.users),
    ]
    days = sorted({item.day for _, counts in series for item in counts})
    lines = []
    for name, counts in series:
        by_day = {item.day: item.count for item in counts}
        lines.append((name, [float(by_day.get(day, 0)) for day in days]))
    labels = [day.isoformat() for day in days]
    return line_chart("chart-growth", "Items created per day", labels, lines)


def _lengths(lengths: Sequence[LengthCount]) -> str:
    """Conversation lengths in power-of-two ranges: 1, 2-3, 4-7, ..."""
    buckets: dict[int, int] = {}
    for item in lengths:
        low = 1 << (item.length.bit_length() - 1)
        buckets[low] = buckets.get(low, 0) + item.conversations
    bars = [
        (str(low) if low == 1 else f"{low}-{2 * low - 1}", float(count))
        for low, count in sorted(buckets.items())
    ]
    return column_chart("chart-lengths", "Conversations by number of messages", bars)


def _turns(analytics: Analytics) -> str:
    turns = analytics.patterns.turn_taking
    bars = [
        (f"{pair.previous} → {pair.role}", float(pair.count))
        for pair in turns.pairs
        if pair.previous is not None
    ]
    runs = _table(["role", "mean run length"], sorted(turns.mean_run_length.items()))
    share = f"{turns.user_to_assistant_share:.0%}"
    return (
        bar_chart("chart-turns", "Who speaks after whom", bars)
        + f"<p>{escape(share)} of the messages after a user message are the assistant's.</p>"
        + runs
    )


def _activity(analytics: Analytics) -> str:
    patterns = analytics.patterns
    hours = [(str(hour), float(n)) for hour, n in enumerate(patterns.hours)]
    weekdays = [(name, float(n)) for name, n in zip(WEEKDAY_NAMES, patterns.weekdays, strict=True)]
    columns = [f"{hour:02d}h" for hour in range(24)]
    return (
        column_chart("chart-hours", "Messages per hour of the day", hours)
        + column_chart("chart-weekdays", "Messages per weekday", weekdays)
        + heatmap(
            "chart-activity",
            "Messages per weekday and hour",
            patterns.activity,
            WEEKDAY_NAMES,
            columns,
        )
    )


def _keywords(analytics: Analytics) -> str:
    topics = analytics.topics
    bars = [(keyword.word, float(keyword.count)) for keyword in topics.keywords]
    note = f"<p>Top words of the newest {topics.sampled_messages} messages.</p>"
    return note + bar_chart("chart-keywords", "Top keywords", bars)


def _llm(analytics: Analytics) -> str:
    usage = analytics.llm
    bars = [
        (f"{u.user_id or 'unowned'} · {u.model}", float(u.input_tokens + u.output_tokens))
        for u in usage
    ]
    rows = [(u.user_id, u.model, u.calls, u.input_tokens, u.output_tokens, u.cost) for u in usage]
    headers = ["user", "model", "calls", "input tokens", "output tokens", "cost"]
    return bar_chart("chart-llm", "Tokens per user and model", bars) + _table(headers, rows)


def _embeddings(analytics: Analytics) -> str:
    usage = analytics.embeddings
    bars = [(u.model_key, float(u.messages + u.memories)) for u in usage]
    rows = [(u.model_key, u.messages, u.memories, u.texts, u.pending) for u in usage]
    headers = ["model", "message vectors", "memory vectors", "texts embedded", "pending"]
    return bar_chart("chart-embeddings", "Vectors per model", bars) + _table(headers, rows)


def _latencies(analytics: Analytics) -> str:
    latencies = analytics.latencies
    bars = [(item.operation, item.p95 * 1000) for item in latencies]
    rows = [
        (i.operation, i.count, i.p50 * 1000, i.p95 * 1000, i.p99 * 1000, i.max * 1000)
        for i in latencies
    ]
    headers = ["operation", "calls", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    return bar_chart("chart-latency", "p95 latency per operation (ms)", bars) + _table(
        headers, rows
    )
