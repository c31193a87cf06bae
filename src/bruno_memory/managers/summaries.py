"""Summaries of conversation spans on the SQL storage (``Capability.COMPRESSION``)."""

from __future__ import annotations

from bruno_memory.context.summaries import Summary
from bruno_memory.db.engine import Database
from bruno_memory.mapping import summary_from_row, summary_row
from bruno_memory.uow import Change, UnitOfWork


class SummaryManager:
    """The :class:`~bruno_memory.ports.storage.Summaries` port over one database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def list_summaries(self, conversation_id: str, *, covered: bool) -> list[Summary]:
        async with UnitOfWork(self._database) as uow:
            rows = await uow.summaries.in_conversation(conversation_id, covered=covered)
            return [summary_from_row(row) for row in rows]

    async def add_summary(self, summary: Summary) -> bool:
        """One transaction: the span must still be there, no run may have written the same
        start at this level, and every source must still be uncovered; else nothing lands."""
        cid = summary.conversation_id
        async with UnitOfWork(self._database, write=True) as uow:
            lineage = await self._database.lineages.of(uow.session, cid)
            ends = await uow.summaries.span_ends(
                lineage, summary.first_message_id, summary.last_message_id
            )
            if ends is None:
                return False
            _, owner = await uow.conversations.owner_of(cid)
            row = summary_row(
                summary,
                user_id=owner,
                first_pk=ends.first_pk,
                first_seq=ends.first_seq,
                last_pk=ends.last_pk,
            )
            if not await uow.summaries.insert(row):
                return False
            if summary.level > 0:
                covered = await uow.summaries.cover(summary.source_ids, summary.id)
                if covered != len(summary.source_ids):
                    return False  # leaving without commit rolls the insert back
            uow.record(
                Change(
                    "add_summary", user_id=owner, conversation_id=cid, item_ids=(str(summary.id),)
                )
            )
            await uow.commit()
        return True
