"""Branches of conversations on the SQL storage (``Capability.BRANCHING``)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from bruno_memory.branches import Branch
from bruno_memory.db import models
from bruno_memory.db.engine import Database
from bruno_memory.db.types import as_utc, utc_now
from bruno_memory.errors import MessageNotFoundError
from bruno_memory.uow import Change, UnitOfWork


class BranchManager:
    """The :class:`~bruno_memory.ports.storage.Branching` port over one database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def fork(self, conversation_id: str, at_message_id: uuid.UUID, branch_id: str) -> None:
        """One row: the branch's parent is the conversation that holds the message (the
        conversation itself or an ancestor), its numbering continues after the message."""
        async with UnitOfWork(self._database, write=True) as uow:
            lineage = await self._database.lineages.of(uow.session, conversation_id)
            at = await uow.messages.locate(lineage, at_message_id)
            if at is None:
                raise MessageNotFoundError(
                    "the message is not in this conversation's history",
                    details={
                        "conversation_id": conversation_id,
                        "at_message_id": str(at_message_id),
                    },
                )
            holder, seq = at
            _, owner = await uow.conversations.owner_of(conversation_id)
            now = utc_now()
            uow.session.add(
                models.Conversation(
                    id=branch_id,
                    user_id=owner,
                    parent_id=holder,
                    fork_seq=seq,
                    fork_message_id=at_message_id,
                    last_seq=seq,
                    created_at=now,
                    updated_at=now,
                )
            )
            await uow.session.flush()
            uow.record(
                Change(
                    "fork_conversation",
                    user_id=owner,
                    conversation_id=branch_id,
                    item_ids=(conversation_id, str(at_message_id)),
                )
            )
            await uow.commit()

    async def branches(self, conversation_id: str) -> list[Branch]:
        async with UnitOfWork(self._database) as uow:
            rows = await uow.session.scalars(
                select(models.Conversation)
                .where(models.Conversation.parent_id == conversation_id)
                .order_by(models.Conversation.created_at, models.Conversation.id)
            )
            return [
                Branch(
                    branch_id=row.id,
                    parent_id=conversation_id,
                    fork_message_id=row.fork_message_id,
                    created_at=as_utc(row.created_at),
                )
                for row in rows
                if row.fork_message_id is not None
            ]
