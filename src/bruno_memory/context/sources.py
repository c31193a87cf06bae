"""Where the context builder's candidates come from: the storage port, through the facade.

The history is the conversation's newest messages (earlier system messages pinned in
front), as many as could fit the budget. Memories come ranked by the priority score
(:func:`bruno_memory.priority.ranked`), with the query's relevance (semantic where the
storage embeds, full text otherwise) unless the strategy is ``importance``; reading them
counts as an access, as any retrieval does. Summaries are the conversation's frontier
(where the storage keeps summaries). Recalled messages are the conversation's
messages ranked for the query: by the storage's hybrid search where it has
``Capability.RETRIEVAL``, else by full text.
"""

from __future__ import annotations

from bruno_core.models.memory import MemoryEntry, MemoryQuery
from bruno_core.models.message import Message, MessageRole

from bruno_memory.capabilities import Capability
from bruno_memory.context.builder import Candidates
from bruno_memory.context.summaries import Summary
from bruno_memory.context.tokens import MESSAGE_OVERHEAD
from bruno_memory.context.window import ContextStrategy
from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.ports.scope import SearchScope
from bruno_memory.ports.storage import Storage
from bruno_memory.priority import DEFAULT_WEIGHTS, Weights, ranked

#: Most history messages read for one context (a message costs at least its overhead).
MAX_HISTORY = 2_000
#: Candidates considered per kind (memories, recalled messages).
CANDIDATES = 50


def history_size(budget: int) -> int:
    """How many of the newest messages could fit ``budget`` (each costs its overhead and
    at least one token of role), bounded by :data:`MAX_HISTORY`."""
    return max(1, min(MAX_HISTORY, budget // (MESSAGE_OVERHEAD + 1)))


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
    weights: Weights = DEFAULT_WEIGHTS,
) -> Candidates:
    """The candidates of one context."""
    summaries = await _summaries(storage, conversation_id)
    if strategy == "recent":
        return Candidates(history, summaries=summaries)
    text = query if query is not None and query.strip() else None
    if strategy == "importance" or text is None:
        memories = await _memories(storage, user_id, None, weights)
        return Candidates(history, memories=memories, summaries=summaries)
    return Candidates(
        history,
        memories=await _memories(storage, user_id, text, weights),
        recalled=await _recalled(storage, user_id, conversation_id, text),
        summaries=summaries,
    )


async def _summaries(storage: Storage, conversation_id: str) -> list[Summary]:
    """The conversation's frontier summaries, where the storage keeps summaries."""
    if storage.summaries is None or Capability.COMPRESSION not in storage.capabilities:
        return []
    return await storage.summaries.list_summaries(conversation_id, covered=False)


async def _memories(
    storage: Storage, user_id: str, text: str | None, weights: Weights
) -> list[MemoryEntry]:
    parsed = None if text is None else FullTextQuery.parse(text, MatchMode.ANY)
    if parsed is not None and parsed.is_empty:
        parsed, text = None, None
    query = MemoryQuery(user_id=user_id, query_text=text, limit=CANDIDATES)
    return await ranked(storage, query, parsed, weights)


async def _recalled(
    storage: Storage, user_id: str, conversation_id: str, text: str
) -> list[Message]:
    retrieval = storage.retrieval
    if retrieval is not None and Capability.RETRIEVAL in storage.capabilities:
        hits = await retrieval.search(
            text,
            scope=SearchScope(user_id=user_id, conversation_id=conversation_id),
            limit=CANDIDATES,
            mode="hybrid",
            kinds=("message",),
        )
        return [hit.message for hit in hits if hit.message is not None]
    parsed = FullTextQuery.parse(text, MatchMode.ANY)
    if parsed.is_empty:
        return []
    found = await storage.search_messages(parsed, user_id=user_id, limit=CANDIDATES)
    return [m for m in found if m.conversation_id == conversation_id]
