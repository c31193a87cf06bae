"""Users: the owners of conversations, sessions and memories."""

from __future__ import annotations

from sqlalchemy import delete

from bruno_memory.db.models import User
from bruno_memory.repositories.base import Repository


class UserRepository(Repository):
    """Rows of ``users``."""

    async def ensure(self, user_id: str) -> None:
        """Create the user if it does not exist yet."""
        await self.insert_ignoring_conflicts(User, [{"id": user_id}])

    async def delete_in_scope(self) -> int:
        """Delete the user row of the unit's scope; returns how many rows went (0 or 1)."""
        self.require_scope()
        result = await self.session.execute(delete(User))
        return int(result.rowcount)  # type: ignore[attr-defined]
