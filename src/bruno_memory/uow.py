"""The unit of work: one transaction over every repository.

::

    async with UnitOfWork(database, write=True) as uow:
        await uow.messages.insert_many(rows, chunk_size=1000)
        await uow.commit()

Nothing is kept unless :meth:`UnitOfWork.commit` runs: leaving the block without it, or
with an exception, rolls everything back.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession

from bruno_memory.db.engine import SQLITE_WRITE_OPTION, Database
from bruno_memory.repositories import (
    ConversationRepository,
    EmbeddingRepository,
    MemoryRepository,
    MessageRepository,
    SessionRepository,
    UserRepository,
)


class UnitOfWork:
    """A transaction and the repositories that work inside it."""

    users: UserRepository
    conversations: ConversationRepository
    sessions: SessionRepository
    messages: MessageRepository
    memories: MemoryRepository
    embeddings: EmbeddingRepository

    def __init__(self, database: Database, *, write: bool = False) -> None:
        self._database = database
        self._write = write
        self._stack = AsyncExitStack()
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> UnitOfWork:
        await self._stack.enter_async_context(self._database.turn(write=self._write))
        session = await self._stack.enter_async_context(self._database.new_session())
        if self._write:
            # SQLite: take the write lock at BEGIN, not half way through the transaction.
            await session.connection(execution_options={SQLITE_WRITE_OPTION: True})
        self._session = session
        self.users = UserRepository(session)
        self.conversations = ConversationRepository(session)
        self.sessions = SessionRepository(session)
        self.messages = MessageRepository(session)
        self.memories = MemoryRepository(session)
        self.embeddings = EmbeddingRepository(session)
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
        await self._stack.aclose()

    async def commit(self) -> None:
        """Make every change of this unit permanent, as one."""
        if self._session is None:
            raise RuntimeError("commit() outside 'async with UnitOfWork(...)'")
        await self._session.commit()
