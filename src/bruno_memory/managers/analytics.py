"""Analytics of the SQL storage (``Capability.ANALYTICS``): aggregates in one read-only
unit of work, scoped to the window's user when it names one."""

from __future__ import annotations

from bruno_memory.analytics.model import (
    EmbeddingUsage,
    Figures,
    Growth,
    LlmUsage,
    Patterns,
    TextKey,
    Window,
    activity_grid,
    day_counts,
    length_counts,
    role_pairs,
)
from bruno_memory.db.engine import Database
from bruno_memory.db.models import Conversation, Memory, Message, User
from bruno_memory.db.scoping import DataScope
from bruno_memory.repositories.analytics import AnalyticsRepository
from bruno_memory.uow import UnitOfWork


class AnalyticsManager:
    """The :class:`~bruno_memory.ports.storage.Analysis` port over one database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def figures(self, window: Window) -> Figures:
        async with UnitOfWork(self._database, scope=DataScope(user_id=window.user_id)) as uow:
            repository = AnalyticsRepository(uow.session)
            return Figures(
                growth=await _growth(repository, window),
                patterns=await _patterns(repository, window),
                llm=await _llm(repository, window),
                embeddings=await _embeddings(repository, window),
            )

    async def message_texts(
        self, window: Window, *, before: TextKey | None, limit: int
    ) -> list[tuple[TextKey, str]]:
        async with UnitOfWork(self._database, scope=DataScope(user_id=window.user_id)) as uow:
            return await AnalyticsRepository(uow.session).message_texts(
                window, before=before, limit=limit
            )


async def _growth(repository: AnalyticsRepository, window: Window) -> Growth:
    return Growth(
        messages=day_counts(await repository.per_day(Message.timestamp, window)),
        memories=day_counts(await repository.per_day(Memory.created_at, window)),
        conversations=day_counts(await repository.per_day(Conversation.created_at, window)),
        users=day_counts(await repository.per_day(User.created_at, window)),
    )


async def _patterns(repository: AnalyticsRepository, window: Window) -> Patterns:
    return Patterns(
        lengths=length_counts(await repository.conversation_lengths(window)),
        turn_taking=role_pairs(await repository.role_pairs(window)),
        activity=activity_grid(await repository.activity(window)),
    )


async def _llm(repository: AnalyticsRepository, window: Window) -> tuple[LlmUsage, ...]:
    return tuple(
        LlmUsage(
            user_id=user_id,
            model=model,
            calls=int(calls),
            input_tokens=int(tokens_in or 0),
            output_tokens=int(tokens_out or 0),
            cost=None if cost is None else float(cost),
        )
        for user_id, model, calls, tokens_in, tokens_out, cost in await repository.llm_usage(window)
    )


async def _embeddings(
    repository: AnalyticsRepository, window: Window
) -> tuple[EmbeddingUsage, ...]:
    """Each model with vectors in the window or items waiting for it."""
    stored = {key: counts for key, *counts in await repository.embedding_usage(window)}
    pending = None if window.user_id is not None else await repository.pending_embeddings()
    usage = []
    for key in sorted({*stored, *(pending or {})}):
        messages, memories, texts = stored.get(key, (0, 0, 0))
        usage.append(
            EmbeddingUsage(
                model_key=key,
                messages=int(messages),
                memories=int(memories),
                texts=int(texts),
                pending=None if pending is None else pending.get(key, 0),
            )
        )
    return tuple(usage)
