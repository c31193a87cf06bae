"""Whole tables as export records, and records stored back: the rows of an export or import.

Reads and writes are Core statements on the tables (records of rows read are built without
validation: the columns' types already hold), outside any user's scope (an export
holds every user), a page of at most ``limit`` rows per statement. Each kind is read in a
keyset order that is stable under inserts: string-keyed rows by id, the others by their
surrogate key (the order they were stored in, which an import into an empty store keeps).
What callers know an item by replaces the surrogate keys in a record: positions, message
ids, tag lists (:mod:`bruno_memory.transfer.records`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Table,
    bindparam,
    case,
    delete,
    exists,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter

from bruno_memory.db.models import (
    ACTIVE,
    ARCHIVED,
    Conversation,
    Embedding,
    EmbeddingModel,
    Memory,
    MemoryTag,
    Message,
    Session,
    Summary,
    User,
)
from bruno_memory.db.types import new_cache_version
from bruno_memory.repositories.base import Repository
from bruno_memory.text import index_text
from bruno_memory.transfer.records import (
    ConversationRecord,
    EmbeddingRecord,
    MemoryRecord,
    MessageRecord,
    Record,
    RecordKey,
    SessionRecord,
    SummaryRecord,
    UserRecord,
    encode_vector,
    record_key,
)

#: Attribute names that are not their column's name.
_COLUMN_NAMES = {"metadata_": "metadata"}
#: Where a keyset page ends: an id or a surrogate key.
Cursor = str | int


@dataclass(frozen=True)
class _Kind:
    """How one kind of record is read: its statement (already joined), the column its pages
    are keyed by, the columns that say when a row last changed, and the row's record."""

    statement: Callable[[], Select[Any]]
    cursor: Any
    changed: Callable[[], tuple[Any, ...]]
    record: Callable[[Row[Any]], Record]
    key: Callable[[Sequence[RecordKey]], ColumnElement[bool]]


def _user(row: Row[Any]) -> Record:
    return UserRecord.model_construct(
        id=row.id,
        name=row.name,
        preferences=row.preferences,
        profile=row.profile,
        metadata=row.metadata,
        created_at=row.created_at,
        last_active=row.last_active,
    )


