"""Export records read from one consistent snapshot, and batches of records stored back.

A dump reads every table in one read transaction (``REPEATABLE READ`` on PostgreSQL; a
SQLite read transaction is a snapshot): the records it yields are the store at one moment,
so every reference in them (a message's conversation, a summary's messages) resolves.

A load stores one batch of records of one kind in one transaction, and is idempotent: a
record whose id is not stored is inserted; one stored exactly so is left alone; one stored
otherwise is replaced by the batch's version, unless the stored row changed later than
the record did (:func:`changed_at`; kinds without a change time: the batch's version
wins). A record that cannot be stored (it refers to something that is not stored, or a
message's position is another message's) raises :class:`ImportRecordError` naming it, and
nothing of the batch lands.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bruno_memory.db.engine import Database
from bruno_memory.db.models import (
    Conversation,
    Memory,
    Message,
    Session,
    Summary,
    User,
)
from bruno_memory.errors import ImportRecordError
from bruno_memory.managers.changes import ChangeFeed
from bruno_memory.managers.vectors import write_vectors
from bruno_memory.ports.vector import ItemKind, VectorIndex
from bruno_memory.ports.vector import VectorRecord as IndexedVector
from bruno_memory.repositories import transfer as rows
from bruno_memory.transfer.records import (
    LOAD_ORDER,
    ConversationRecord,
    EmbeddingRecord,
    MemoryRecord,
    MessageRecord,
    Record,
    RecordKey,
    SessionRecord,
    SummaryRecord,
    UserRecord,
    decode_vector,
    record_key,
)
from bruno_memory.transfer.reports import LoadCounts
from bruno_memory.uow import Change, UnitOfWork

_NEVER = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def changed_at(record: Record) -> dt.datetime | None:
    """When the row a record holds last changed, for kinds that say (else None)."""
    if isinstance(record, UserRecord):
        return record.last_active
    if isinstance(record, ConversationRecord):
        return record.updated_at
    if isinstance(record, SessionRecord):
        return max(record.last_activity, record.ended_at or _NEVER)
    if isinstance(record, MemoryRecord):
        # Accesses are bookkeeping, not changes: a replica that is read never refuses its
        # source's edits (and takes the source's access counts).
        return max(record.updated_at, record.archived_at or _NEVER)
    return None


@dataclass
class _Plan:
    """A batch sorted against what is stored: new records, records to replace, counts."""

    fresh: list[Any] = field(default_factory=list)
    changed: list[Any] = field(default_factory=list)
    counts: LoadCounts = field(default_factory=LoadCounts)


def _plan(records: Sequence[Record], stored: dict[RecordKey, Record]) -> _Plan:
    plan = _Plan()
    for record in records:
        old = stored.get(record_key(record))
        if old is None:
            plan.fresh.append(record)
            plan.counts.inserted += 1
        elif old == record:
            plan.counts.unchanged += 1
        elif (changed_at(old) or _NEVER) > (changed_at(record) or _NEVER):
            plan.counts.kept += 1
        else:
            plan.changed.append(record)
            plan.counts.replaced += 1
    return plan


def _last_of_each(records: Sequence[Record]) -> list[Record]:
    """The batch with one record per key: the last one (a later line wins)."""
    return list({record_key(record): record for record in records}.values())


class TransferManager:
    """Dumps and loads of the SQL store (the ``Transfer`` sub-port)."""

    def __init__(
        self,
        database: Database,
        changes: ChangeFeed,
        *,
        external_index: VectorIndex | None,
        on_loaded: Callable[[], None],
    ) -> None:
        self._database = database
        self._changes = changes
        self._external = external_index
        self._on_loaded = on_loaded

    async def dump(
        self, *, since: dt.datetime | None, embeddings: bool, page_size: int
    ) -> AsyncIterator[Record]:
        """Every record (changed at or after ``since``), kind by kind in load order."""
        async with UnitOfWork(self._database, snapshot=True) as uow:
            for kind in LOAD_ORDER:
                if kind == "embedding" and not embeddings:
                    continue
                after: rows.Cursor | None = None
                while True:
                    records, after = await uow.transfer.page(
                        kind, after=after, since=since, limit=page_size
                    )
                    for record in records:
                        yield record
                    if after is None:
                        break

    async def load(self, records: Sequence[Record]) -> LoadCounts:
        """Store a batch of records of one kind, in one transaction."""
        kind = records[0].kind
        if any(record.kind != kind for record in records):
            raise ValueError("a batch holds records of one kind")
        batch = _last_of_each(records)
        touched: list[str] = []
        vectors: list[IndexedVector] = []
        async with UnitOfWork(self._database, write=True) as uow:
            stored = await uow.transfer.stored(kind, [record_key(r) for r in batch])
            plan = _plan(batch, stored)
            if plan.fresh or plan.changed:
                if kind == "embedding":
                    vectors = await _write_embeddings(uow, plan)
                else:
                    touched = await _WRITERS[kind](uow, plan, stored)
                uow.record(
                    Change(
                        "import_records",
                        item_ids=tuple(str(record_key(r)) for r in plan.fresh + plan.changed),
                    )
                )
            await uow.commit()
        await self._loaded(touched, vectors)
        return plan.counts

    async def _loaded(self, conversations: list[str], vectors: list[IndexedVector]) -> None:
        if vectors and self._external is not None:
            await self._external.upsert(vectors)
        await self._changes.records_imported(conversations)
        self._on_loaded()


# -- writers by kind ---------------------------------------------------------------------------

_Writer = Callable[[UnitOfWork, _Plan, dict[RecordKey, Record]], Any]


def _missing(
    records: Sequence[Any], attribute: str, present: set[Any], what: str
) -> ImportRecordError | None:
    """The error naming the first record whose ``attribute`` is not among ``present``."""
    for record in records:
        value = getattr(record, attribute)
        if value is not None and value not in present:
            return ImportRecordError(
                f"{record.kind} {record_key(record)} refers to {what} {value}, which is neither "
                "stored nor earlier in the import",
                details={"kind": record.kind, "id": str(record_key(record)), "missing": str(value)},
            )
    return None


async def _require(
    uow: UnitOfWork, records: Sequence[Any], attribute: str, model: Any, what: str
) -> None:
    wanted = {getattr(record, attribute) for record in records} - {None}
    error = _missing(records, attribute, await uow.transfer.present(model, wanted), what)
    if error is not None:
        raise error


async def _write_users(uow: UnitOfWork, plan: _Plan, _: dict[RecordKey, Record]) -> list[str]:
    await uow.transfer.insert(User, [rows.user_values(r) for r in plan.fresh])
    await uow.transfer.update(User, [rows.user_values(r) for r in plan.changed])
    return []


async def _write_conversations(
    uow: UnitOfWork, plan: _Plan, _: dict[RecordKey, Record]
) -> list[str]:
    await _require(uow, plan.fresh + plan.changed, "user_id", User, "the user")
    await uow.transfer.insert(Conversation, [rows.conversation_values(r) for r in plan.fresh])
    await uow.transfer.update(Conversation, [rows.conversation_values(r) for r in plan.changed])
    return [record.id for record in plan.changed]


async def _write_sessions(uow: UnitOfWork, plan: _Plan, _: dict[RecordKey, Record]) -> list[str]:
    records = plan.fresh + plan.changed
    await _require(uow, records, "user_id", User, "the user")
    await _require(uow, records, "conversation_id", Conversation, "the conversation")
    await uow.transfer.insert(Session, [rows.session_values(r) for r in plan.fresh])
    await uow.transfer.update(Session, [rows.session_values(r) for r in plan.changed])
    return [record.conversation_id for record in records]


async def _write_messages(
    uow: UnitOfWork, plan: _Plan, stored: dict[RecordKey, Record]
) -> list[str]:
    records: list[MessageRecord] = plan.fresh + plan.changed
    await _require(uow, records, "conversation_id", Conversation, "the conversation")
    for record in plan.changed:
        old = stored[record.id]
        assert isinstance(old, MessageRecord)
        if (old.conversation_id, old.position) != (record.conversation_id, record.position):
            raise _moved(record, old)
    await _check_positions(uow, plan.fresh)
    await uow.transfer.insert(Message, [rows.message_values(r) for r in plan.fresh])
    tops: dict[str, int] = {}
    for record in plan.fresh:
        tops[record.conversation_id] = max(tops.get(record.conversation_id, 0), record.position)
    await uow.transfer.raise_last_positions(tops)
    models = await uow.transfer.embedding_models()
    if plan.changed or models:
        pks = await uow.transfer.pks(Message, [r.id for r in records])
        await uow.transfer.update(
            Message, [_by_pk(rows.message_values(r), pks[r.id]) for r in plan.changed]
        )
        edited = [pks[r.id] for r in plan.changed if _content_changed(r, stored)]
        await _reembed(uow, "message", models, edited, [pks[r.id] for r in records])
    conversations = sorted({record.conversation_id for record in records})
    await uow.conversations.new_cache_versions(conversations)
    return conversations


async def _check_positions(uow: UnitOfWork, records: Sequence[MessageRecord]) -> None:
    """Refuse new messages whose position in their conversation another message holds (a
    range read per conversation of the batch)."""
    wanted: dict[str, dict[int, uuid.UUID]] = {}
    for record in records:
        wanted.setdefault(record.conversation_id, {})[record.position] = record.id
    for conversation_id, positions in wanted.items():
        for holder, position in await uow.transfer.positions(
            conversation_id, min(positions), max(positions)
        ):
            record_id = positions.get(position)
            if record_id is not None and record_id != holder:
                raise ImportRecordError(
                    f"message {record_id} is at position {position} of conversation "
                    f"{conversation_id}, where the store holds message {holder}",
                    details={"kind": "message", "id": str(record_id), "holder": str(holder)},
                )


def _moved(record: MessageRecord, old: MessageRecord) -> ImportRecordError:
    return ImportRecordError(
        f"message {record.id} is stored at position {old.position} of conversation "
        f"{old.conversation_id}; the import puts it at {record.position} of "
        f"{record.conversation_id} (a message never moves)",
        details={"kind": "message", "id": str(record.id)},
    )


def _by_pk(values: dict[str, Any], pk: int) -> dict[str, Any]:
    """Row values for an update by surrogate key (the position and id stay)."""
    kept = ("id", "conversation_id", "seq")
    return {"pk": pk, **{name: value for name, value in values.items() if name not in kept}}


def _content_changed(record: Any, stored: dict[RecordKey, Record]) -> bool:
    return bool(getattr(stored[record.id], "content", None) != record.content)


async def _reembed(
    uow: UnitOfWork, kind: ItemKind, models: list[str], edited: list[int], pks: list[int]
) -> None:
    """Drop the vectors of items whose content changed, and queue every item that lacks a
    vector under a model the store has registered (its indexer would not find them)."""
    if edited:
        await uow.transfer.forget_vectors(kind, edited)
    for model_key in models:
        await uow.embeddings.enqueue_missing(model_key, only=(kind, pks))


async def _write_summaries(uow: UnitOfWork, plan: _Plan, _: dict[RecordKey, Record]) -> list[str]:
    records: list[SummaryRecord] = plan.fresh + plan.changed
    await _require(uow, records, "conversation_id", Conversation, "the conversation")
    ends = {r.first_message_id for r in records} | {r.last_message_id for r in records}
    pks = await uow.transfer.pks(Message, list(ends))
    for attribute in ("first_message_id", "last_message_id"):
        error = _missing(records, attribute, set(pks), "the message")
        if error is not None:
            raise error
    values = {
        r.id: rows.summary_values(r, pks[r.first_message_id], pks[r.last_message_id])
        for r in records
    }
    await uow.transfer.insert(Summary, [values[r.id] for r in plan.fresh])
    if plan.changed:
        stored_pks = await uow.transfer.pks(Summary, [r.id for r in plan.changed])
        await uow.transfer.update(
            Summary, [{"pk": stored_pks[r.id], **values[r.id]} for r in plan.changed]
        )
    await uow.transfer.link_summaries(records)
    return []


async def _write_memories(
    uow: UnitOfWork, plan: _Plan, stored: dict[RecordKey, Record]
) -> list[str]:
    records: list[MemoryRecord] = plan.fresh + plan.changed
    await _require(uow, records, "user_id", User, "the user")
    await uow.transfer.insert(Memory, [rows.memory_values(r) for r in plan.fresh])
    pks = await uow.transfer.pks(Memory, [r.id for r in records])
    await uow.transfer.update(
        Memory, [_by_pk(rows.memory_values(r), pks[r.id]) for r in plan.changed]
    )
    await uow.transfer.replace_tags({pks[r.id]: r.tags for r in records})
    edited = [pks[r.id] for r in plan.changed if _content_changed(r, stored)]
    models = await uow.transfer.embedding_models()
    await _reembed(uow, "memory", models, edited, [pks[r.id] for r in records])
    return []


async def _write_embeddings(uow: UnitOfWork, plan: _Plan) -> list[IndexedVector]:
    """Store the vectors (replacing an item's vector of the same model); the vectors as an
    external index takes them."""
    records: list[EmbeddingRecord] = plan.fresh + plan.changed
    vectors: list[IndexedVector] = []
    hashes: list[str] = []
    for kind in ("message", "memory"):
        chosen = [record for record in records if record.item_kind == kind]
        targets = await uow.transfer.embedding_targets(kind, [r.item_id for r in chosen])
        error = _missing(chosen, "item_id", set(targets), f"the {kind}")
        if error is not None:
            raise error
        vectors += [_indexed(record, targets[record.item_id]) for record in chosen]
        hashes += [record.content_hash for record in chosen]
    await write_vectors(uow, vectors, hashes)
    return vectors


def _indexed(record: EmbeddingRecord, target: Any) -> IndexedVector:
    vector = decode_vector(record.vector)
    if vector.shape[0] != record.dimensions:
        raise ImportRecordError(
            f"embedding of {record.item_kind} {record.item_id} has {vector.shape[0]} values, "
            f"its record says {record.dimensions}",
            details={"kind": "embedding", "id": str(record.item_id)},
        )
    return IndexedVector(
        kind=record.item_kind,
        item_id=record.item_id,
        model_key=record.model,
        vector=vector,
        user_id=target.user_id,
        conversation_id=target.conversation_id,
        timestamp=target.time,
        role=target.role,
    )


_WRITERS: dict[str, _Writer] = {
    "user": _write_users,
    "conversation": _write_conversations,
    "session": _write_sessions,
    "message": _write_messages,
    "summary": _write_summaries,
    "memory": _write_memories,
}
