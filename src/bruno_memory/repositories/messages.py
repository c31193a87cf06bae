"""Messages: batched inserts, window and keyset reads, full-text search, deletion."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.db.lineage import Lineage, holds
from bruno_memory.db.models import Message
from bruno_memory.mapping import MESSAGE_FIELDS
from bruno_memory.ports.retrieval import MessageStub
from bruno_memory.ports.scope import SearchScope
from bruno_memory.repositories import reads
from bruno_memory.repositories.base import Repository
from bruno_memory.repositories.scope import message_conditions

#: The mapped attributes reads select (:data:`~bruno_memory.mapping.MESSAGE_FIELDS`): an
#: ORM-enabled column select of them obeys the unit's scope and yields rows that
#: :func:`~bruno_memory.mapping.message_from_row` reads as it reads ORM objects.
MESSAGE_ATTRIBUTES: tuple[Any, ...] = tuple(getattr(Message, name) for name in MESSAGE_FIELDS)
#: The columns of a :class:`~bruno_memory.ports.retrieval.MessageStub`, in its fields' order.
_STUB_COLUMNS = (Message.id, Message.conversation_id, Message.seq, Message.timestamp)


@dataclass(frozen=True)
class MessageTotals:
    """Counts of one user's messages."""

    total: int
    by_role: dict[str, int]
    first_at: dt.datetime | None
    last_at: dt.datetime | None


