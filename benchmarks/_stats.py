"""Timing samples, their summaries, and the pass/fail of targets."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: A timed call: receives the sample number, does one unit of work.
Call = Callable[[int], Awaitable[object]]


@dataclass
class Measurement:
    """Samples of one operation by one subject (the library or a raw driver)."""

    backend: str
    operation: str  # store_message, store_messages, ingest, retrieve_messages, search_messages
    subject: str  # "library", "sqlite3", "asyncpg executemany", ...
    stored: int | None  # messages in the database when measured (None: not size-dependent)
    items_per_call: int  # messages written or queries run per sample, for the rate
    samples_ns: list[int]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_library(self) -> bool:
        """True for the library's own samples."""
        return self.subject == "library"

    def percentile_ms(self, q: float) -> float:
        """The ``q``-th percentile (0-100) in milliseconds, interpolated between ranks."""
        return percentile(self.samples_ns, q) / 1e6

    @property
    def rate_per_s(self) -> float:
        """Items per second of timed work (total items over total time)."""
        return self.items_per_call * len(self.samples_ns) / (sum(self.samples_ns) / 1e9)

    def summary(self) -> dict[str, Any]:
        """The measurement as JSON-ready numbers (times in ms)."""
        return {
            "backend": self.backend,
            "operation": self.operation,
            "subject": self.subject,
            "stored_messages": self.stored,
            "items_per_call": self.items_per_call,
            "count": len(self.samples_ns),
            "p50_ms": round(self.percentile_ms(50), 4),
            "p95_ms": round(self.percentile_ms(95), 4),
            "p99_ms": round(self.percentile_ms(99), 4),
            "mean_ms": round(sum(self.samples_ns) / len(self.samples_ns) / 1e6, 4),
            "min_ms": round(min(self.samples_ns) / 1e6, 4),
            "max_ms": round(max(self.samples_ns) / 1e6, 4),
            "rate_per_s": round(self.rate_per_s, 1),
            **self.extra,
        }


@dataclass
class Target:
    """A performance goal and whether this run met it (None: not measured in this run)."""

    backend: str
    name: str
    goal: str
    measured: str
    passed: bool | None

    def summary(self) -> dict[str, Any]:
        """The target as JSON-ready values."""
        return {
            "backend": self.backend,
            "name": self.name,
            "goal": self.goal,
            "measured": self.measured,
            "passed": self.passed,
        }


def percentile(samples: list[int], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``samples``, linear between closest ranks."""
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def interleaved(
    subjects: Mapping[str, Call], count: int, warmup: int
) -> dict[str, list[int]]:
    """Time ``count`` calls of every subject, taking turns, after ``warmup`` untimed rounds.

    Call ``i`` of every subject does the same work (the same query, the same number of
    messages), one subject right after the other, so they see the same database and cache
    state; the order flips every round so that neither always goes first.
    """
    names = list(subjects)
    for number in range(warmup):
        for name in names:
            await subjects[name](number)
    samples: dict[str, list[int]] = {name: [] for name in names}
    gc.collect()
    for number in range(warmup, warmup + count):
        for name in names if number % 2 == 0 else reversed(names):
            started = time.perf_counter_ns()
            await subjects[name](number)
            samples[name].append(time.perf_counter_ns() - started)
    return samples
