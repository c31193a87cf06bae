"""Sessions of users."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, Select, cast, delete, func, select, update

from bruno_memory.db.models import Session
from bruno_memory.repositories.base import Repository


class SessionRepository(Repository):
    """Rows of ``sessions``."""

    async def add(self, row: Session) -> None:
        """Stage a new session."""
        self.session.add(row)
        await self.session.flush()

    async def get(self, session_id: str) -> Session | None:
        """The session, or None."""
        return await self.session.get(Session, session_id)

    async def latest_of_conversation(self, conversation_id: str) -> Session | None:
        """The conversation's most recent session, open ones first."""
        return await self._first(
            select(Session)
            .where(Session.conversation_id == conversation_id)
            .order_by(Session.is_active.desc(), Session.last_activity.desc())
        )

    async def end(self, session_id: str, when: dt.datetime) -> bool:
        """Close an open session; False if there is no open session with that id."""
        result = await self.session.execute(
            update(Session)
            .where(Session.id == session_id, Session.is_active.is_(True))
            .values(is_active=False, ended_at=when, last_activity=when)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def touch_conversation(self, conversation_id: str, when: dt.datetime) -> list[str]:
        """Record activity in the open sessions of a conversation; returns their ids."""
        touched = await self.session.scalars(
            update(Session)
            .where(Session.conversation_id == conversation_id, Session.is_active.is_(True))
            .values(last_activity=when)
            .returning(Session.id),
            execution_options={"synchronize_session": False},
        )
        return list(touched)

    async def ids_in_scope(self) -> list[str]:
        """Ids of the sessions in the unit's scope."""
        self.require_scope()
        return list(await self.session.scalars(select(Session.id)))

    async def page_in_scope(
        self, *, active: bool | None, after: str | None, limit: int
    ) -> list[Session]:
        """Up to ``limit`` of the scope's sessions with an id above ``after`` (open or ended
        ones only, unless ``active`` is None), by id (a range of the ``(user_id, id)``
        index)."""
        self.require_scope()
        statement = select(Session).order_by(Session.id).limit(limit)
        if after is not None:
            statement = statement.where(Session.id > after)
        if active is not None:
            statement = statement.where(Session.is_active.is_(active))
        return list(await self.session.scalars(statement))

    async def counts_in_scope(self) -> tuple[int, int]:
        """``(all, active)`` counts of the sessions in the unit's scope."""
        self.require_scope()
        row = (
            await self.session.execute(
                select(
                    func.count(Session.id),
                    func.coalesce(func.sum(cast(Session.is_active, Integer)), 0),
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    async def delete_in_scope(self) -> int:
        """Delete the sessions in the unit's scope."""
        self.require_scope()
        result = await self.session.execute(delete(Session))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _first(self, statement: Select[tuple[Session]]) -> Session | None:
        return (await self.session.scalars(statement.limit(1))).first()
