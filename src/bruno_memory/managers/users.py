"""Per-user statistics and erasure."""

from __future__ import annotations

from typing import Any

from bruno_core.models.context import UserContext

from bruno_memory.db.engine import Database
from bruno_memory.db.scoping import DataScope
from bruno_memory.managers.changes import ChangeFeed
from bruno_memory.mapping import user_from_row
from bruno_memory.uow import Change, UnitOfWork
from bruno_memory.user_context import UserContextPatch, apply_patch


class UserManager:
    """Operations over everything one user owns."""

    def __init__(self, database: Database, changes: ChangeFeed) -> None:
        self._database = database
        self._changes = changes

    async def get(self, user_id: str) -> UserContext | None:
        """The user's stored context, or None."""
        async with UnitOfWork(self._database, scope=DataScope(user_id=user_id)) as uow:
            row = await uow.users.get()
            return None if row is None else user_from_row(row)

    async def page(self, *, after: str | None, limit: int) -> list[UserContext]:
        """A keyset page of every user, by id (an unscoped read: it lists users)."""
        async with UnitOfWork(self._database) as uow:
            return [user_from_row(row) for row in await uow.users.page(after=after, limit=limit)]

    async def update(self, user_id: str, patch: UserContextPatch) -> UserContext:
        """Apply ``patch`` to the user's context in one write (the row locked meanwhile)."""
        scope = DataScope(user_id=user_id)
        async with UnitOfWork(self._database, write=True, scope=scope) as uow:
            await uow.users.ensure(user_id)
            row = await uow.users.get(for_update=True)
            assert row is not None  # ensured above, in this transaction
            updated = apply_patch(user_from_row(row), patch)
            await uow.users.write_context(row, updated)
            uow.record(Change("update_user_context", user_id=user_id))
            await uow.commit()
        return updated

    async def statistics(self, user_id: str) -> dict[str, Any]:
        """Counts of the user's messages, conversations, sessions and memories."""
        async with UnitOfWork(self._database, scope=DataScope(user_id=user_id)) as uow:
            messages = await uow.messages.totals_in_scope()
            sessions, active_sessions = await uow.sessions.counts_in_scope()
            return {
                "user_id": user_id,
                "total_messages": messages.total,
                "messages_by_role": messages.by_role,
                "first_message_at": messages.first_at,
                "last_message_at": messages.last_at,
                "conversations": await uow.conversations.count_in_scope(),
                "sessions": sessions,
                "active_sessions": active_sessions,
                "memories": await uow.memories.count_in_scope(),
            }

    async def delete(self, user_id: str) -> dict[str, int]:
        """Delete the user and everything they own, in one transaction; returns the counts."""
        scope = DataScope(user_id=user_id)
        async with UnitOfWork(self._database, write=True, scope=scope) as uow:
            conversations = await uow.conversations.ids_in_scope()
            sessions = await uow.sessions.ids_in_scope()
            # The user's conversations go (their views are never served again: a conversation
            # that does not exist is not cached); others holding the user's messages change.
            owned = set(conversations)
            holding = await uow.messages.conversations_in_scope()
            await uow.conversations.new_cache_versions([c for c in holding if c not in owned])
            deleted = {
                "messages": await uow.messages.delete_in_scope(),
                "memories": await uow.memories.delete_in_scope(),
                "sessions": await uow.sessions.delete_in_scope(),
                "conversations": await uow.conversations.delete_in_scope(),
                "users": await uow.users.delete_in_scope(),
            }
            uow.record(Change("erase_user", user_id=user_id))
            await uow.commit()
        await self._changes.user_deleted(user_id, conversations, sessions)
        return deleted
