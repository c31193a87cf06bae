"""The report as a browser shows it: headless Chromium (Debian's ``chromium`` package) opens
the file ``bruno-memory report`` wrote, offline, and every chart drew.

Two checks: the DOM Chromium laid out (a probe script, added to a copy of the report, counts
the marks of each chart that have a size on the page), and a screenshot that is not blank
and shows the bars' color (decoded here with zlib: no imaging library needed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from bruno_core.models.message import Message, MessageRole

from bruno_memory import Memory
from bruno_memory.adapters.embeddings import HashingEmbedder
from bruno_memory.analytics.charts import PALETTE
from bruno_memory.analytics.report import CHARTS
from tests.conformance.test_compression import SMALL
from tests.integration.test_cli import cli
from tests.llms import ExtractiveLLM

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless Chromium is not installed (/usr/bin/chromium: apt-get install chromium)",
)

#: Added before ``</body>`` of a copy of the report (which has no script of its own): per
#: chart, how many of its marks the browser laid out with a size.
PROBE = """<script>
const drawn = {};
for (const svg of document.querySelectorAll("svg.chart")) {
  drawn[svg.id] = [...svg.querySelectorAll(".mark")].filter((mark) => {
    const box = mark.getBoundingClientRect();
    return box.width > 0 || box.height > 0;
  }).length;
}
const out = document.createElement("pre");
out.id = "drawn";
out.textContent = JSON.stringify(drawn);
document.body.append(out);
</script>"""
MONDAY = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium, offline (no proxy can be reached), as in a CI container."""
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    return subprocess.run(
        [*command, "--proxy-server=127.0.0.1:9", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


async def _store(url: str) -> None:
    """A conversation over a week, summarized by an LLM, embedded, with memories."""
    turns = [
        Message(
            role=(MessageRole.USER, MessageRole.ASSISTANT)[n % 2],
            content=f"turn {n} about lisbon trips and topic{n % 5}",
            timestamp=MONDAY + dt.timedelta(hours=7 * n),
        )
        for n in range(24)
    ]
    async with Memory(url, embedder=HashingEmbedder()) as memory:
        session = await memory.create_session("alice")
        await memory.store_messages(turns, session.conversation_id)
        await memory.compress(session.conversation_id, llm=ExtractiveLLM(), policy=SMALL)
        await memory.wait_for_embeddings()


def _rgb(png: bytes) -> np.ndarray:
    """The pixels of an 8-bit, non-interlaced RGB or RGBA PNG, as ``height x width x 3``."""
    chunks, position = {}, 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        chunks[kind] = chunks.get(kind, b"") + png[position + 8 : position + 8 + length]
        position += length + 12
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, color in (2, 6), interlace) == (8, True, 0)
    channels = 3 if color == 2 else 4
    stride = width * channels
    raw = zlib.decompress(chunks[b"IDAT"])
    rows = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1).copy()
        if kind == 1:
            line = np.cumsum(line.reshape(width, channels), axis=0, dtype=np.uint8).ravel()
        elif kind == 2:
            line += previous
        elif kind in (3, 4):
            line = _unfilter(kind, line, previous, channels)
        rows[y] = previous = line
    return rows.reshape(height, width, channels)[:, :, :3]


def _unfilter(kind: int, line: np.ndarray, above: np.ndarray, channels: int) -> np.ndarray:
    """A PNG row of the Average (3) or Paeth (4) filter, byte by byte."""
    out = bytearray(line.tobytes())
    up = above.tobytes()
    for i in range(len(out)):
        left = out[i - channels] if i >= channels else 0
        corner = up[i - channels] if i >= channels else 0
        if kind == 3:
            out[i] = (out[i] + (left + up[i]) // 2) & 0xFF
            continue
        estimate = left + up[i] - corner
        near = min(
            (abs(estimate - left), 0, left),
            (abs(estimate - up[i]), 1, up[i]),
            (abs(estimate - corner), 2, corner),
        )
        out[i] = (out[i] + near[2]) & 0xFF
    return np.frombuffer(bytes(out), dtype=np.uint8)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report ``bruno-memory report`` writes of a SQLite file with every kind of data."""
    folder = tmp_path_factory.mktemp("report")
    url = f"sqlite+aiosqlite:///{folder / 'memory.db'}"
    asyncio.run(_store(url))
    out = folder / "report.html"
    written = cli("report", "--out", str(out), "--url", url)
    assert written.returncode == 0, written.stderr
    return out


def test_every_chart_is_laid_out_with_its_marks(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    probed = report.with_name("probed.html")
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")

    dom = chromium("--dump-dom", probed.as_uri()).stdout

    found = re.search(r'<pre id="drawn">(.*?)</pre>', dom)
    assert found is not None, dom[-500:]
    drawn = json.loads(found.group(1))
    assert list(drawn) == list(CHARTS)
    for chart in CHARTS:
        svg = re.search(rf'<svg id="{chart}".*?</svg>', page, re.DOTALL)
        assert svg is not None
        assert drawn[chart] == svg.group(0).count('class="mark"') > 0, chart


def test_the_screenshot_shows_the_charts(report: Path) -> None:
    shot = report.with_name("report.png")

    chromium("--window-size=800,1400", f"--screenshot={shot}", report.as_uri())

    pixels = _rgb(shot.read_bytes()).astype(np.int32)
    assert pixels.shape[:2] == (1400, 800)
    assert pixels.std() > 20  # not blank
    bar = [int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5)]
    painted = np.all(np.abs(pixels - bar) <= 3, axis=2).sum()
    assert painted > 5_000  # the bars of the first charts, in the bars' color
