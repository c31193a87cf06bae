"""Full-text search without RediSearch: inverted indexes kept at write time.

Terms and their weights are :mod:`bruno_memory.terms`' (the words the SQL store indexes and
searches, reduced by the Porter stemmer as SQLite's FTS5 ``porter`` tokenizer does, so
"Running concerts" matches "run concert").

Each scope (a user, or ``{global}`` for searches without a user) has, per term, a sorted
set of the documents holding it, scored by the term's BM25 weight in the document:
:func:`~bruno_memory.terms.document_terms` (weighted once, when written). A query
multiplies each term's postings by its inverse document frequency in the scope
(:func:`~bruno_memory.terms.idf`; N: documents indexed, df: postings), and sums them
with ZINTERSTORE (every word must match) or ZUNIONSTORE (any word): Okapi BM25, computed
in one Lua script over the query's posting lists only — never a scan of the keyspace.
Ties go to the most recent document.

Postings outside the slot of the document they name are hints: written before the
document commits, removed after it is deleted. A search therefore checks every candidate
against the document itself (:func:`~bruno_memory.terms.absent_terms`) and drops, and
unindexes, stale ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from bruno_memory.adapters.redis.keys import IndexScope
from bruno_memory.backends._redis.scripts import Scripts
from bruno_memory.db.fulltext import MatchMode

if TYPE_CHECKING:
    from bruno_memory.adapters.redis.client import RedisPipeline

Found = TypeVar("Found")


def member(item_id: object, home: str) -> str:
    """A posting's member in a scope other than the item's own slot: the item id and where
    it lives (its conversation, or its user)."""
    return f"{item_id}@{home}"


def split_member(value: str) -> tuple[str, str]:
    """``(item id, where it lives)`` of a :func:`member` (ids are 36-character UUIDs)."""
    return value[:36], value[37:]


def queue_postings(
    pipe: RedisPipeline,
    scope: IndexScope,
    kind: str,
    documents: Sequence[tuple[str, Mapping[str, float]]],
    *,
    add: bool,
) -> None:
    """Queue adding (or removing) the postings of ``(member, {term: weight})`` documents in
    ``scope``, and counting (or uncounting) them: one script call, whatever their number."""
    if not documents:
        return
    keys = [scope.documents(kind)]
    position: dict[str, int] = {}
    args: list[object] = ["add" if add else "remove"]
    for item, weights in documents:
        args += [item, len(weights)]
        for key, weight in weights.items():
            if key not in position:
                keys.append(scope.postings(kind, key))
                position[key] = len(keys)
            args += [position[key], weight]
    Scripts.queue(pipe, "postings", keys, args)


def unweighted(terms: Iterable[str]) -> dict[str, float]:
    """Terms as the mapping :func:`queue_postings` takes (removal ignores weights)."""
    return dict.fromkeys(terms, 0.0)


async def rank(
    scripts: Scripts,
    scope: IndexScope,
    kind: str,
    terms: Sequence[str],
    mode: MatchMode,
    count: int,
) -> list[tuple[str, float]]:
    """The ``count`` best postings of ``scope`` for ``terms``: ``(member, score)``."""
    keys = [scope.documents(kind), scope.temporary()]
    keys += [scope.postings(kind, key) for key in terms]
    reply = await scripts.run("rank", keys, [mode.value, count])
    return [(str(reply[i]), float(reply[i + 1])) for i in range(0, len(reply), 2)]


async def best_verified(
    fetch: Callable[[int], Awaitable[list[tuple[str, float]]]],
    verify: Callable[[list[tuple[str, float]]], Awaitable[list[Found]]],
    limit: int,
) -> list[Found]:
    """The first ``limit`` verified results: candidates come ranked from ``fetch(count)``;
    ``verify`` keeps those that hold (stale postings are dropped). Asks for more
    candidates only when too many were dropped."""
    count = 2 * limit + 8
    while True:
        candidates = await fetch(count)
        found = await verify(candidates)
        if len(found) >= limit or len(candidates) < count:
            return found[:limit]
        count *= 4
