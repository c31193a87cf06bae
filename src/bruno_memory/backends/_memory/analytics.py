"""Analytics of the in-memory storage: the SQL storage's aggregates, counted in Python (the
reference the conformance suite compares the SQL figures with)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator

from bruno_core.models.message import MessageRole

from bruno_memory.analytics.model import (
    DayCount,
    Figures,
    Growth,
    Patterns,
    TextKey,
    Window,
    activity_grid,
    day_counts,
    length_counts,
    role_pairs,
)
from bruno_memory.backends._memory.tables import StoredMessage, Tables
from bruno_memory.db.types import as_utc
from bruno_memory.text import index_text


class InMemoryAnalysis:
    """The :class:`~bruno_memory.ports.storage.Analysis` port over the storage's tables."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def _conversations(self, window: Window) -> Iterator[list[StoredMessage]]:
        """The window's messages of each conversation in scope, by position."""
        for conversation in self._tables.conversations.values():
            if window.user_id is None or conversation.owner == window.user_id:
                messages = conversation.messages.values()
                kept = [s for s in messages if _within(s.message.timestamp, window)]
                if kept:
                    yield sorted(kept, key=lambda stored: stored.seq)

    async def figures(self, window: Window) -> Figures:
        conversations = list(self._conversations(window))
        times = [as_utc(s.message.timestamp) for c in conversations for s in c]
        return Figures(growth=self._growth(window, times), patterns=_patterns(conversations, times))

    def _growth(self, window: Window, message_times: list[dt.datetime]) -> Growth:
        user = window.user_id
        tables = self._tables
        memories = (m.entry for m in tables.memories.values())
        conversations = tables.conversations.values()
        users = tables.users.values()
        return Growth(
            messages=_per_day(message_times, window),
            memories=_per_day(
                (m.created_at for m in memories if user in (None, m.user_id)), window
            ),
            conversations=_per_day(
                (c.created_at for c in conversations if user in (None, c.owner)), window
            ),
            users=_per_day((u.created_at for u in users if user in (None, u.user_id)), window),
        )

    async def message_texts(
        self, window: Window, *, before: TextKey | None, limit: int
    ) -> list[tuple[TextKey, str]]:
        found = [
            ((as_utc(stored.message.timestamp), stored.stored), stored.message.content)
            for conversation in self._conversations(window)
            for stored in conversation
        ]
        kept = [item for item in found if before is None or item[0] < before]
        return [(key, index_text(text)) for key, text in sorted(kept, reverse=True)[:limit]]


def _within(time: dt.datetime, window: Window) -> bool:
    moment = as_utc(time)
    return (window.since is None or moment >= window.since) and (
        window.until is None or moment < window.until
    )


def _per_day(times: Iterable[dt.datetime], window: Window) -> tuple[DayCount, ...]:
    days = Counter(as_utc(t).date() for t in times if _within(t, window))
    return day_counts(days.items())


def _patterns(conversations: list[list[StoredMessage]], times: list[dt.datetime]) -> Patterns:
    lengths = Counter(len(messages) for messages in conversations)
    hours = Counter((time.weekday(), time.hour) for time in times)
    pairs: Counter[tuple[str | None, str]] = Counter()
    for messages in conversations:
        roles = [MessageRole(s.message.role).value for s in messages]
        pairs.update(zip([None, *roles[:-1]], roles, strict=True))
    return Patterns(
        lengths=length_counts(lengths.items()),
        turn_taking=role_pairs((before, role, n) for (before, role), n in pairs.items()),
        activity=activity_grid((*key, n) for key, n in hours.items()),
    )
