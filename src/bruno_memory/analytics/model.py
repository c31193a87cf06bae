"""What :meth:`~bruno_memory.memory.Memory.analytics` returns: typed, frozen, JSON-ready.

A storage computes :class:`Figures` (aggregates of what it holds, by the database); the
facade adds the keywords of a bounded sample of messages (:mod:`.keywords`) and the latencies
it measured (:mod:`.latency`). Derived values (shares, means, sums) are computed fields, so
they are in ``model_dump()`` as well.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, computed_field

#: The key of a message in the keyword sample (newest first): its timestamp, then the
#: storage's own order of writing.
TextKey = tuple[dt.datetime, int]
#: Hours of a day and days of a week (Monday first), the axes of :attr:`Patterns.activity`.
HOURS = 24
WEEKDAYS = 7


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Window(_Frozen):
    """What is analyzed: one user's data (all users' when None), from ``since`` (inclusive)
    until ``until`` (exclusive), by each item's own time (a message's timestamp, the
    creation of everything else)."""

    user_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class DayCount(_Frozen):
    """How many items one UTC day holds."""

    day: dt.date
    count: int


class Growth(_Frozen):
    """Items created per UTC day, days without any left out, oldest first."""

    messages: tuple[DayCount, ...] = ()
    memories: tuple[DayCount, ...] = ()
    conversations: tuple[DayCount, ...] = ()
    users: tuple[DayCount, ...] = ()


class LengthCount(_Frozen):
    """How many conversations hold ``length`` messages (of the window)."""

    length: int
    conversations: int


class RolePair(_Frozen):
    """How many messages of ``role`` follow one of ``previous`` in their conversation
    (``previous`` None: the conversation's first message of the window)."""

    previous: str | None
    role: str
    count: int


class TurnTaking(_Frozen):
    """Who speaks after whom, from the counts of consecutive role pairs."""

    pairs: tuple[RolePair, ...] = ()

    def _count(self, previous: str | None = None, role: str | None = None) -> int:
        return sum(
            p.count
            for p in self.pairs
            if p.previous is not None
            and (previous is None or p.previous == previous)
            and (role is None or p.role == role)
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def user_to_assistant_share(self) -> float:
        """Of the messages following a user message, the share that are the assistant's."""
        after_user = self._count(previous="user")
        return self._count(previous="user", role="assistant") / after_user if after_user else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mean_run_length(self) -> dict[str, float]:
        """Per role, how many messages of that role come in a row, on average."""
        messages: dict[str, int] = {}
        runs: dict[str, int] = {}
        for pair in self.pairs:
            messages[pair.role] = messages.get(pair.role, 0) + pair.count
            if pair.previous != pair.role:
                runs[pair.role] = runs.get(pair.role, 0) + pair.count
        return {role: messages[role] / runs[role] for role in sorted(runs)}


class Patterns(_Frozen):
    """How conversations go: their lengths, turn-taking, and when messages are sent."""

    lengths: tuple[LengthCount, ...] = ()
    turn_taking: TurnTaking = TurnTaking()
    #: Messages per UTC weekday (Monday first) and hour: ``activity[weekday][hour]``.
    activity: tuple[tuple[int, ...], ...] = ((0,) * HOURS,) * WEEKDAYS

    @computed_field  # type: ignore[prop-decorator]
    @property
    def conversations(self) -> int:
        """Conversations with a message in the window."""
        return sum(item.conversations for item in self.lengths)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mean_length(self) -> float:
        """Messages of the window per such conversation."""
        total = sum(item.length * item.conversations for item in self.lengths)
        return total / self.conversations if self.conversations else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hours(self) -> tuple[int, ...]:
        """Messages per UTC hour of the day (0 to 23)."""
        return tuple(sum(day[hour] for day in self.activity) for hour in range(HOURS))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def weekdays(self) -> tuple[int, ...]:
        """Messages per UTC weekday, Monday first."""
        return tuple(sum(day) for day in self.activity)


class LlmUsage(_Frozen):
    """The context engine's LLM calls (its summaries) of one user with one model."""

    user_id: str | None
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    #: The summed cost of the calls whose cost is known; None when none is.
    cost: float | None


class EmbeddingUsage(_Frozen):
    """The vectors stored under one embedding model."""

    model_key: str
    messages: int
    memories: int
    #: Distinct texts embedded: identical text under one model is embedded once, so this is
    #: how many texts the embedder was given.
    texts: int
    #: Items waiting to be embedded (the whole store's: None for one user's analytics).
    pending: int | None = None


class Keyword(_Frozen):
    """A content word and how often it occurs in the sampled messages."""

    word: str
    count: int


class Topics(_Frozen):
    """The top content words of the window's newest messages (stop words left out)."""

    keywords: tuple[Keyword, ...] = ()
    #: Messages read for them (at most :data:`~.keywords.SAMPLE`).
    sampled_messages: int = 0


class Latency(_Frozen):
    """Durations of one facade operation measured in this process, in seconds (percentiles
    are upper bounds of histogram buckets, within 10% above the true value)."""

    operation: str
    count: int
    p50: float
    p95: float
    p99: float
    max: float


class Figures(_Frozen):
    """What a storage computes of a window, in the database."""

    growth: Growth = Growth()
    patterns: Patterns = Patterns()
    llm: tuple[LlmUsage, ...] = ()
    embeddings: tuple[EmbeddingUsage, ...] = ()


class Analytics(Figures):
    """Growth, conversation patterns, topics, LLM and embedding usage of a window, and the
    latencies of the operations this process ran."""

    window: Window
    generated_at: dt.datetime
    topics: Topics = Topics()
    latencies: tuple[Latency, ...] = ()


def day_counts(rows: Iterable[tuple[dt.date, int]]) -> tuple[DayCount, ...]:
    """Counts per day, oldest first."""
    return tuple(DayCount(day=day, count=count) for day, count in sorted(rows))


def activity_grid(rows: Iterable[tuple[int, int, int]]) -> tuple[tuple[int, ...], ...]:
    """The weekday-by-hour grid of ``(weekday, hour, count)`` rows (Monday = 0)."""
    grid = [[0] * HOURS for _ in range(WEEKDAYS)]
    for weekday, hour, count in rows:
        grid[weekday][hour] += count
    return tuple(tuple(day) for day in grid)


def length_counts(rows: Iterable[tuple[int, int]]) -> tuple[LengthCount, ...]:
    """``(length, conversations)`` rows, shortest first."""
    return tuple(LengthCount(length=n, conversations=count) for n, count in sorted(rows))


def role_pairs(rows: Iterable[tuple[str | None, str, int]]) -> TurnTaking:
    """The turn-taking of ``(previous role, role, count)`` rows (in a stable order)."""
    ordered = sorted(rows, key=lambda row: (row[0] or "", row[1]))
    return TurnTaking(
        pairs=tuple(RolePair(previous=before, role=role, count=n) for before, role, n in ordered)
    )
