"""The unit of work: one transaction over every repository, inside one data scope.

::

    async with UnitOfWork(database, write=True, scope=DataScope(user_id="ana")) as uow:
        await uow.messages.insert_many(rows, chunk_size=1000)
        uow.record(Change("store_messages", user_id="ana", conversation_id="c1"))
        await uow.commit()

Nothing is kept unless :meth:`UnitOfWork.commit` runs: leaving the block without it, or
with an exception, rolls everything back. Every ORM statement of the unit obeys its
:class:`~bruno_memory.db.scoping.DataScope`.

Two moments follow a change. **Inside** the transaction, :meth:`UnitOfWork.commit` first
runs the database's transaction hooks with the changes the unit recorded: what a hook
writes commits with the change or not at all, and a hook that raises rolls the change back
(an audit trail, an erasure ledger). **After** the commit, the managers tell the
:class:`~bruno_memory.managers.changes.ChangeFeed` (cache, events, indexer), which must
never see what could still roll back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession

from bruno_memory.db.engine import SQLITE_WRITE_OPTION, Database
from bruno_memory.db.scoping import SCOPE_INFO_KEY, DataScope
from bruno_memory.repositories import (
    ConversationRepository,
    EmbeddingRepository,
    MemoryRepository,
    MessageRepository,
    SessionRepository,
    SummaryRepository,
    UserRepository,
)
from bruno_memory.repositories.transfer import TransferRepository


@dataclass(frozen=True)
class Change:
    """One change a unit of work made, as its transaction hooks see it: which operation,
    for whom, on which items. Never content."""

    operation: str
    user_id: str | None = None
    conversation_id: str | None = None
    item_ids: tuple[str, ...] = ()


#: Runs inside the writing transaction, before it commits, with what the unit changed.
TransactionHook = Callable[["UnitOfWork", Sequence[Change]], Awaitable[None]]


class UnitOfWork:
    """A transaction and the repositories that work inside it."""

    users: UserRepository
    conversations: ConversationRepository
    sessions: SessionRepository
    messages: MessageRepository
    memories: MemoryRepository
    embeddings: EmbeddingRepository
    summaries: SummaryRepository
    transfer: TransferRepository

    def __init__(
        self,
        database: Database,
        *,
        write: bool = False,
        scope: DataScope | None = None,
        snapshot: bool = False,
    ) -> None:
        """``snapshot``: every read of the unit sees the database as of its first read
        (PostgreSQL's ``REPEATABLE READ``; a SQLite transaction always does)."""
        self._database = database
        self._write = write
        self._snapshot = snapshot
        self.scope = scope or DataScope()
        self._stack = AsyncExitStack()
        self._session: AsyncSession | None = None
        self._changes: list[Change] = []

    async def __aenter__(self) -> UnitOfWork:
        await self._stack.enter_async_context(self._database.turn(write=self._write))
        session = await self._stack.enter_async_context(self._database.new_session())
        session.info[SCOPE_INFO_KEY] = self.scope
        if self._write:
            # SQLite: take the write lock at BEGIN, not half way through the transaction.
            await session.connection(execution_options={SQLITE_WRITE_OPTION: True})
        elif self._snapshot and self._database.dialect == "postgresql":
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        self._session = session
        self.users = UserRepository(session)
        self.conversations = ConversationRepository(session)
        self.sessions = SessionRepository(session)
        self.messages = MessageRepository(session)
        self.memories = MemoryRepository(session)
        self.embeddings = EmbeddingRepository(session)
        self.summaries = SummaryRepository(session)
        self.transfer = TransferRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Closing the session rolls back whatever was not committed; the rows read stay
        # readable (detached, not expired) for the caller.
        self._session = None
        self._changes.clear()
        await self._stack.aclose()

    @property
    def session(self) -> AsyncSession:
        """The unit's ORM session (for transaction hooks writing rows of their own)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    def record(self, change: Change) -> None:
        """Note a change for the transaction hooks that run at :meth:`commit`."""
        self._changes.append(change)

    async def commit(self) -> None:
        """Run the transaction hooks on the recorded changes, then make every change of
        this unit permanent, as one."""
        session = self.session
        changes = tuple(self._changes)
        if changes:
            for hook in self._database.transaction_hooks:
                await hook(self, changes)
        self._changes.clear()
        await session.commit()
