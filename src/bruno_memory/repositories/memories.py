"""Memory entries and their tags."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from bruno_core.models.memory import MemoryQuery
from sqlalchemy import Row, delete, exists, func, literal, or_, select, tuple_, update

from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.db.models import EmbeddingJob, Memory, MemoryTag
from bruno_memory.db.types import json_dumps
from bruno_memory.ports.scope import SearchScope
from bruno_memory.ports.storage import MEMORY_ORDER
from bruno_memory.priority import SUBJECT, is_pinned, is_superseded
from bruno_memory.repositories.base import Repository
from bruno_memory.repositories.scope import memory_conditions

#: Seed of the hash of a subject's advisory lock key (PostgreSQL), apart from other locks.
SUBJECT_LOCK_SEED = 0x6272756E6F  # "bruno"

#: The columns of the keys of :data:`~bruno_memory.ports.storage.MEMORY_ORDER`.
_ORDER_KEYS = {"importance": Memory.importance, "created": Memory.created_at, "stored": Memory.pk}


class MemoryRepository(Repository):
    """Rows of ``memories`` and ``memory_tags``."""

    async def add(self, row: Memory) -> None:
        """Stage a new memory (with its tags) and write it, so conflicts surface here."""
        self.session.add(row)
        await self.session.flush()

    async def get(self, memory_id: uuid.UUID, *, for_update: bool = False) -> Memory | None:
        """The memory with its tags, or None; ``for_update``: locked until the unit ends
        (PostgreSQL), read as committed after any writer holding it."""
        statement = select(Memory).where(Memory.id == memory_id)
        if for_update:
            statement = statement.with_for_update(of=Memory)
        return (await self.session.scalars(statement)).first()

    async def query(
        self,
        query: MemoryQuery,
        *,
        text: FullTextQuery | None,
        now: dt.datetime,
        ids: Sequence[uuid.UUID] | None = None,
        pending_for: str | None = None,
    ) -> list[Memory]:
        """Memories matching every filter of ``query`` (only those of ``ids``; only those
        waiting to be embedded under the model ``pending_for``); best text match first when
        searching, otherwise most important, then newest, first."""
        statement = select(Memory).where(
            Memory.user_id == query.user_id, Memory.archived_at.is_(None)
        )
        if ids is not None:
            statement = statement.where(Memory.id.in_(ids))
        if pending_for is not None:
            statement = statement.where(
                exists().where(
                    EmbeddingJob.memory_pk == Memory.pk, EmbeddingJob.model_key == pending_for
                )
            )
        if query.memory_types:
            statement = statement.where(
                Memory.memory_type.in_([kind.value for kind in query.memory_types])
            )
        if query.categories:
            statement = statement.where(Memory.category.in_(query.categories))
        if query.tags:
            statement = statement.where(
                exists().where(MemoryTag.memory_pk == Memory.pk, MemoryTag.tag.in_(query.tags))
            )
        if query.min_confidence > 0:
            statement = statement.where(Memory.confidence >= query.min_confidence)
        if query.min_importance > 0:
            statement = statement.where(Memory.importance >= query.min_importance)
        if not query.include_expired:
            statement = statement.where(or_(Memory.expires_at.is_(None), Memory.expires_at > now))
        if text is not None:
            found = await self.fulltext(statement, model=Memory, query=text, limit=query.limit)
            return list(found.scalars())
        statement = statement.order_by(*(_ORDER_KEYS[key].desc() for key in MEMORY_ORDER))
        return list(await self.session.scalars(statement.limit(query.limit)))

    async def search(
        self, text: FullTextQuery, scope: SearchScope, limit: int, now: dt.datetime
    ) -> list[Memory]:
        """Unexpired memories in scope matching ``text``, best first."""
        statement = select(Memory).where(*memory_conditions(scope, now))
        return list(
            (await self.fulltext(statement, model=Memory, query=text, limit=limit)).scalars()
        )

    async def candidates(
        self, text: FullTextQuery, scope: SearchScope, limit: int, now: dt.datetime
    ) -> list[Row[Any]]:
        """The ids and contents of the unexpired memories in scope matching ``text``, best
        first (columns only: nothing else of a row is decoded)."""
        statement = select(Memory.id, Memory.content).where(*memory_conditions(scope, now))
        return list((await self.fulltext(statement, model=Memory, query=text, limit=limit)).all())

    async def by_ids(
        self, ids: Sequence[uuid.UUID], scope: SearchScope, now: dt.datetime
    ) -> dict[uuid.UUID, Memory]:
        """The unexpired memories with these ids that are in scope."""
        if not ids:
            return {}
        rows = await self.session.scalars(
            select(Memory).where(Memory.id.in_(ids), *memory_conditions(scope, now))
        )
        return {row.id: row for row in rows}

    async def heads(self, user_id: str, category: str | None, subject: str) -> list[Memory]:
        """The user's memories of ``category`` and ``subject`` that nothing supersedes, read
        once no other transaction is linking into that subject.

        SQLite runs one writer at a time. On PostgreSQL, locking the heads alone is not
        enough: two transactions storing into one subject would each read the heads before
        the other's new memory commits, and neither would link to the other. So the unit
        first takes a transaction-level advisory lock on the subject's key (released at
        commit or rollback); the heads are then read after the previous writer committed.
        """
        if self.dialect == "postgresql":
            key = json_dumps([user_id, category, subject])
            await self.session.execute(
                select(func.pg_advisory_xact_lock(func.hashtextextended(key, SUBJECT_LOCK_SEED)))
            )
        same = Memory.category.is_(None) if category is None else Memory.category == category
        rows = await self.session.scalars(
            select(Memory)
            .where(
                Memory.user_id == user_id,
                same,
                Memory.custom_fields[SUBJECT].as_string() == subject,
            )
            .with_for_update()  # an update of a head (which locks it too) finishes first
        )
        return [row for row in rows if not is_superseded(row.custom_fields)]

    async def page_in_scope(
        self,
        *,
        after: tuple[dt.datetime, uuid.UUID] | None,
        limit: int,
        include_archived: bool,
    ) -> list[Memory]:
        """Up to ``limit`` of the scope's memories after ``after`` by creation time then id
        (archived ones only with ``include_archived``): a range of the ``(user_id,
        created_at, id)`` index."""
        self.require_scope()
        statement = select(Memory).order_by(Memory.created_at, Memory.id).limit(limit)
        if after is not None:
            cursor = tuple_(
                literal(after[0], Memory.created_at.type), literal(after[1], Memory.id.type)
            )
            statement = statement.where(tuple_(Memory.created_at, Memory.id) > cursor)
        if not include_archived:
            statement = statement.where(Memory.archived_at.is_(None))
        return list(await self.session.scalars(statement))

    async def archived_of(self, user_id: str) -> list[Memory]:
        """The user's archived memories, the most recently archived first."""
        statement = (
            select(Memory)
            .where(Memory.user_id == user_id, Memory.archived_at.is_not(None))
            .order_by(Memory.archived_at.desc(), Memory.pk.desc())
        )
        return list(await self.session.scalars(statement))

    async def archive(self, user_id: str, ids: Sequence[uuid.UUID], when: dt.datetime) -> int:
        """Archive those of the user's memories of ``ids`` that are active and unpinned."""
        rows = await self.session.scalars(
            select(Memory)
            .where(Memory.user_id == user_id, Memory.id.in_(ids), Memory.archived_at.is_(None))
            .with_for_update()
        )
        chosen = [row for row in rows if not is_pinned(row.custom_fields)]
        for row in chosen:
            row.archived_at = when
        await self.session.flush()
        return len(chosen)

    async def restore(self, user_id: str, ids: Sequence[uuid.UUID] | None) -> int:
        """Restore the user's archived memories (of ``ids``; all when None)."""
        statement = update(Memory).where(Memory.user_id == user_id, Memory.archived_at.is_not(None))
        if ids is not None:
            statement = statement.where(Memory.id.in_(ids))
        result = await self.session.execute(
            statement.values(archived_at=None), execution_options={"synchronize_session": False}
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def record_access(
        self, ids: Sequence[uuid.UUID], when: dt.datetime
    ) -> dict[uuid.UUID, int]:
        """Count one access of each memory of ``ids``; the new access counts by id (of
        those that exist), in one statement."""
        if not ids:
            return {}
        result = await self.session.execute(
            update(Memory)
            .where(Memory.id.in_(ids))
            .values(access_count=Memory.access_count + 1, last_accessed=when)
            .returning(Memory.id, Memory.access_count),
            execution_options={"synchronize_session": False},
        )
        return {memory_id: int(count) for memory_id, count in result.all()}

    async def delete(self, memory_id: uuid.UUID) -> bool:
        """Delete a memory and its tags; False if there was none."""
        result = await self.session.execute(delete(Memory).where(Memory.id == memory_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete_in_scope(self) -> int:
        """Delete the memories in the unit's scope, and their tags."""
        self.require_scope()
        result = await self.session.execute(delete(Memory))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def count_in_scope(self) -> int:
        """How many memories the unit's scope holds."""
        self.require_scope()
        count = await self.session.scalar(select(func.count(Memory.id)))
        return int(count or 0)
