"""The context engine's storage on the SQL targets, checked against the tables themselves:
branches against a recursive walk of message parents, compression failures against a dump
of every row."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Sequence

import pytest
from bruno_core.models.message import Message, MessageRole
from sqlalchemy import text

from bruno_memory import CompressionError, CompressionPolicy, Memory
from bruno_memory.db.engine import Database
from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.ports.scope import SearchScope
from bruno_memory.uow import Change, UnitOfWork
from tests.llms import ExtractiveLLM

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
#: The oracle: a branch's history is its newest message and that message's parents.
WALK = text(
    """
    WITH RECURSIVE walk(id, parent_id, depth) AS (
        SELECT id, parent_id, 0 FROM messages WHERE id = :newest
        UNION ALL
        SELECT m.id, m.parent_id, walk.depth + 1
        FROM messages m JOIN walk ON m.id = walk.parent_id
    )
    SELECT id FROM walk ORDER BY depth DESC
    """
)


@pytest.mark.parametrize("seed", range(4))
async def test_branches_read_as_the_walk_of_message_parents(
    sql: tuple[Memory, Database], uid: str, seed: int
) -> None:
    memory, database = sql
    rng = random.Random(seed)
    session = await memory.create_session(uid)
    newest: dict[str, uuid.UUID | None] = {session.conversation_id: None}
    for step in range(120):
        branch = rng.choice(list(newest))
        if rng.random() < 0.15 and newest[branch] is not None:
            history = await memory.list_messages(branch, limit=1000)
            at = rng.choice(history)
            newest[await memory.fork_conversation(branch, at.id)] = at.id
            continue
        message = Message(
            role=MessageRole.USER,
            content=f"step {step}",
            parent_id=newest[branch],
            timestamp=START + dt.timedelta(minutes=step),
        )
        await memory.store_message(message, branch)
        newest[branch] = message.id
    walked: dict[str, list[uuid.UUID]] = {}
    async with database.engine.connect() as connection:
        for branch, last in newest.items():
            if last is not None:
                rows = await connection.execute(WALK, {"newest": _key(database, last)})
                walked[branch] = [_uuid(row.id) for row in rows]
    for branch, expected in walked.items():
        history = await memory.list_messages(branch, limit=1000)
        assert [m.id for m in history] == expected


def _key(database: Database, value: uuid.UUID) -> object:
    return value.hex if database.dialect == "sqlite" else value


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def _dump(database: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables compression could touch, in key order."""
    tables = {"messages": "pk", "summaries": "pk", "conversations": "id", "embedding_jobs": "pk"}
    async with database.engine.connect() as connection:
        return {
            table: [
                tuple(row)
                for row in await connection.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))
            ]
            for table, key in tables.items()
        }


async def _conversation(memory: Memory, uid: str, count: int) -> str:
    session = await memory.create_session(uid)
    messages = [
        Message(
            role=MessageRole.USER, content=f"turn {n}", timestamp=START + dt.timedelta(minutes=n)
        )
        for n in range(count)
    ]
    await memory.store_messages(messages, session.conversation_id)
    return session.conversation_id


POLICY = CompressionPolicy(keep_recent=2, max_messages=None, chunk_messages=4, fanout=2)


async def test_a_database_failure_mid_step_leaves_every_row_as_it_was(
    sql: tuple[Memory, Database], uid: str
) -> None:
    memory, database = sql
    cid = await _conversation(memory, uid, 14)
    await memory.compress(cid, llm=ExtractiveLLM(), policy=POLICY.model_copy(update={"fanout": 9}))
    await memory.store_messages(
        [Message(role=MessageRole.USER, content=f"later {n}") for n in range(8)], cid
    )
    before = await _dump(database)

    async def the_database_fails(_: UnitOfWork, changes: Sequence[Change]) -> None:
        if any(change.operation == "add_summary" for change in changes):
            raise OSError("disk I/O error")

    database.transaction_hooks.append(the_database_fails)
    try:
        with pytest.raises(CompressionError) as raised:
            await memory.compress(cid, llm=ExtractiveLLM(), policy=POLICY)
    finally:
        database.transaction_hooks.remove(the_database_fails)

    assert raised.value.report is not None
    assert raised.value.report.summaries == []
    assert await _dump(database) == before


async def test_an_llm_failure_leaves_every_row_as_it_was(
    sql: tuple[Memory, Database], uid: str
) -> None:
    memory, database = sql
    cid = await _conversation(memory, uid, 14)
    before = await _dump(database)
    with pytest.raises(CompressionError):
        await memory.compress(cid, llm=ExtractiveLLM(fail_on_call=1), policy=POLICY)
    assert await _dump(database) == before


async def test_full_text_reads_run_with_custom_plans_on_postgresql(
    sql: tuple[Memory, Database], uid: str
) -> None:
    """A full-text read switches its transaction (and only it) to custom plans: a generic
    plan of a prepared full-text statement evaluates websearch_to_tsquery once per row."""
    _, database = sql
    if database.engine.dialect.name != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    setting = text("SELECT current_setting('plan_cache_mode')")
    async with UnitOfWork(database) as uow:
        before = await uow.session.scalar(setting)
        await uow.messages.candidates(
            FullTextQuery.parse("jazz", MatchMode.ANY), SearchScope(user_id=uid), 5
        )
        during = await uow.session.scalar(setting)
    async with UnitOfWork(database) as uow:
        after = await uow.session.scalar(setting)
    assert (before, during, after) == ("auto", "force_custom_plan", "auto")
