"""Export and import: a store's records written out and read back exactly, idempotently,
with bad input refused by line and nothing of a failed batch landing.

Stores of one run share a PostgreSQL database, so each test works on the records of its own
users (ids starting with the test's ``uid``) and imports them into an empty database of the
same target (``fresh_url``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from bruno_core.models.message import MessageRole

from bruno_memory import (
    Capability,
    ImportFormatError,
    ImportRecordError,
    Memory,
    create_memory,
)
from bruno_memory.adapters.embeddings import HashingEmbedder
from bruno_memory.context.compression import CompressionPolicy
from bruno_memory.db.types import utc_now
from bruno_memory.transfer.digest import canonical
from bruno_memory.transfer.records import MemoryRecord, MessageRecord, Record
from tests.conformance.helpers import memory_entry, message, user_message
from tests.llms import ExtractiveLLM

#: Each test opens stores of its own on an empty database of the target: it runs once per
#: database (the sync twin's and the cache's transfer methods add nothing to reach).
pytestmark = [pytest.mark.requires(Capability.TRANSFER), pytest.mark.one_per_database]

#: Metadata with a value of every JSON type, nested, and text that is not ASCII.
METADATA: dict[str, Any] = {
    "string": "naïve café ☕ 日本語",
    "int": 42,
    "float": 2.5,
    "bool": True,
    "null": None,
    "list": [1, "two", [3.25], {"four": False}],
    "object": {"nested": {"deeper": ["x", None]}},
}


def _owned(record: Record, uid: str) -> bool:
    """Whether the record belongs to the test (its ids carry the test's prefix)."""
    fields = record.model_dump()
    return any(
        isinstance(fields.get(name), str) and fields[name].startswith(uid)
        for name in ("id", "user_id", "conversation_id")
    )


async def _records(memory: Memory, uid: str, **options: Any) -> list[Record]:
    """The test's records in the store, embeddings of its items included."""
    records = [record async for record in memory.export_records(**options)]
    mine = [record for record in records if _owned(record, uid)]
    ids = {getattr(record, "id", None) for record in mine}
    return mine + [r for r in records if r.kind == "embedding" and r.item_id in ids]  # type: ignore[union-attr]


def _content(records: Sequence[Record]) -> list[bytes]:
    """What records hold, in an order that does not depend on the store."""
    return sorted(canonical(record) for record in records)


@asynccontextmanager
async def _empty_store(fresh_url: str, **options: Any) -> AsyncIterator[Memory]:
    async with create_memory(fresh_url, **{"embedder": None, **options}) as store:
        yield store


async def _conversation_with_everything(memory: Memory, uid: str) -> dict[str, Any]:
    """A user with context, two sessions (one ended), a conversation with a system message,
    archived messages and summaries of two levels, a branch with messages of its own, and
    memories with tags, a pinned one, a superseded one and an archived one."""
    user = f"{uid}-ana"
    await memory.update_user_context(user, name="Ana", preferences={"tone": "warm"})
    session = await memory.start_session(
        user, session_id=f"{uid}-s1", conversation_id=f"{uid}-c1", metadata=METADATA
    )
    old = utc_now() - dt.timedelta(days=3)
    history = [message(MessageRole.SYSTEM, "You are Bruno.", timestamp=old)]
    history += [
        message(
            MessageRole.USER if n % 2 == 0 else MessageRole.ASSISTANT,
            f"turn {n}: the weather in Zürich, line «{n}»",
            timestamp=old + dt.timedelta(minutes=n),
            metadata={"n": n, **(METADATA if n == 3 else {})},
        )
        for n in range(1, 40)
    ]
    await memory.store_messages(history, session.conversation_id)
    await memory.end_session(session.session_id)
    await memory.start_session(user, session_id=f"{uid}-s2", conversation_id=f"{uid}-c1")
    policy = CompressionPolicy(keep_recent=4, max_messages=4, chunk_messages=4, fanout=2)
    await memory.compress(f"{uid}-c1", llm=ExtractiveLLM(), policy=policy)
    await memory.archive(f"{uid}-c1", before=old + dt.timedelta(minutes=5))
    branch = await memory.fork_conversation(f"{uid}-c1", history[20].id)
    await memory.store_messages([user_message("and in the branch?")], branch)
    for n, tags in enumerate((["a", "b"], [], ["c"])):
        await memory.store_memory(
            memory_entry(user, f"memory {n} about Zürich", tags=tags, importance=0.2 + n / 10)
        )
    pinned = memory_entry(user, "pinned fact", importance=0.1)
    pinned.metadata.custom_fields.update({"pinned": True, **METADATA})
    await memory.store_memory(pinned)
    for content in ("lives in Bern", "lives in Zürich"):
        entry = memory_entry(user, content)
        entry.metadata.custom_fields["subject"] = "home"
        await memory.store_memory(entry)
    await memory.prune_memories(user, keep=4)
    return {"user": user, "branch": branch, "conversation": f"{uid}-c1"}


async def test_an_export_imports_back_exactly(memory: Memory, uid: str, fresh_url: str) -> None:
    """Every record of the test (users, sessions, conversations and branches, messages,
    summaries, memories) is stored again as it was: exported again from the new store they
    are the same records, and the facade reads the same history, summaries and memories."""
    made = await _conversation_with_everything(memory, uid)
    exported = await _records(memory, uid)
    assert {record.kind for record in exported} >= {
        "user",
        "session",
        "conversation",
        "message",
        "summary",
        "memory",
    }
    async with _empty_store(fresh_url) as copy:
        report = await copy.import_records(exported)
        assert report.changed == len(exported)
        assert _content(await _records(copy, uid)) == _content(exported)
        for store in (memory, copy):
            assert [m.id for m in await store.retrieve_messages(made["branch"], limit=None)] == [
                m.id for m in await memory.retrieve_messages(made["branch"], limit=None)
            ]
        assert await copy.list_summaries(made["conversation"]) == await memory.list_summaries(
            made["conversation"]
        )
        originals = [m async for m in memory.iter_memories(made["user"], include_archived=True)]
        copies = [m async for m in copy.iter_memories(made["user"], include_archived=True)]
        assert copies == originals
        assert await copy.get_user_context(made["user"]) == await memory.get_user_context(
            made["user"]
        )


async def test_importing_the_same_records_again_changes_nothing(
    memory: Memory, uid: str, fresh_url: str
) -> None:
    await _conversation_with_everything(memory, uid)
    exported = await _records(memory, uid)
    async with _empty_store(fresh_url) as copy:
        await copy.import_records(exported)
        before = _content(await _records(copy, uid))
        again = await copy.import_records(exported, batch_size=7)
        assert again.changed == 0
        assert sum(counts.unchanged for counts in again.kinds.values()) == len(exported)
        assert _content(await _records(copy, uid)) == before


async def test_a_file_round_trip_is_exact(
    memory: Memory, uid: str, fresh_url: str, tmp_path: Path
) -> None:
    """export() writes what import_file() reads back, gzip-compressed too."""
    await _conversation_with_everything(memory, uid)
    path = tmp_path / "backup.jsonl.gz"
    report = await memory.export(path)
    exported = await _records(memory, uid)
    assert sum(report.records.values()) >= len(exported)
    async with _empty_store(fresh_url) as copy:
        imported = await copy.import_file(path)
        assert imported.records == sum(report.records.values())
        assert _content(await _records(copy, uid)) == _content(exported)


async def test_a_newer_stored_row_is_kept_and_an_older_one_replaced(
    memory: Memory, uid: str, fresh_url: str
) -> None:
    """Importing an old version of a memory over a newer one keeps the newer; importing a
    newer version replaces the stored one (and what searches find)."""
    entry = memory_entry(f"{uid}-bo", "first version")
    await memory.store_memory(entry)
    old = await _records(memory, uid)
    entry.content = "second version"
    await memory.update_memory(entry)
    new = await _records(memory, uid)
    async with _empty_store(fresh_url) as copy:
        await copy.import_records(old)
        assert [m.id for m in await copy.search_memories("first", user_id=f"{uid}-bo")] == [
            entry.id
        ]
        report = await copy.import_records(new)
        assert report.kinds["memory"].replaced == 1
        assert await copy.search_memories("first", user_id=f"{uid}-bo") == []
        report = await copy.import_records(old)
        assert report.kinds["memory"].kept == 1
        stored = await copy.get_memory(entry.id)
        assert stored is not None
        assert stored.content == "second version"
        assert [m.id for m in await copy.search_memories("second", user_id=f"{uid}-bo")] == [
            entry.id
        ]


def _lines(records: Sequence[Record]) -> list[str]:
    header = {"kind": "header", "exported_at": utc_now().isoformat(), "source_backend": "x"}
    return [json.dumps(header)] + [record.model_dump_json() for record in records]


async def test_a_bad_line_is_named_and_nothing_of_the_file_lands(
    memory: Memory, uid: str, fresh_url: str, tmp_path: Path
) -> None:
    await memory.store_messages([user_message(f"hello {n}") for n in range(5)], f"{uid}-c")
    lines = _lines(await _records(memory, uid))
    path = tmp_path / "broken.jsonl"
    for number, bad in ((4, '{"kind": "message", "id": "not a uuid"}'), (3, "{not json")):
        broken = [*lines[: number - 1], bad, *lines[number - 1 :]]
        path.write_text("\n".join(broken) + "\n", encoding="utf-8")
        async with _empty_store(fresh_url) as copy:
            with pytest.raises(ImportFormatError) as raised:
                await copy.import_file(path)
            assert raised.value.details["line"] == number
            assert f"line {number}" in str(raised.value)
            assert await _records(copy, uid) == []


async def test_a_record_the_store_cannot_take_is_named_and_its_batch_does_not_land(
    memory: Memory, uid: str, fresh_url: str, tmp_path: Path
) -> None:
    """A message of a conversation that is neither stored nor in the file raises
    ImportRecordError naming its line; the batches before it stay (an import resumes)."""
    await memory.store_messages([user_message(f"hello {n}") for n in range(6)], f"{uid}-c")
    records = await _records(memory, uid)
    messages = [record for record in records if isinstance(record, MessageRecord)]
    orphan = messages[-1].model_copy(update={"conversation_id": f"{uid}-nowhere"})
    path = tmp_path / "orphan.jsonl"
    path.write_text("\n".join(_lines([*records[:-1], orphan])) + "\n", encoding="utf-8")
    async with _empty_store(fresh_url) as copy:
        with pytest.raises(ImportRecordError) as raised:
            await copy.import_file(path, batch_size=3)
        assert raised.value.details["line"] == len(records) + 1
        assert f"{uid}-nowhere" in str(raised.value)
        landed = [r for r in await _records(copy, uid) if r.kind == "message"]
        assert len(landed) == 3  # the first batch of three messages; not the second
        await copy.import_records(records)  # the good file resumes where it stopped
        assert _content(await _records(copy, uid)) == _content(records)


async def test_a_message_never_takes_another_messages_position(
    memory: Memory, uid: str, fresh_url: str
) -> None:
    await memory.store_messages([user_message("original")], f"{uid}-c")
    records = await _records(memory, uid)
    async with _empty_store(fresh_url) as copy:
        await copy.store_messages([user_message("already here")], f"{uid}-c")
        with pytest.raises(ImportRecordError) as raised:
            await copy.import_records(records)
        assert "position 1" in str(raised.value)
        assert [m.content for m in await copy.retrieve_messages(f"{uid}-c")] == ["already here"]


async def test_an_incremental_export_holds_what_changed_since(memory: Memory, uid: str) -> None:
    await memory.store_messages([user_message("before")], f"{uid}-c")
    since = utc_now()
    await memory.store_messages([user_message("after")], f"{uid}-c")
    await memory.store_memory(memory_entry(f"{uid}-u", "a new memory"))
    changed = await _records(memory, uid, since=since)
    assert [r.content for r in changed if isinstance(r, MessageRecord)] == ["after"]
    assert [r.content for r in changed if isinstance(r, MemoryRecord)] == ["a new memory"]
    assert any(r.kind == "conversation" for r in changed)  # it was written to


async def test_a_csv_export_holds_one_row_per_message_or_memory(fresh_url: str, uid: str) -> None:
    """One row per message (or memory) of the store, text with quotes, commas, line breaks
    and accents kept, JSON values as JSON, tags joined."""
    text = 'a "quoted", multi-line\ntext, with ünïcode'
    async with _empty_store(fresh_url) as memory:
        await memory.store_messages(
            [user_message(text, metadata=METADATA), user_message("plain")],
            f"{uid}-c",
            user_id=f"{uid}-u",
        )
        await memory.store_memory(memory_entry(f"{uid}-u", text, tags=["x", "y"]))
        tables = {}
        for table in ("messages", "memories"):
            stream = io.StringIO()
            tables[table] = (await memory.export_csv(stream, table), stream.getvalue())  # type: ignore[arg-type]
    messages = list(csv.DictReader(io.StringIO(tables["messages"][1])))
    assert tables["messages"][0].records == {"message": 2}
    assert [row["content"] for row in messages] == [text, "plain"]
    assert json.loads(messages[0]["metadata"]) == METADATA
    memories = list(csv.DictReader(io.StringIO(tables["memories"][1])))
    assert tables["memories"][0].records == {"memory": 1}
    assert [(row["content"], row["tags"]) for row in memories] == [(text, "x;y")]
    assert json.loads(memories[0]["custom_fields"]) == {}


@pytest.mark.requires(Capability.SEMANTIC)
async def test_vectors_come_along_and_are_not_embedded_again(
    backend: Any, uid: str, fresh_url: str
) -> None:
    """With ``embeddings=True`` the vectors are exported; the store they are imported into
    searches with them at once, without embedding anything again."""
    embedder = HashingEmbedder(dimension=64)
    async with backend.store(embedder=embedder) as memory:
        await memory.store_messages(
            [user_message("the lighthouse keeper"), user_message("a quiet harbour")], f"{uid}-c"
        )
        await memory.wait_for_embeddings()
        exported = await _records(memory, uid, embeddings=True)
    assert sum(record.kind == "embedding" for record in exported) == 2
    async with _empty_store(fresh_url) as copy:
        await copy.import_records(exported)
    async with _empty_store(fresh_url, embedder=embedder) as copy:
        assert await copy.embedding_backlog() == 0
        hits = await copy.search("lighthouse", mode="semantic", conversation_id=f"{uid}-c", limit=1)
        assert [hit.content for hit in hits] == ["the lighthouse keeper"]
        assert _content(await _records(copy, uid, embeddings=True)) == _content(exported)


async def test_an_anonymized_export_holds_no_personal_data_and_imports(
    fresh_url: str, tmp_path: Path
) -> None:
    """Names, emails, phone numbers, addresses and string ids are replaced, each value by
    the same token everywhere; the file still imports (its references hold)."""
    user = "jane.doe@example.com"
    personal = [user, "Jane", "Doe", "jane@work.example", "415-555-0132", "221B Baker Street"]
    async with _empty_store(fresh_url) as memory:
        await memory.update_user_context(user, name="Jane Doe", profile={"phone": "415-555-0132"})
        session = await memory.start_session(user, conversation_id=f"{user}/chat")
        await memory.store_messages(
            [
                user_message("Hi, I'm Jane Doe; mail me at jane@work.example"),
                user_message("Call 415-555-0132 or visit 221B Baker Street, London NW1 6XE"),
                user_message("Did you get jane@work.example? Jane"),
            ],
            session.conversation_id,
        )
        await memory.store_memory(memory_entry(user, "Jane lives at 221B Baker Street"))
        path = tmp_path / "anonymized.jsonl"
        await memory.export(path, anonymize=True)
    text = path.read_text(encoding="utf-8")
    for value in personal:
        assert value not in text
    contents = [json.loads(line).get("content", "") for line in text.splitlines()]
    emails = {token for content in contents for token in content.split() if "EMAIL" in token}
    assert len({token.strip("?.,") for token in emails}) == 1
    assert json.loads(text.splitlines()[0])["anonymized"] is True
    async with _empty_store(f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}") as copy:
        report = await copy.import_file(path)
        assert report.kinds["message"].inserted == 3
        users = [u.user_id async for u in copy.list_users()]
        assert len(users) == 1
        assert users[0].startswith("user_")
        conversations = [c async for c in copy.list_conversations(users[0])]
        assert len(conversations) == 1
