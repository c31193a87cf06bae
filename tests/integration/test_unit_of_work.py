"""The unit of work's data scope and its in-transaction hooks, on every SQL target."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from bruno_core.models.memory import MemoryEntry, MemoryType
from sqlalchemy import delete, func, select, update

from bruno_memory import AccessDeniedError, Memory
from bruno_memory.db import models
from bruno_memory.db.engine import Database
from bruno_memory.db.scoping import DataScope
from bruno_memory.uow import Change, UnitOfWork
from tests.conformance.helpers import user_message


async def _two_users(memory: Memory, uid: str) -> tuple[str, str]:
    ana, bob = f"{uid}-ana", f"{uid}-bob"
    for user in (ana, bob):
        session = await memory.create_session(user)
        await memory.store_message(user_message(f"hello from {user}"), session.conversation_id)
        await memory.store_memory(
            MemoryEntry(content=f"{user} likes tea", user_id=user, memory_type=MemoryType.FACT)
        )
    return ana, bob


async def test_a_scoped_unit_reads_only_its_users_rows(
    sql: tuple[Memory, Database], uid: str
) -> None:
    memory, database = sql
    ana, bob = await _two_users(memory, uid)
    async with UnitOfWork(database, scope=DataScope(user_id=ana)) as uow:
        session = uow.session
        assert set(await session.scalars(select(models.User.id))) == {ana}
        assert set(await session.scalars(select(models.Memory.user_id))) == {ana}
        assert set(await session.scalars(select(models.Session.user_id))) == {ana}
        assert set(await session.scalars(select(models.Conversation.user_id))) == {ana}
        contents = set(await session.scalars(select(models.Message.content)))
        assert contents == {f"hello from {ana}"}
        # Conditions that name the other user find nothing: the scope is added to them.
        bobs = select(func.count()).select_from(models.Memory).where(models.Memory.user_id == bob)
        assert await session.scalar(bobs) == 0


async def test_a_scoped_unit_changes_only_its_users_rows(
    sql: tuple[Memory, Database], uid: str
) -> None:
    memory, database = sql
    ana, bob = await _two_users(memory, uid)
    async with UnitOfWork(database, write=True, scope=DataScope(user_id=ana)) as uow:
        await uow.session.execute(update(models.Memory).values(importance=0.25))
        await uow.session.execute(delete(models.Session))
        await uow.commit()
    async with UnitOfWork(database) as uow:
        rows = (
            await uow.session.execute(
                select(models.Memory.user_id, models.Memory.importance).where(
                    models.Memory.user_id.in_([ana, bob])
                )
            )
        ).all()
        assert dict(rows) == {ana: 0.25, bob: 1.0}
        owners = await uow.session.scalars(
            select(models.Session.user_id).where(models.Session.user_id.in_([ana, bob]))
        )
        assert set(owners) == {bob}


async def test_whole_scope_operations_refuse_an_unscoped_unit(
    sql: tuple[Memory, Database],
) -> None:
    _, database = sql
    async with UnitOfWork(database, write=True) as uow:
        with pytest.raises(RuntimeError, match="scoped to a user"):
            await uow.memories.delete_in_scope()


async def test_hooks_see_each_change_inside_its_transaction(
    sql: tuple[Memory, Database], uid: str
) -> None:
    """A hook runs before the commit with what changed (never content), and what it writes
    in the unit's session commits with the change."""
    memory, database = sql
    seen: list[Change] = []

    async def audit(uow: UnitOfWork, changes: Sequence[Change]) -> None:
        seen.extend(changes)
        await uow.users.ensure(f"{uid}-audited-{len(seen)}")

    database.transaction_hooks.append(audit)
    session = await memory.create_session(f"{uid}-ana")
    message = user_message("a secret")
    await memory.store_message(message, session.conversation_id)
    await memory.end_session(session.session_id)
    assert [change.operation for change in seen] == [
        "create_session",
        "store_messages",
        "end_session",
    ]
    assert seen[1] == Change(
        "store_messages",
        user_id=f"{uid}-ana",
        conversation_id=session.conversation_id,
        item_ids=(str(message.id),),
    )
    assert all("a secret" not in repr(change) for change in seen)
    async with UnitOfWork(database) as uow:
        written = await uow.session.scalars(
            select(models.User.id).where(models.User.id.like(f"{uid}-audited-%"))
        )
        assert sorted(written) == [f"{uid}-audited-{n}" for n in (1, 2, 3)]


async def test_a_hook_that_refuses_rolls_the_change_back(
    sql: tuple[Memory, Database], uid: str
) -> None:
    memory, database = sql
    session = await memory.create_session(f"{uid}-ana")

    async def refuse(uow: UnitOfWork, changes: Sequence[Change]) -> None:
        await uow.users.ensure(f"{uid}-half-written")
        raise AccessDeniedError("not allowed", details={"operation": changes[0].operation})

    database.transaction_hooks.append(refuse)
    with pytest.raises(AccessDeniedError):
        await memory.store_messages(
            [user_message("one"), user_message("two")], session.conversation_id
        )
    with pytest.raises(AccessDeniedError):
        await memory.delete_user(f"{uid}-ana")
    database.transaction_hooks.remove(refuse)
    assert await memory.retrieve_messages(session.conversation_id) == []
    assert (await memory.get_session(session.session_id)) is not None
    async with UnitOfWork(database) as uow:
        assert await uow.session.get(models.User, f"{uid}-half-written") is None
