"""Where a conversation's history lies: its own messages, then what it inherits.

A branch (a conversation with ``parent_id``) inherits its parent's messages up to
``fork_seq``, and the parent inherits from its own parent in turn; positions (``seq``) grow
along the chain, so a branch's history is a list of *hops*, each a conversation and the
last position read from it, and reads as one sequence ordered by position. A conversation's
lineage never changes once it exists (a fork creates a new conversation; nothing re-parents
one), so it is cached in the process after the first read: reads of a conversation that is
not a branch stay one statement. A lineage read before its conversation exists is not cached.

The layout is the one measured in ``shared/CONTEXT.md`` (per-branch range scans, a fork
writes one row); a recursive walk of message parents is what the tests check it against.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Protocol

from cachetools import LRUCache
from sqlalchemy import Integer, bindparam, literal, select
from sqlalchemy.orm import aliased

from bruno_memory.db.models import Conversation

#: Lineages kept per database in this process.
CACHED_LINEAGES = 50_000


@dataclass(frozen=True)
class Hop:
    """Messages of ``conversation_id`` up to position ``upper`` (all of them when None)."""

    conversation_id: str
    upper: int | None = None


#: The conversation itself first (``upper`` None), then its ancestors, nearest first.
Lineage = tuple[Hop, ...]


class _Executor(Protocol):
    async def execute(self, statement: Any, parameters: Any = ...) -> Any: ...


def _chain() -> Any:
    table = Conversation.__table__
    start = select(
        table.c.id, table.c.parent_id, table.c.fork_seq, literal(0, Integer).label("depth")
    ).where(table.c.id == bindparam("conversation_id"))
    chain = start.cte("lineage", recursive=True)
    parent = aliased(table)
    chain = chain.union_all(
        select(parent.c.id, parent.c.parent_id, parent.c.fork_seq, chain.c.depth + 1).where(
            parent.c.id == chain.c.parent_id
        )
    )
    return select(chain.c.id, chain.c.fork_seq).order_by(chain.c.depth)


_CHAIN = _chain()


class LineageCache:
    """The lineages of one database's conversations, read once per process."""

    def __init__(self, maxsize: int = CACHED_LINEAGES) -> None:
        self._known: LRUCache[str, Lineage] = LRUCache(maxsize=maxsize)

    async def of(self, executor: _Executor, conversation_id: str) -> Lineage:
        """The conversation's lineage (itself alone when it does not exist)."""
        known = self._known.get(conversation_id)
        if known is not None:
            return known
        rows = (await executor.execute(_CHAIN, {"conversation_id": conversation_id})).all()
        if not rows:
            return (Hop(conversation_id),)
        hops = [Hop(rows[0].id)]
        for child, row in itertools.pairwise(rows):
            hops.append(Hop(row.id, int(child.fork_seq)))
        lineage = tuple(hops)
        self._known[conversation_id] = lineage
        return lineage


def holds(lineage: Lineage, conversation_id: str, seq: int) -> bool:
    """Whether the message at ``seq`` of ``conversation_id`` is in the history."""
    return any(
        hop.conversation_id == conversation_id and (hop.upper is None or seq <= hop.upper)
        for hop in lineage
    )


def is_root(lineage: Lineage) -> bool:
    """Whether the history is the conversation's own messages only."""
    return len(lineage) == 1
