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

    async def delete(self, user_id: str) -> int:
        """Delete the user row; returns how many rows went (0 or 1)."""
        result = await self.session.execute(delete(User).where(User.id == user_id))
        return int(result.rowcount)  # type: ignore[attr-defined]
