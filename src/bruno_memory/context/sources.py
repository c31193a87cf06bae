"""Where the context builder's candidates come from: the storage port, through the facade.

The history is the conversation's newest messages (earlier system messages pinned in
front), read in pages that grow until what was read costs the whole budget (the window can
never hold more) or the conversation is exhausted: a window of a few dozen messages costs
one read of :func:`first_read` rows, not thousands.

Memories come ranked by the priority score (:func:`bruno_memory.priority.ranked`), with
the query's relevance (semantic where the storage embeds, full text of its content words
otherwise) unless the strategy is ``importance``; reading them counts as an access, as any
retrieval does. Summaries are the conversation's frontier (where the storage keeps
summaries). Recalled messages are the conversation's messages ranked for the query: by the
storage's hybrid search where it has ``Capability.RETRIEVAL``, else by full text.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar, overload

from bruno_core.models.memory import MemoryEntry, MemoryQuery
from bruno_core.models.message import Message, MessageRole

from bruno_memory.capabilities import Capability
from bruno_memory.context.builder import Candidates
from bruno_memory.context.summaries import Summary
from bruno_memory.context.tokens import MESSAGE_OVERHEAD, TokenCounter, message_tokens
from bruno_memory.context.window import ContextStrategy
from bruno_memory.errors import MessageNotFoundError
from bruno_memory.ports.scope import SearchScope
from bruno_memory.ports.storage import Storage
from bruno_memory.priority import DEFAULT_WEIGHTS, Weights, ranked
from bruno_memory.retrieval.stopwords import content_words

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")

#: Most history messages read for one context (a message costs at least its overhead).
MAX_HISTORY = 2_000
#: Tokens a message is assumed to cost when sizing the first read of the history; a
#: history of shorter messages is read further in growing pages.
TYPICAL_MESSAGE_TOKENS = 32
#: Fewest messages of the first read.
MIN_FIRST_READ = 16
#: Memories considered, and fewest older messages considered for recall.
CANDIDATES = 50
#: Most older messages considered for recall.
MAX_RECALL_CANDIDATES = 100


def history_size(budget: int) -> int:
    """How many of the newest messages could fit ``budget`` (each costs its overhead and
    at least one token of role), bounded by :data:`MAX_HISTORY`."""
    return max(1, min(MAX_HISTORY, budget // (MESSAGE_OVERHEAD + 1)))


def first_read(budget: int) -> int:
    """How many of the newest messages the first read of a ``budget``-token context asks
    for: enough for messages of :data:`TYPICAL_MESSAGE_TOKENS`, never more than could fit."""
    return min(history_size(budget), max(MIN_FIRST_READ, budget // TYPICAL_MESSAGE_TOKENS))


def recall_candidates(budget: int) -> int:
    """How many older messages to rank for recall: enough to fill ``budget`` with messages
    of :data:`TYPICAL_MESSAGE_TOKENS`, within [:data:`CANDIDATES`,
    :data:`MAX_RECALL_CANDIDATES`]."""
    return min(MAX_RECALL_CANDIDATES, max(CANDIDATES, budget // TYPICAL_MESSAGE_TOKENS))


async def read_history(
    storage: Storage,
    conversation_id: str,
    newest: list[Message],
    asked: int,
    *,
    budget: int,
    counter: TokenCounter,
) -> list[Message]:
    """The history of a ``budget``-token context, given the first read ``newest`` (the
    last ``asked`` messages, earlier system messages pinned in front).

    While the messages read are a full page and either the non-system ones cost less than
    ``budget`` or no user message is among them, the page before the oldest of them (twice
    as large) is read and put in front, its system messages once. Stopping there loses
    nothing: the window goes back without gaps and never holds more than ``budget`` tokens
    of messages, and the newest user message (always in) has been read. A message gone
    meanwhile (the history cleared) ends the reading with what was read.
    """
    history = newest
    full = len(newest) >= asked
    while full and len(history) < MAX_HISTORY:
        others = [m for m in history if m.role != MessageRole.SYSTEM]
        if not others or (
            any(m.role == MessageRole.USER for m in others)
            and sum(message_tokens(counter, m) for m in others) >= budget
        ):
            break
        asked = min(asked * 2, MAX_HISTORY - len(history))
        try:
            page = await storage.page_messages(
                conversation_id, after=None, before=others[0].id, limit=asked
            )
        except MessageNotFoundError:
            break
        full = len(page) >= asked
        history = _before(history, page, others[0].id)
    return history


def _before(history: list[Message], page: list[Message], cursor: uuid.UUID) -> list[Message]:
    """``history`` with ``page`` (the messages just before ``cursor``) in front of
    ``cursor``; the pinned system messages it repeats are kept once, in the page."""
    start = next(n for n, m in enumerate(history) if m.id == cursor)
    paged = {m.id for m in page}
    pinned = [m for m in history[:start] if m.id not in paged]
    return [*pinned, *page, *history[start:]]


def default_query(history: list[Message]) -> str | None:
    """The newest user message's text: what the turn is about."""
    users = [m for m in history if m.role == MessageRole.USER]
    return users[-1].content if users else None


