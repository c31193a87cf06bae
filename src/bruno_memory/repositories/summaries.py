"""Summaries of conversation spans (rows of ``summaries``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import aliased

from bruno_memory.db.lineage import Lineage, holds
from bruno_memory.db.models import Message
from bruno_memory.db.models import Summary as SummaryRow
from bruno_memory.repositories.base import Repository


@dataclass(frozen=True)
class SpanEnds:
    """The rows a span starts and ends on."""

    first_pk: int
    first_seq: int
    last_pk: int


#: What a summary reads as (its end messages' ids are joined in).
_COLUMNS = (
    SummaryRow.id,
    SummaryRow.conversation_id,
    SummaryRow.level,
    SummaryRow.content,
    SummaryRow.span_start,
    SummaryRow.span_end,
    SummaryRow.message_count,
    SummaryRow.source_ids,
    SummaryRow.covered_by,
    SummaryRow.model,
    SummaryRow.input_tokens,
    SummaryRow.output_tokens,
    SummaryRow.cost,
    SummaryRow.created_at,
)


class SummaryRepository(Repository):
    """Rows of ``summaries``."""

    async def in_conversation(self, conversation_id: str, *, covered: bool) -> list[Row[Any]]:
        """The conversation's summaries with their end messages' ids, chronologically (the
        higher level first among those starting together); only uncovered ones unless
        ``covered``. One statement over ``(conversation_id, covered_by)``."""
        first, last = aliased(Message), aliased(Message)
        statement = (
            select(
                *_COLUMNS,
                first.id.label("first_message_id"),
                last.id.label("last_message_id"),
            )
            .join(first, first.pk == SummaryRow.first_message_pk)
            .join(last, last.pk == SummaryRow.last_message_pk)
            .where(SummaryRow.conversation_id == conversation_id)
            .order_by(SummaryRow.first_seq, SummaryRow.level.desc())
        )
        if not covered:
            statement = statement.where(SummaryRow.covered_by.is_(None))
        return list((await self.session.execute(statement)).all())

    async def span_ends(
        self, lineage: Lineage, first_id: uuid.UUID, last_id: uuid.UUID
    ) -> SpanEnds | None:
        """Where a span starts and ends, or None when either message is not (or no longer)
        in the history ``lineage`` names."""
        rows = (
            await self.session.execute(
                select(Message.id, Message.pk, Message.seq, Message.conversation_id).where(
                    Message.id.in_({first_id, last_id})
                )
            )
        ).all()
        found = {row.id: row for row in rows if holds(lineage, row.conversation_id, row.seq)}
        if first_id not in found or last_id not in found:
            return None
        return SpanEnds(
            first_pk=found[first_id].pk, first_seq=found[first_id].seq, last_pk=found[last_id].pk
        )

    async def insert(self, row: dict[str, Any]) -> bool:
        """Insert a summary; False when one of its level already starts at its first message."""
        statement = (
            self.insert_statement(SummaryRow).on_conflict_do_nothing().returning(SummaryRow.pk)
        )
        inserted = await self.session.scalar(statement, [row])
        return inserted is not None

    async def cover(self, source_ids: Sequence[uuid.UUID], by: uuid.UUID) -> int:
        """Mark the uncovered ``source_ids`` covered ``by`` a summary; how many were."""
        result = await self.session.execute(
            update(SummaryRow)
            .where(SummaryRow.id.in_(list(source_ids)), SummaryRow.covered_by.is_(None))
            .values(covered_by=by)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
