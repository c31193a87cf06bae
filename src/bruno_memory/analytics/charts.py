"""Charts as inline SVG, drawn in Python: nothing to load when the page is viewed.

Each chart is one ``<svg>`` with an ``id`` and a ``<title>``, in a ``<figure>`` captioned
with that title; every mark that carries a value (a bar, a cell, a point, a line) has the
class ``mark`` and a ``<title>`` of its own (the browser's tooltip). Every text is
escaped. A chart without data draws a "no data" note and no mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

#: The colors of the series, in order.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1")
WIDTH = 720
_ROW = 22  # a horizontal bar's height and gap
_LEFT = 190  # room for a horizontal bar's label
_PLOT_HEIGHT = 180
_MARGIN = 30
#: Characters of a horizontal bar's label shown (the tooltip has all of it).
_LABEL = 30


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


def _svg(chart_id: str, title: str, height: int, body: list[str]) -> str:
    """The chart in a figure captioned with its title (the svg's ``<title>`` too)."""
    safe_id, safe_title = escape(chart_id), escape(title)
    return (
        f"<figure><figcaption>{safe_title}</figcaption>"
        f'<svg id="{safe_id}" class="chart" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{safe_id}-title"><title id="{safe_id}-title">{safe_title}</title>'
        + "".join(body)
        + "</svg></figure>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}">'
        f"{escape(text)}</text>"
    )


def _empty(chart_id: str, title: str) -> str:
    return _svg(chart_id, title, 60, [_text(WIDTH / 2, 35, "no data")])


def _rect(
    x: float, y: float, width: float, height: float, tip: str, *, opacity: float = 1.0
) -> str:
    return (
        f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
        f'height="{height:.1f}" fill="{PALETTE[0]}" fill-opacity="{opacity:.2f}">'
        f"<title>{escape(tip)}</title></rect>"
    )


def column_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float]]) -> str:
    """Vertical bars, one per ``(label, value)``, labelled under the axis."""
    top = max((value for _, value in bars), default=0)
    if top <= 0:
        return _empty(chart_id, title)
    step = (WIDTH - 2 * _MARGIN) / len(bars)
    base = _MARGIN + _PLOT_HEIGHT
    body = [_text(_MARGIN, _MARGIN - 10, f"max {_number(top)}", anchor="start")]
    for n, (label, value) in enumerate(bars):
        x = _MARGIN + n * step
        height = _PLOT_HEIGHT * value / top
        body.append(_rect(x + 1, base - height, step - 2, height, f"{label}: {value}"))
        body.append(_text(x + step / 2, base + 14, label, size=10))
    return _svg(chart_id, title, base + 24, body)


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float]]) -> str:
    """Horizontal bars, one per ``(label, value)``, longest value widest."""
    top = max((value for _, value in bars), default=0)
    if top <= 0:
        return _empty(chart_id, title)
    span = WIDTH - _LEFT - 80
    body = []
    for n, (label, value) in enumerate(bars):
        y = 10 + n * _ROW
        width = span * value / top
        shown = label if len(label) <= _LABEL else label[: _LABEL - 1] + "…"
        body.append(_text(_LEFT - 6, y + 14, shown, anchor="end"))
        body.append(_rect(_LEFT, y, max(width, 1), _ROW - 4, f"{label}: {value}"))
        body.append(_text(_LEFT + width + 6, y + 14, _number(value), anchor="start"))
    return _svg(chart_id, title, 20 + len(bars) * _ROW, body)


def line_chart(
    chart_id: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, list[float]]]
) -> str:
    """One line per ``(name, values)`` over ``labels`` (each point marked), with a legend."""
    top = max((max(values, default=0) for _, values in series), default=0)
    if top <= 0 or not labels:
        return _empty(chart_id, title)
    step = (WIDTH - 2 * _MARGIN) / max(len(labels) - 1, 1)
    base = _MARGIN + _PLOT_HEIGHT
    body = [_text(_MARGIN, _MARGIN - 10, f"max {_number(top)}", anchor="start")]
    for n, (name, values) in enumerate(series):
        color = PALETTE[n % len(PALETTE)]
        points = [(_MARGIN + i * step, base - _PLOT_HEIGHT * v / top) for i, v in enumerate(values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(
            f'<polyline class="mark" points="{path}" fill="none" stroke="{color}" '
            f'stroke-width="2"><title>{escape(name)}</title></polyline>'
        )
        body.extend(
            f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
            f"<title>{escape(f'{name} {labels[i]}: {values[i]}')}</title></circle>"
            for i, (x, y) in enumerate(points)
        )
        body.append(_text(WIDTH - _MARGIN, _MARGIN + 14 * n, name, anchor="end"))
        body.append(
            f'<rect x="{WIDTH - _MARGIN + 4}" y="{_MARGIN + 14 * n - 9}" '
            f'width="10" height="10" fill="{color}"/>'
        )
    for i in sorted({0, len(labels) - 1}):
        body.append(_text(_MARGIN + i * step, base + 14, labels[i], size=10))
    return _svg(chart_id, title, base + 24, body)


def heatmap(
    chart_id: str,
    title: str,
    grid: Sequence[Sequence[int]],
    rows: Sequence[str],
    columns: Sequence[str],
) -> str:
    """A cell per ``grid[row][column]``, darker for more."""
    top = max((max(row, default=0) for row in grid), default=0)
    if top <= 0:
        return _empty(chart_id, title)
    left, size = 50, (WIDTH - 60) / len(columns)
    body = []
    for r, row in enumerate(grid):
        y = 20 + r * size
        body.append(_text(left - 6, y + size * 0.65, rows[r], anchor="end"))
        for c, value in enumerate(row):
            tip = f"{rows[r]} {columns[c]}: {value}"
            shade = 0.08 + 0.92 * value / top
            body.append(_rect(left + c * size, y, size - 1, size - 1, tip, opacity=shade))
    for c in range(0, len(columns), 3):
        body.append(_text(left + (c + 0.5) * size, 14, columns[c], size=10))
    return _svg(chart_id, title, int(30 + len(rows) * size), body)
