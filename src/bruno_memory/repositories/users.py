"""Users: the owners of conversations, sessions and memories."""

from __future__ import annotations

from bruno_core.models.context import UserContext
from sqlalchemy import delete, select

from bruno_memory.db.models import User
from bruno_memory.repositories.base import Repository


class UserRepository(Repository):
    """Rows of ``users``."""

    async def ensure(self, user_id: str) -> None:
        """Create the user if it does not exist yet."""
        await self.insert_ignoring_conflicts(User, [{"id": user_id}])

    async def get(self, *, for_update: bool = False) -> User | None:
        """The user row of the unit's scope (locked until the commit with ``for_update``)."""
        self.require_scope()
        statement = select(User)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).first()

    async def page(self, *, after: str | None, limit: int) -> list[User]:
        """Up to ``limit`` users with an id above ``after``, by id (a range of the key)."""
        statement = select(User).order_by(User.id).limit(limit)
        if after is not None:
            statement = statement.where(User.id > after)
        return list(await self.session.scalars(statement))

    async def write_context(self, row: User, context: UserContext) -> None:
        """Store ``context``'s name, profile, preferences and metadata on ``row``."""
        row.name = context.name
        row.profile = dict(context.profile)
        row.preferences = dict(context.preferences)
        row.metadata_ = dict(context.metadata)
        await self.session.flush()

    async def delete_in_scope(self) -> int:
        """Delete the user row of the unit's scope; returns how many rows went (0 or 1)."""
        self.require_scope()
        result = await self.session.execute(delete(User))
        return int(result.rowcount)  # type: ignore[attr-defined]
