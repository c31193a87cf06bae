"""Round trips between dialects: random stores (branches, summaries, archived messages,
memories, unicode, metadata of every JSON type) exported from SQLite, imported into
PostgreSQL, exported again and imported into SQLite hold the same records at every step;
and a copy between them is verified.

Runs on each PostgreSQL target (its shared database, each example's users under a prefix of
their own) with a new SQLite file per example.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from bruno_core.models.message import MessageRole
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruno_memory import Capability, Memory, create_memory
from bruno_memory.context.compression import CompressionPolicy
from bruno_memory.db.types import utc_now
from bruno_memory.transfer.digest import canonical
from bruno_memory.transfer.records import Record
from tests.conformance.helpers import memory_entry, message
from tests.conftest import copy_of_migrated
from tests.llms import ExtractiveLLM

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.one_per_database,
    pytest.mark.requires(Capability.TRANSFER),
]

#: Text both databases store as given: no NUL (PostgreSQL's text and JSONB refuse it) and
#: no lone surrogates (not UTF-8).
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
#: Text that is not blank (contents, names).
WORDS = TEXT.filter(str.strip)
JSON: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False, width=64)
    | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
CONVERSATION = st.fixed_dictionaries(
    {
        "texts": st.lists(WORDS, min_size=1, max_size=12),
        "metadata": st.dictionaries(TEXT, JSON, max_size=3),
        "fork": st.none() | st.tuples(st.integers(0, 20), st.lists(WORDS, max_size=3)),
        "compress": st.booleans(),
        "archive": st.integers(0, 3),
    }
)
USER = st.fixed_dictionaries(
    {
        "name": st.none() | WORDS,
        "profile": st.dictionaries(TEXT, JSON, max_size=3),
        "conversations": st.lists(CONVERSATION, min_size=1, max_size=2),
        "memories": st.lists(
            st.tuples(WORDS, st.lists(WORDS, max_size=2), JSON),
            max_size=3,
        ),
    }
)
STORE = st.lists(USER, min_size=1, max_size=2)
POLICY = CompressionPolicy(keep_recent=2, max_messages=2, chunk_messages=2, fanout=2)


async def _fill(memory: Memory, prefix: str, users: list[dict[str, Any]]) -> None:
    start = utc_now() - dt.timedelta(days=1)
    for u, user in enumerate(users):
        user_id = f"{prefix}-u{u}"
        await memory.update_user_context(user_id, name=user["name"], profile=user["profile"])
        for c, plan in enumerate(user["conversations"]):
            session = await memory.start_session(
                user_id, conversation_id=f"{prefix}-u{u}-c{c}", metadata=plan["metadata"]
            )
            history = [
                message(
                    MessageRole.USER if n % 2 == 0 else MessageRole.ASSISTANT,
                    text,
                    timestamp=start + dt.timedelta(minutes=n),
                    metadata=plan["metadata"],
                )
                for n, text in enumerate(plan["texts"])
            ]
            await memory.store_messages(history, session.conversation_id)
            if plan["compress"]:
                await memory.compress(session.conversation_id, llm=ExtractiveLLM(), policy=POLICY)
            if plan["archive"]:
                cut = history[min(plan["archive"], len(history) - 1)].timestamp
                await memory.archive(session.conversation_id, before=cut)
            if plan["fork"] is not None:
                at, texts = plan["fork"]
                branch = await memory.fork_conversation(
                    session.conversation_id, history[at % len(history)].id
                )
                for text in texts:
                    await memory.store_message(message(MessageRole.USER, text), branch)
        for content, tags, fields in user["memories"]:
            entry = memory_entry(user_id, content, tags=tags)
            entry.metadata.custom_fields["value"] = fields
            await memory.store_memory(entry)


async def _records(memory: Memory, prefix: str) -> list[bytes]:
    """The example's records, in an order that does not depend on the store."""
    found: list[Record] = [record async for record in memory.export_records()]
    return sorted(canonical(r) for r in found if _owned(r, prefix))


def _owned(record: Record, prefix: str) -> bool:
    fields = record.model_dump()
    return any(
        isinstance(fields.get(name), str) and fields[name].startswith(prefix)
        for name in ("id", "user_id", "conversation_id")
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(users=STORE)
async def test_sqlite_to_postgresql_and_back_keeps_every_record(
    memory: Memory, migrated_sqlite_file: Path, tmp_path: Path, users: list[dict[str, Any]]
) -> None:
    prefix = uuid.uuid4().hex[:12]
    folder = tmp_path / prefix
    folder.mkdir()
    async with create_memory(copy_of_migrated(migrated_sqlite_file, folder), embedder=None) as a:
        await _fill(a, prefix, users)
        original = await _records(a, prefix)
        await memory.import_records(r async for r in a.export_records() if _owned(r, prefix))
    assert await _records(memory, prefix) == original
    back = folder / "back"
    back.mkdir()
    async with create_memory(copy_of_migrated(migrated_sqlite_file, back), embedder=None) as b:
        await b.import_records(r async for r in memory.export_records() if _owned(r, prefix))
        assert await _records(b, prefix) == original
        again = await b.import_records(
            [r async for r in memory.export_records() if _owned(r, prefix)]
        )
        assert again.changed == 0
