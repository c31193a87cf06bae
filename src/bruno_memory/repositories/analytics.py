"""Aggregates for analytics: every figure is a GROUP BY in the database, over the unit's
scope and a time window, so what is read back is a handful of rows at any size.

A day, hour or weekday is computed in the database (UTC, as timestamps are stored), in an
inner select grouped by the outer one: PostgreSQL would not take a GROUP BY repeating an
expression whose literals are bound parameters.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    case,
    cast,
    extract,
    func,
    or_,
    select,
    type_coerce,
)

from bruno_memory.analytics.model import TextKey, Window
from bruno_memory.db.base import Base
from bruno_memory.db.models import Embedding, EmbeddingJob, Message
from bruno_memory.db.models import Summary as SummaryRow
from bruno_memory.repositories.base import Repository


class AnalyticsRepository(Repository):
    """Counts over the unit's scope (``messages``, ``memories``, ``conversations``,
    ``users``, ``summaries``) and over ``embeddings``."""

    def _utc(self, column: Any) -> Any:
        """``column`` as a UTC wall-clock timestamp (SQLite stores it so already)."""
        return column if self.dialect == "sqlite" else func.timezone("UTC", column)

    def day(self, column: Any) -> ColumnElement[str]:
        """The UTC day of ``column``, as ``YYYY-MM-DD``."""
        if self.dialect == "sqlite":
            return type_coerce(func.date(column), String)
        return type_coerce(func.to_char(self._utc(column), "YYYY-MM-DD"), String)

    def hour(self, column: Any) -> ColumnElement[int]:
        """The UTC hour of ``column`` (0 to 23)."""
        if self.dialect == "sqlite":
            return cast(func.strftime("%H", column), Integer)
        return cast(extract("hour", self._utc(column)), Integer)

    def weekday(self, column: Any) -> ColumnElement[int]:
        """The UTC weekday of ``column``, Monday 0 to Sunday 6."""
        if self.dialect == "sqlite":
            return (cast(func.strftime("%w", column), Integer) + 6) % 7
        return cast(extract("isodow", self._utc(column)), Integer) - 1

    async def grouped(
        self, model: type[Base], *keys: Any, where: list[Any]
    ) -> list[tuple[Any, ...]]:
        """``(key..., count)`` of the rows of ``model`` that ``where`` selects, per distinct
        ``keys``. Selected from the mapped class: the unit's scope applies whatever the
        keys are."""
        labeled = (key.label(f"k{n}") for n, key in enumerate(keys))
        inner = select(*labeled).select_from(model).where(*where)
        columns = list(inner.subquery().c)
        statement = select(*columns, func.count()).group_by(*columns)
        return [tuple(row) for row in (await self.session.execute(statement)).all()]

    async def per_day(self, column: Any, window: Window) -> list[tuple[dt.date, int]]:
        """How many rows of ``column``'s mapped class fall on each UTC day of the window."""
        where = within(column, window)
        rows = await self.grouped(column.class_, self.day(column), where=where)
        return [(dt.date.fromisoformat(day), int(count)) for day, count in rows]

    async def conversation_lengths(self, window: Window) -> list[tuple[int, int]]:
        """``(length, conversations)``: how many conversations hold each number of the
        window's messages."""
        lengths = (
            select(func.count().label("length"))
            .select_from(Message)
            .where(*within(Message.timestamp, window))
            .group_by(Message.conversation_id)
            .subquery()
        )
        statement = select(lengths.c.length, func.count()).group_by(lengths.c.length)
        return [(int(n), int(count)) for n, count in (await self.session.execute(statement)).all()]

    async def role_pairs(self, window: Window) -> list[tuple[str | None, str, int]]:
        """``(previous role, role, count)`` over consecutive messages of a conversation (by
        position, within the window); the first has no previous role."""
        previous = func.lag(Message.role).over(
            partition_by=Message.conversation_id, order_by=Message.seq
        )
        where = within(Message.timestamp, window)
        rows = await self.grouped(Message, previous, Message.role, where=where)
        return [(before, role, int(count)) for before, role, count in rows]

    async def activity(self, window: Window) -> list[tuple[int, int, int]]:
        """``(weekday, hour, messages)`` of the window's messages."""
        column = Message.timestamp
        where = within(column, window)
        rows = await self.grouped(Message, self.weekday(column), self.hour(column), where=where)
        return [(int(weekday), int(hour), int(count)) for weekday, hour, count in rows]

    async def llm_usage(self, window: Window) -> list[Any]:
        """Summaries (the context engine's LLM calls) per user and model: calls, tokens and
        the cost of those priced."""
        statement = (
            select(
                SummaryRow.user_id,
                SummaryRow.model,
                func.count(),
                func.sum(SummaryRow.input_tokens),
                func.sum(SummaryRow.output_tokens),
                func.sum(SummaryRow.cost),
            )
            .where(*within(SummaryRow.created_at, window))
            .group_by(SummaryRow.user_id, SummaryRow.model)
            .order_by(SummaryRow.user_id, SummaryRow.model)
        )
        return list((await self.session.execute(statement)).all())

    async def embedding_usage(self, window: Window) -> list[Any]:
        """Per model: the vectors of messages and of memories, and the distinct texts
        embedded. Embeddings are derived rows, outside the unit's scope: they are selected
        by their ``user_id`` here."""
        where = within(Embedding.created_at, window)
        if window.user_id is not None:
            where.append(Embedding.user_id == window.user_id)
        statement = (
            select(
                Embedding.model_key,
                func.sum(case((Embedding.kind == "message", 1), else_=0)),
                func.sum(case((Embedding.kind == "memory", 1), else_=0)),
                func.count(func.distinct(Embedding.content_hash)),
            )
            .where(*where)
            .group_by(Embedding.model_key)
            .order_by(Embedding.model_key)
        )
        return list((await self.session.execute(statement)).all())

    async def pending_embeddings(self) -> dict[str, int]:
        """Items waiting to be embedded, per model (the whole store's)."""
        statement = select(EmbeddingJob.model_key, func.count()).group_by(EmbeddingJob.model_key)
        return {key: int(n) for key, n in (await self.session.execute(statement)).all()}

    async def message_texts(
        self, window: Window, *, before: TextKey | None, limit: int
    ) -> list[tuple[TextKey, str]]:
        """Up to ``limit`` of the window's messages before the key ``before`` (all when
        None), the newest first: their key and indexed text. A backward range of
        ``(timestamp)`` (its entries end with the row's key), or ``(user_id, timestamp)``."""
        where = within(Message.timestamp, window)
        if before is not None:
            time, key = before
            where += [Message.timestamp <= time, or_(Message.timestamp < time, Message.pk < key)]
        statement = (
            select(Message.timestamp, Message.pk, Message.search_text)
            .where(*where)
            .order_by(Message.timestamp.desc(), Message.pk.desc())
            .limit(limit)
        )
        rows = (await self.session.execute(statement)).all()
        return [((time, int(pk)), text or "") for time, pk, text in rows]


def within(column: Any, window: Window) -> list[Any]:
    """The conditions keeping ``column`` in the window's times."""
    conditions = []
    if window.since is not None:
        conditions.append(column >= window.since)
    if window.until is not None:
        conditions.append(column < window.until)
    return conditions
