"""What every repository shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Result, Select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bruno_memory.db.base import Base
from bruno_memory.db.fulltext import FullTextQuery, apply_fulltext
from bruno_memory.db.models import Memory, Message
from bruno_memory.db.scoping import SCOPE_INFO_KEY, DataScope

#: Key, in a session's ``info``, of the transaction that runs with custom plans.
_CUSTOM_PLANS = "bruno_memory_custom_plans"


class Repository:
    """A repository works inside the caller's session and transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def scope(self) -> DataScope:
        """The data scope of the unit of work; every ORM statement obeys it."""
        scope = self.session.info.get(SCOPE_INFO_KEY)
        return scope if isinstance(scope, DataScope) else DataScope()

    def require_scope(self) -> None:
        """Refuse to run a whole-scope operation (count, delete all) in an unscoped unit,
        where it would reach every user's rows."""
        if not self.scope.restricts:
            raise RuntimeError("this operation needs a unit of work scoped to a user")

    async def fulltext(
        self,
        statement: Select[Any],
        *,
        model: type[Message | Memory],
        query: FullTextQuery,
        limit: int,
    ) -> Result[Any]:
        """The best ``limit`` rows of ``statement`` (over ``model``) matching ``query``
        (:func:`~bruno_memory.db.fulltext.apply_fulltext`).

        On PostgreSQL the transaction first switches to custom plans: after five runs a
        prepared statement may get a generic plan, which cannot know how many rows the
        query's words match and evaluates ``websearch_to_tsquery`` once per row (10k
        messages: 81 ms instead of 13). The setting lasts until the transaction ends.
        """
        statement = apply_fulltext(statement, dialect=self.dialect, model=model, query=query)
        if self.dialect == "postgresql":
            transaction = self.session.sync_session.get_transaction()
            if transaction is None or self.session.info.get(_CUSTOM_PLANS) is not transaction:
                await self.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
                self.session.info[_CUSTOM_PLANS] = self.session.sync_session.get_transaction()
        return await self.session.execute(statement.limit(limit))

    @property
    def dialect(self) -> str:
        """Name of the database dialect (``sqlite`` or ``postgresql``)."""
        return self.session.get_bind().dialect.name

    def insert_statement(self, model: type[Base]) -> Any:
        """The dialect's INSERT (with ON CONFLICT support) for ``model``."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return insert(model)

    async def insert_ignoring_conflicts(
        self, model: type[Base], rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """INSERT rows whose key may already exist; existing rows are left as they are."""
        await self.session.execute(
            self.insert_statement(model).on_conflict_do_nothing(), list(rows)
        )