def _conversation(row: Row[Any]) -> Record:
    return ConversationRecord.model_construct(
        id=row.id,
        user_id=row.user_id,
        parent_id=row.parent_id,
        fork_message_id=row.fork_message_id,
        fork_position=row.fork_seq,
        last_position=row.last_seq,
        metadata=row.metadata,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _session(row: Row[Any]) -> Record:
    return SessionRecord.model_construct(
        id=row.id,
        user_id=row.user_id,
        conversation_id=row.conversation_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        last_activity=row.last_activity,
        is_active=row.is_active,
        state=row.state,
        metadata=row.metadata,
    )


def _message(row: Row[Any]) -> Record:
    return MessageRecord.model_construct(
        id=row.id,
        conversation_id=row.conversation_id,
        user_id=row.user_id,
        position=row.seq,
        role=row.role,
        type=row.message_type,
        content=row.content,
        metadata=row.metadata,
        parent_id=row.parent_id,
        timestamp=row.timestamp,
        created_at=row.created_at,
        archived=row.state == ARCHIVED,
    )


def _summary(row: Row[Any]) -> Record:
    return SummaryRecord.model_construct(
        id=row.id,
        conversation_id=row.conversation_id,
        user_id=row.user_id,
        level=row.level,
        content=row.content,
        first_message_id=row.first_message_id,
        last_message_id=row.last_message_id,
        first_position=row.first_seq,
        span_start=row.span_start,
        span_end=row.span_end,
        message_count=row.message_count,
        source_ids=row.source_ids,
        covered_by=row.covered_by,
        model=row.model,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cost=row.cost,
        created_at=row.created_at,
    )


def _memory(row: Row[Any]) -> Record:
    return MemoryRecord.model_construct(
        id=row.id,
        user_id=row.user_id,
        conversation_id=row.conversation_id,
        type=row.memory_type,
        content=row.content,
        source=row.source,
        category=row.category,
        confidence=row.confidence,
        importance=row.importance,
        access_count=row.access_count,
        tags=[],  # filled from memory_tags by the page's second statement
        related_memories=row.related_memories,
        custom_fields=row.custom_fields,
        embedding=row.embedding,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_accessed=row.last_accessed,
        expires_at=row.expires_at,
        archived_at=row.archived_at,
    )


def _vector(row: Row[Any]) -> Record:
    return EmbeddingRecord.model_construct(
        item_kind=row.kind,
        item_id=row.item_id,
        model=row.model_key,
        dimensions=row.dimensions,
        content_hash=row.content_hash,
        vector=encode_vector(row.vector),
    )


def _columns(model: Any, *excluded: str) -> list[Any]:
    """The table's columns, ``metadata`` under its column name, without ``excluded``."""
    table = cast(Table, model.__table__)
    return [column for column in table.c if column.key not in excluded]


def _summaries() -> Select[Any]:
    first, last = aliased(Message), aliased(Message)
    return (
        select(
            *_columns(Summary),
            first.id.label("first_message_id"),
            last.id.label("last_message_id"),
        )
        .join(first, first.pk == Summary.first_message_pk)
        .join(last, last.pk == Summary.last_message_pk)
    )


def _by_id(model: Any) -> Callable[[Sequence[RecordKey]], ColumnElement[bool]]:
    return lambda keys: cast(ColumnElement[bool], model.id.in_(list(keys)))


def _vector_keys(keys: Sequence[RecordKey]) -> ColumnElement[bool]:
    return tuple_(Embedding.kind, Embedding.item_id, Embedding.model_key).in_(list(keys))


_EXCLUDED_MESSAGE_COLUMNS = ("search_text", "pk")
KINDS: dict[str, _Kind] = {
    "user": _Kind(
        lambda: select(*_columns(User)),
        User.id,
        lambda: (User.created_at, User.last_active),
        _user,
        _by_id(User),
    ),
    "conversation": _Kind(
        lambda: select(*_columns(Conversation, "cache_version")),
        Conversation.id,
        lambda: (Conversation.created_at, Conversation.updated_at),
        _conversation,
        _by_id(Conversation),
    ),
    "session": _Kind(
        lambda: select(*_columns(Session)),
        Session.id,
        lambda: (Session.started_at, Session.last_activity, Session.ended_at),
        _session,
        _by_id(Session),
    ),
    "message": _Kind(
        lambda: select(*_columns(Message, "search_text")),
        Message.pk,
        lambda: (Message.created_at,),
        _message,
        _by_id(Message),
    ),
    "summary": _Kind(
        _summaries,
        Summary.pk,
        lambda: (Summary.created_at,),
        _summary,
        _by_id(Summary),
    ),
    "memory": _Kind(
        lambda: select(*_columns(Memory, "search_text")),
        Memory.pk,
        lambda: (Memory.created_at, Memory.updated_at, Memory.last_accessed, Memory.archived_at),
        _memory,
        _by_id(Memory),
    ),
    "embedding": _Kind(
        lambda: select(*_columns(Embedding)),
        Embedding.pk,
        lambda: (Embedding.created_at,),
        _vector,
        _vector_keys,
    ),
}


class TransferRepository(Repository):
    """Export records read from the tables, and records written back."""

    # -- reads -------------------------------------------------------------------------------

    async def page(
        self, kind: str, *, after: Cursor | None, since: dt.datetime | None, limit: int
    ) -> tuple[list[Record], Cursor | None]:
        """Up to ``limit`` records of ``kind`` after the cursor (changed at or after
        ``since`` when given), in keyset order; and the cursor of the next page (None: the
        last page)."""
        spec = KINDS[kind]
        statement = spec.statement().order_by(spec.cursor).limit(limit)
        statement = statement.add_columns(spec.cursor.label("transfer_cursor"))
        if after is not None:
            statement = statement.where(spec.cursor > after)
        if since is not None:
            statement = statement.where(or_(*(column >= since for column in spec.changed())))
        rows = await self._rows(statement)
        records = await self._records(kind, rows)
        cursor = rows[-1].transfer_cursor if len(rows) == limit else None
        return records, cursor

    async def stored(self, kind: str, keys: Sequence[RecordKey]) -> dict[RecordKey, Record]:
        """The stored records of ``kind`` with these keys, by key."""
        if not keys:
            return {}
        spec = KINDS[kind]
        rows = await self._rows(spec.statement().where(spec.key(keys)))
        return {record_key(record): record for record in await self._records(kind, rows)}

    async def _rows(self, statement: Select[Any]) -> Sequence[Row[Any]]:
        """The rows of a Core statement, on the unit's connection (no ORM loading)."""
        connection = await self.session.connection()
        return (await connection.execute(statement)).all()

    async def _records(self, kind: str, rows: Sequence[Row[Any]]) -> list[Record]:
        records = [KINDS[kind].record(row) for row in rows]
        if kind != "memory" or not records:
            return records
        tags: dict[int, list[str]] = defaultdict(list)
        by_pk = (
            select(MemoryTag.memory_pk, MemoryTag.tag)
            .where(MemoryTag.memory_pk.in_([row.pk for row in rows]))
            .order_by(MemoryTag.memory_pk, MemoryTag.position)
        )
        for memory_pk, tag in (await self.session.execute(by_pk)).all():
            tags[memory_pk].append(tag)
        return [
            record.model_copy(update={"tags": tags[row.pk]})
            for record, row in zip(records, rows, strict=True)
        ]

    # -- writes ------------------------------------------------------------------------------

    async def present(self, model: Any, ids: set[Any]) -> set[Any]:
        """Which of ``ids`` are stored in ``model``'s table."""
        if not ids:
            return set()
        return set(await self.session.scalars(select(model.id).where(model.id.in_(list(ids)))))

    async def embedding_targets(
        self, kind: str, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Row[Any]]:
        """The fields a vector of each stored item carries (as the indexer writes them)."""
        item: Any = Message if kind == "message" else Memory
        role = Message.role if kind == "message" else Memory.memory_type
        time = Message.timestamp if kind == "message" else Memory.created_at
        statement = select(
            item.id, item.user_id, item.conversation_id, role.label("role"), time.label("time")
        ).where(item.id.in_(list(ids)))
        return {row.id: row for row in (await self.session.execute(statement)).all()}

    # -- writes ------------------------------------------------------------------------------

    async def insert(self, model: Any, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows given by attribute name, with one Core ``executemany`` (column
        defaults applied; no ORM bookkeeping per row)."""
        if rows:
            table = cast(Table, model.__table__)
            renamed = [{_COLUMN_NAMES.get(k, k): v for k, v in row.items()} for row in rows]
            connection = await self.session.connection()
            await connection.execute(insert(table), renamed)

    async def update(self, model: Any, rows: Sequence[dict[str, Any]]) -> None:
        """Update rows by primary key (ORM bulk update: each row names its key)."""
        if rows:
            await self.session.execute(update(model), list(rows))

    async def raise_last_positions(self, tops: dict[str, int]) -> None:
        """Make each conversation's last handed-out position at least the given one."""
        if not tops:
            return
        table = cast(Table, Conversation.__table__)
        top: BindParameter[int] = bindparam("top_")
        statement = (
            update(table)
            .where(table.c.id == bindparam("id_"))
            .values(last_seq=case((table.c.last_seq < top, top), else_=table.c.last_seq))
        )
        await self.session.execute(
            statement, [{"id_": key, "top_": value} for key, value in tops.items()]
        )

    async def replace_tags(self, tags: dict[int, list[str]]) -> None:
        """Give each memory (by surrogate key) exactly these tags, in order."""
        if not tags:
            return
        await self.session.execute(delete(MemoryTag).where(MemoryTag.memory_pk.in_(list(tags))))
        await self.insert(
            MemoryTag,
            [
                {"memory_pk": pk, "position": position, "tag": tag}
                for pk, names in tags.items()
                for position, tag in enumerate(names)
            ],
        )

    async def link_summaries(self, records: Sequence[SummaryRecord]) -> None:
        """Restore which summary covers which, in whatever order the summaries arrived: a
        summary's ``covered_by`` once that summary is stored, and a higher level's sources
        covered by it."""
        table = cast(Table, Summary.__table__)
        covering = [record for record in records if record.covered_by is not None]
        if covering:
            cover: BindParameter[uuid.UUID] = bindparam("cover_")
            holder = aliased(table)
            statement = (
                update(table)
                .where(
                    table.c.id == bindparam("id_"),
                    exists().where(holder.c.id == cover),
                )
                .values(covered_by=cover)
            )
            await self.session.execute(
                statement, [{"id_": r.id, "cover_": r.covered_by} for r in covering]
            )
        for record in records:
            if record.level > 0 and record.source_ids:
                sources = [uuid.UUID(source) for source in record.source_ids]
                await self.session.execute(
                    update(table).where(table.c.id.in_(sources)).values(covered_by=record.id)
                )

    async def pks(self, model: Any, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Surrogate keys of the stored rows of ``model`` among ``ids``."""
        rows = await self.session.execute(select(model.id, model.pk).where(model.id.in_(ids)))
        return {row[0]: int(row[1]) for row in rows.all()}

    async def positions(
        self, conversation_id: str, first: int, last: int
    ) -> list[tuple[uuid.UUID, int]]:
        """``(id, position)`` of the conversation's own messages at positions first..last."""
        statement = select(Message.id, Message.seq).where(
            Message.conversation_id == conversation_id, Message.seq.between(first, last)
        )
        return [(row[0], int(row[1])) for row in await self._rows(statement)]

    async def embedding_models(self) -> list[str]:
        """The models the store has registered (each is kept embedded by an indexer)."""
        return list(await self.session.scalars(select(EmbeddingModel.key)))

    async def forget_vectors(self, kind: str, pks: Sequence[int]) -> None:
        """Drop the vectors of items whose content changed."""
        column = Embedding.message_pk if kind == "message" else Embedding.memory_pk
        await self.session.execute(delete(Embedding).where(column.in_(list(pks))))


# -- records as rows ---------------------------------------------------------------------------


def user_values(record: UserRecord) -> dict[str, Any]:
    """The ``users`` row of a record."""
    return {
        "id": record.id,
        "name": record.name,
        "preferences": record.preferences,
        "profile": record.profile,
        "metadata_": record.metadata,
        "created_at": record.created_at,
        "last_active": record.last_active,
    }


def conversation_values(record: ConversationRecord) -> dict[str, Any]:
    """The ``conversations`` row of a record (with a new cache version)."""
    return {
        "id": record.id,
        "user_id": record.user_id,
        "parent_id": record.parent_id,
        "fork_seq": record.fork_position,
        "fork_message_id": record.fork_message_id,
        "last_seq": record.last_position,
        "cache_version": new_cache_version(),
        "metadata_": record.metadata,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def session_values(record: SessionRecord) -> dict[str, Any]:
    """The ``sessions`` row of a record."""
    return {
        "id": record.id,
        "user_id": record.user_id,
        "conversation_id": record.conversation_id,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "last_activity": record.last_activity,
        "is_active": record.is_active,
        "state": record.state,
        "metadata_": record.metadata,
    }


def message_values(record: MessageRecord) -> dict[str, Any]:
    """The ``messages`` row of a record (its indexed text derived from its content)."""
    return {
        "id": record.id,
        "conversation_id": record.conversation_id,
        "user_id": record.user_id,
        "seq": record.position,
        "role": record.role,
        "message_type": record.type,
        "content": record.content,
        "search_text": index_text(record.content),
        "metadata_": record.metadata,
        "parent_id": record.parent_id,
        "timestamp": record.timestamp,
        "created_at": record.created_at,
        "state": ARCHIVED if record.archived else ACTIVE,
    }


def summary_values(record: SummaryRecord, first_pk: int, last_pk: int) -> dict[str, Any]:
    """The ``summaries`` row of a record, its span's ends given by surrogate key; who
    covers it is linked apart (:meth:`TransferRepository.link_summaries`)."""
    return {
        "id": record.id,
        "conversation_id": record.conversation_id,
        "user_id": record.user_id,
        "level": record.level,
        "content": record.content,
        "first_message_pk": first_pk,
        "last_message_pk": last_pk,
        "first_seq": record.first_position,
        "span_start": record.span_start,
        "span_end": record.span_end,
        "message_count": record.message_count,
        "source_ids": record.source_ids,
        "covered_by": None,
        "model": record.model,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "cost": record.cost,
        "created_at": record.created_at,
    }


def memory_values(record: MemoryRecord) -> dict[str, Any]:
    """The ``memories`` row of a record (its tags are rows of their own)."""
    return {
        "id": record.id,
        "user_id": record.user_id,
        "conversation_id": record.conversation_id,
        "memory_type": record.type,
        "content": record.content,
        "search_text": index_text(record.content),
        "source": record.source,
        "category": record.category,
        "confidence": record.confidence,
        "importance": record.importance,
        "access_count": record.access_count,
        "related_memories": record.related_memories,
        "custom_fields": record.custom_fields,
        "embedding": record.embedding,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "last_accessed": record.last_accessed,
        "expires_at": record.expires_at,
        "archived_at": record.archived_at,
    }
