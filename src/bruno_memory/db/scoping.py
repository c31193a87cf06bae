"""Whose rows a unit of work can reach: the data scope, added to every ORM statement.

A :class:`~bruno_memory.uow.UnitOfWork` opened with ``DataScope(user_id="ana")`` reads,
updates and deletes only Ana's rows: a session event adds the scope's criteria to every ORM
``SELECT``, ``UPDATE`` and ``DELETE`` the unit runs (SQLAlchemy's ``with_loader_criteria``,
its documented way to write a global filter once), so a repository method cannot forget them
and a per-user operation cannot reach another user's rows, whatever its own conditions say.

What "Ana's rows" means is written here and nowhere else:

- ``users``: her row; ``sessions``, ``memories``: rows whose ``user_id`` is hers;
- ``conversations``: those she owns (an unowned conversation is nobody's);
- ``messages``, ``summaries``: hers, and every one of a conversation she owns.

Embeddings and embedding jobs are derived data, reached through their items. Unscoped units
(``DataScope()``, the default) see everything: the facade checks ownership of single items
(a session, a conversation) itself. The hot reads of :mod:`bruno_memory.repositories.reads`
are Core statements on a bare connection and take their keys as parameters; a new dimension
(a tenant) is a field here, a column on the scoped tables, and a parameter of those reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, or_, select
from sqlalchemy.orm import ORMExecuteState, with_loader_criteria
from sqlalchemy.orm import Session as OrmSession

from bruno_memory.db.models import Conversation, Memory, Message, Session, User
from bruno_memory.db.models import Summary as SummaryRow

#: Key of the scope in an ORM session's ``info``.
SCOPE_INFO_KEY = "bruno_memory_scope"


@dataclass(frozen=True)
class DataScope:
    """The rows a unit of work may reach; unset fields do not restrict."""

    user_id: str | None = None

    @property
    def restricts(self) -> bool:
        """Whether the scope hides any row."""
        return self.user_id is not None

    def criteria(self) -> list[Any]:
        """The loader criteria that keep statements inside the scope."""
        if self.user_id is None:
            return []
        user = self.user_id
        owned = select(Conversation.id).where(Conversation.user_id == user).scalar_subquery()
        return [
            with_loader_criteria(User, User.id == user),
            with_loader_criteria(Session, Session.user_id == user),
            with_loader_criteria(Memory, Memory.user_id == user),
            with_loader_criteria(Conversation, Conversation.user_id == user),
            with_loader_criteria(
                Message, or_(Message.user_id == user, Message.conversation_id.in_(owned))
            ),
            with_loader_criteria(
                SummaryRow,
                or_(SummaryRow.user_id == user, SummaryRow.conversation_id.in_(owned)),
            ),
        ]


class ScopedSession(OrmSession):
    """The ORM session class of the store: statements obey the scope in its ``info``."""


@event.listens_for(ScopedSession, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    scope = state.session.info.get(SCOPE_INFO_KEY)
    if scope is None or not scope.restricts:
        return
    if state.is_column_load or state.is_relationship_load:
        return  # attributes and relations of rows already in scope
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(*scope.criteria())