class MessageRepository(Repository):
    """Rows of ``messages``."""

    async def insert_many(self, rows: Sequence[Mapping[str, Any]], chunk_size: int) -> None:
        """Insert rows with executemany, ``chunk_size`` rows per statement."""
        for start in range(0, len(rows), chunk_size):
            await self.session.execute(insert(Message), list(rows[start : start + chunk_size]))

    async def locate(self, lineage: Lineage, message_id: uuid.UUID) -> tuple[str, int] | None:
        """Where a message of the history ``lineage`` names lies: the conversation that holds
        it (the history's own or an ancestor) and its position; None if it is not there."""
        row = (
            await self.session.execute(
                select(Message.conversation_id, Message.seq).where(Message.id == message_id)
            )
        ).first()
        if row is None or not holds(lineage, row.conversation_id, int(row.seq)):
            return None
        return row.conversation_id, int(row.seq)

    async def position_of(self, lineage: Lineage, message_id: uuid.UUID) -> int | None:
        """The position of a message in the history ``lineage`` names, or None if it is
        not there."""
        found = await self.locate(lineage, message_id)
        return None if found is None else found[1]

    async def page(
        self,
        lineage: Lineage,
        *,
        after_seq: int | None,
        before_seq: int | None,
        limit: int,
        include_archived: bool = False,
    ) -> list[Row[Any]]:
        """Up to ``limit`` messages of the history strictly between two positions, oldest
        first.

        With only ``before_seq``, the page ends just before it; otherwise it starts just
        after ``after_seq`` (or at the beginning).
        """
        newest_first = before_seq is not None and after_seq is None
        rows = await reads.across(
            self.session,
            lineage,
            newest_first=newest_first,
            limit=limit,
            after=after_seq,
            before=before_seq,
            include_archived=include_archived,
        )
        return list(reversed(rows)) if newest_first else rows

    async def set_state(
        self,
        conversation_id: str,
        *,
        to: str,
        before: dt.datetime | None,
        after: dt.datetime | None,
    ) -> int:
        """Move the conversation's own messages (not its system messages) timestamped before
        ``before`` / at or after ``after`` into state ``to``; how many moved."""
        conditions = [
            Message.conversation_id == conversation_id,
            Message.role != "system",
            Message.state != to,
        ]
        if before is not None:
            conditions.append(Message.timestamp < before)
        if after is not None:
            conditions.append(Message.timestamp >= after)
        result = await self.session.execute(
            update(Message)
            .where(*conditions)
            .values(state=to)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def search(self, query: FullTextQuery, scope: SearchScope, limit: int) -> list[Message]:
        """Messages in scope matching ``query``, best match first."""
        statement = select(Message).where(*message_conditions(scope))
        return list(
            (await self.fulltext(statement, model=Message, query=query, limit=limit)).scalars()
        )

    async def candidates(
        self, query: FullTextQuery, scope: SearchScope, limit: int
    ) -> list[tuple[MessageStub, str]]:
        """The stubs and contents of the messages in scope matching ``query``, best match
        first (columns only: nothing else of a row is decoded)."""
        statement = select(*_STUB_COLUMNS, Message.content).where(*message_conditions(scope))
        found = await self.fulltext(statement, model=Message, query=query, limit=limit)
        return [(MessageStub(*row[:-1]), row[-1]) for row in found]

    async def by_ids(
        self, ids: Sequence[uuid.UUID], scope: SearchScope
    ) -> dict[uuid.UUID, Row[Any]]:
        """The messages with these ids that are in scope, as rows of
        :data:`MESSAGE_ATTRIBUTES` (no ORM object is built)."""
        if not ids:
            return {}
        rows = await self.session.execute(
            select(*MESSAGE_ATTRIBUTES).where(Message.id.in_(ids), *message_conditions(scope))
        )
        return {row.id: row for row in rows}

    async def stubs(
        self, ids: Sequence[uuid.UUID], scope: SearchScope
    ) -> dict[uuid.UUID, MessageStub]:
        """The stubs of the messages with these ids that are in scope."""
        if not ids:
            return {}
        stubs = await self._stubs(Message.id.in_(ids), scope)
        return {stub.id: stub for stub in stubs}

    async def stubs_at(
        self, positions: Mapping[str, Iterable[int]], scope: SearchScope
    ) -> list[MessageStub]:
        """The stubs of the messages in scope at these positions (``seq``) of these
        conversations."""
        chosen = [
            and_(Message.conversation_id == conversation_id, Message.seq.in_(sorted(set(seqs))))
            for conversation_id, seqs in positions.items()
            if seqs
        ]
        return await self._stubs(or_(*chosen), scope) if chosen else []

    async def _stubs(self, condition: ColumnElement[bool], scope: SearchScope) -> list[MessageStub]:
        statement = select(*_STUB_COLUMNS).where(condition, *message_conditions(scope))
        return [MessageStub(*row) for row in await self.session.execute(statement)]

    async def delete_in_conversation(
        self, conversation_id: str, *, keep_roles: Iterable[str] = ()
    ) -> int:
        """Delete a conversation's messages except those with a role in ``keep_roles``."""
        statement = delete(Message).where(Message.conversation_id == conversation_id)
        kept = list(keep_roles)
        if kept:
            statement = statement.where(Message.role.not_in(kept))
        result = await self.session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def conversations_in_scope(self) -> list[str]:
        """Ids of the conversations holding messages in the unit's scope."""
        self.require_scope()
        return list(await self.session.scalars(select(Message.conversation_id).distinct()))

    async def delete_in_scope(self) -> int:
        """Delete the messages in the unit's scope (see :mod:`bruno_memory.db.scoping`)."""
        self.require_scope()
        result = await self.session.execute(delete(Message))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def totals_in_scope(self) -> MessageTotals:
        """How many messages the scope holds, per role, and when the first and last were
        sent."""
        self.require_scope()
        rows = (
            await self.session.execute(
                select(
                    Message.role,
                    func.count(),
                    func.min(Message.timestamp),
                    func.max(Message.timestamp),
                ).group_by(Message.role)
            )
        ).all()
        by_role = {row[0]: int(row[1]) for row in rows}
        firsts = [row[2] for row in rows if row[2] is not None]
        lasts = [row[3] for row in rows if row[3] is not None]
        return MessageTotals(
            total=sum(by_role.values()),
            by_role=by_role,
            first_at=min(firsts, default=None),
            last_at=max(lasts, default=None),
        )
