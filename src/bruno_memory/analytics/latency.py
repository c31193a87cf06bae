"""Durations of the facade's operations, kept in process as bounded histograms.

Each operation name has a fixed array of log-spaced buckets (each 10% wider than the one
before, from 1 µs to over 15 minutes), so recording is a binary search of the edges and an
increment, and the memory held is fixed whatever the number of calls; percentiles are read
from the counts.
"""

from __future__ import annotations

import math
from bisect import bisect_left

from bruno_memory.analytics.model import Latency

#: The lower edge of the first bucket, in seconds, and how much wider each bucket is.
SMALLEST = 1e-6
GROWTH = 1.1
BUCKETS = 216
#: The upper edge of each bucket but the last, which holds everything above.
_EDGES = [SMALLEST * GROWTH**n for n in range(1, BUCKETS)]


def _upper(bucket: int) -> float:
    return SMALLEST * GROWTH ** (bucket + 1)


class _Histogram:
    __slots__ = ("counts", "max", "total")

    def __init__(self) -> None:
        self.counts = [0] * BUCKETS
        self.total = 0
        self.max = 0.0

    def percentile(self, fraction: float) -> float:
        """The upper edge of the bucket holding the ``fraction`` quantile (at most the max)."""
        rank = max(1, math.ceil(fraction * self.total))
        seen = 0
        for bucket, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return min(_upper(bucket), self.max)
        return self.max


class LatencyRecorder:
    """Histograms of operation durations, one per operation name."""

    def __init__(self) -> None:
        self._histograms: dict[str, _Histogram] = {}

    def record(self, operation: str, seconds: float) -> None:
        """Count one run of ``operation`` that took ``seconds``."""
        histogram = self._histograms.get(operation)
        if histogram is None:
            histogram = self._histograms[operation] = _Histogram()
        histogram.counts[bisect_left(_EDGES, seconds)] += 1
        histogram.total += 1
        if seconds > histogram.max:
            histogram.max = seconds

    def snapshot(self) -> tuple[Latency, ...]:
        """p50, p95, p99 and the max of each operation so far, by name."""
        return tuple(
            Latency(
                operation=name,
                count=histogram.total,
                p50=histogram.percentile(0.50),
                p95=histogram.percentile(0.95),
                p99=histogram.percentile(0.99),
                max=histogram.max,
            )
            for name, histogram in sorted(self._histograms.items())
        )