async def gather(
    storage: Storage,
    history: list[Message],
    *,
    user_id: str,
    conversation_id: str,
    query: str | None,
    strategy: ContextStrategy,
    budget: int,
    weights: Weights = DEFAULT_WEIGHTS,
) -> Candidates:
    """The candidates of a ``budget``-token context. The summaries, the memories and the
    recalled messages are read at the same time (each on its own pooled connection: the
    database works on them in parallel); if one read fails, the others are cancelled."""
    text = query if query is not None and query.strip() else None
    summaries = _summaries(storage, conversation_id)
    if strategy == "recent":
        return Candidates(history, summaries=await summaries)
    if strategy == "importance" or text is None:
        found, memories = await _together(summaries, _memories(storage, user_id, None, weights))
        return Candidates(history, memories=memories, summaries=found)
    found, memories, recalled = await _together(
        summaries,
        _memories(storage, user_id, text, weights),
        _recalled(storage, user_id, conversation_id, text, recall_candidates(budget)),
    )
    return Candidates(history, memories=memories, recalled=recalled, summaries=found)


@overload
async def _together(first: Awaitable[A], second: Awaitable[B], /) -> tuple[A, B]: ...
@overload
async def _together(
    first: Awaitable[A], second: Awaitable[B], third: Awaitable[C], /
) -> tuple[A, B, C]: ...
async def _together(*reads: Awaitable[Any]) -> tuple[Any, ...]:
    """The results of ``reads``, run concurrently; the first failure cancels the others
    (and waits for them) before it is raised."""
    tasks = [asyncio.ensure_future(read) for read in reads]
    try:
        return tuple(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _summaries(storage: Storage, conversation_id: str) -> list[Summary]:
    """The conversation's frontier summaries, where the storage keeps summaries."""
    if storage.summaries is None or Capability.COMPRESSION not in storage.capabilities:
        return []
    return await storage.summaries.list_summaries(conversation_id, covered=False)


async def _memories(
    storage: Storage, user_id: str, text: str | None, weights: Weights
) -> list[MemoryEntry]:
    parsed = None if text is None else content_words(text)
    if parsed is not None and parsed.is_empty:
        parsed, text = None, None
    query = MemoryQuery(user_id=user_id, query_text=text, limit=CANDIDATES)
    return await ranked(storage, query, parsed, weights)


async def _recalled(
    storage: Storage, user_id: str, conversation_id: str, text: str, limit: int
) -> list[Message]:
    retrieval = storage.retrieval
    if retrieval is not None and Capability.RETRIEVAL in storage.capabilities:
        hits = await retrieval.search(
            text,
            scope=SearchScope(user_id=user_id, conversation_id=conversation_id),
            limit=limit,
            mode="hybrid",
            kinds=("message",),
        )
        return [hit.message for hit in hits if hit.message is not None]
    parsed = content_words(text)
    if parsed.is_empty:
        return []
    found = await storage.search_messages(parsed, user_id=user_id, limit=limit)
    return [m for m in found if m.conversation_id == conversation_id]
