"""Conversations: ownership and the per-conversation message sequence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bruno_memory.db.models import Conversation, Embedding, Message
from bruno_memory.db.types import new_cache_version, utc_now
from bruno_memory.repositories.base import Repository


class ConversationRepository(Repository):
    """Rows of ``conversations``."""

    async def get(self, conversation_id: str) -> Conversation | None:
        """The conversation, or None."""
        return await self.session.get(Conversation, conversation_id)

    async def create_if_missing(self, conversation_id: str, owner: str | None) -> None:
        """Create the conversation (owned by ``owner``) unless it exists."""
        await self.insert_ignoring_conflicts(
            Conversation, [{"id": conversation_id, "user_id": owner}]
        )

    async def owner_of(self, conversation_id: str) -> tuple[bool, str | None]:
        """``(exists, owner)`` of a conversation."""
        row = (
            await self.session.execute(
                select(Conversation.user_id).where(Conversation.id == conversation_id)
            )
        ).first()
        return (False, None) if row is None else (True, row.user_id)

    async def claim(self, conversation_id: str, owner: str) -> bool:
        """Give an unowned conversation and its messages to ``owner``; False if it has an owner."""
        result = await self.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.user_id.is_(None))
            .values(user_id=owner, cache_version=new_cache_version())
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        for model in (Message, Embedding):
            await self.session.execute(
                update(model)
                .where(model.conversation_id == conversation_id, model.user_id.is_(None))
                .values(user_id=owner)
            )
        return True

    async def allocate_positions(
        self, conversation_id: str, count: int
    ) -> tuple[int, str | None] | None:
        """Reserve ``count`` consecutive positions: ``(first position, owner)``, or None
        when the conversation does not exist.

        The UPDATE locks the conversation row until the transaction ends, so concurrent
        writers into one conversation receive disjoint, gap-free ranges. It also gives the
        conversation a new cache version (the messages are about to change).
        """
        row = (
            await self.session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(
                    last_seq=Conversation.last_seq + count,
                    updated_at=utc_now(),
                    cache_version=new_cache_version(),
                )
                .returning(Conversation.last_seq, Conversation.user_id),
                execution_options={"synchronize_session": False},
            )
        ).first()
        return None if row is None else (int(row[0]) - count + 1, row[1])

    async def new_cache_versions(self, conversation_ids: Sequence[str]) -> None:
        """Give the conversations new cache versions: their messages change in this
        transaction, so no view of them cached before counts any more.

        A Core statement on the table, outside the unit's data scope on purpose: erasing a
        user changes the conversations of others that hold the user's messages."""
        table = cast(Table, Conversation.__table__)
        if conversation_ids:
            await self.session.execute(
                update(table)
                .where(table.c.id.in_(list(conversation_ids)))
                .values(cache_version=new_cache_version())
            )

    async def with_branches(self, conversation_id: str) -> list[str]:
        """The conversation and every branch below it (whose history includes its
        messages). One recursive statement on ``parent_id``."""
        table = cast(Table, Conversation.__table__)
        tree = select(table.c.id).where(table.c.id == conversation_id).cte(recursive=True)
        tree = tree.union_all(select(table.c.id).where(table.c.parent_id == tree.c.id))
        found = list(await self.session.scalars(select(tree.c.id)))
        return found or [conversation_id]

    async def delete_in_scope(self) -> int:
        """Delete the conversations in the unit's scope (those its user owns)."""
        self.require_scope()
        result = await self.session.execute(delete(Conversation))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def ids_in_scope(self) -> list[str]:
        """Ids of the conversations in the unit's scope."""
        self.require_scope()
        return list(await self.session.scalars(select(Conversation.id)))

    async def page_in_scope(self, *, after: str | None, limit: int) -> list[Conversation]:
        """Up to ``limit`` of the scope's conversations with an id above ``after``, by id (a
        range of the ``(user_id, id)`` index)."""
        self.require_scope()
        statement = select(Conversation).order_by(Conversation.id).limit(limit)
        if after is not None:
            statement = statement.where(Conversation.id > after)
        return list(await self.session.scalars(statement))

    async def count_in_scope(self) -> int:
        """How many conversations the unit's scope holds."""
        self.require_scope()
        count = await self.session.scalar(select(func.count(Conversation.id)))
        return int(count or 0)


async def read_cache_version(
    connection: AsyncConnection, conversation_id: str
) -> tuple[bool, str | None]:
    """``(exists, cache version)`` of a conversation, on a Core connection (a cached read
    checks it before anything else, so it is kept as cheap as a query can be)."""
    row = (
        await connection.execute(
            select(Conversation.cache_version).where(Conversation.id == conversation_id)
        )
    ).first()
    return (False, None) if row is None else (True, row.cache_version)
