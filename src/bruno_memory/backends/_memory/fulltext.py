"""Full-text ranking over the in-memory records: Okapi BM25 with :mod:`bruno_memory.terms`.

A search scans the documents it may return (the caller has applied the scope), keeps those
matching the query (every term, or any term, as its mode says) and scores each by the sum
over the query's terms of the term's weight in the document times its inverse document
frequency among those documents. Best first; ties go to the newest stored, as the SQL key
breaks them. A scan is linear in what is stored: this is the reference, not an index.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from bruno_memory.db.fulltext import FullTextQuery
from bruno_memory.terms import idf, matches, query_terms


class Indexed(Protocol):
    """A record with the index terms of its text and its write order."""

    terms: dict[str, float]
    stored: int


Doc = TypeVar("Doc", bound=Indexed)


def scored(documents: Iterable[Doc], query: FullTextQuery) -> list[tuple[float, Doc]]:
    """The documents matching ``query`` (a non-empty query) with their scores, unordered."""
    pool = list(documents)
    terms = query_terms(query)
    weights = {key: idf(len(pool), sum(key in doc.terms for doc in pool)) for key in terms}
    found = []
    for doc in pool:
        absent = [key for key in terms if key not in doc.terms]
        if matches(absent, terms, query.mode):
            score = sum(weights[key] * doc.terms[key] for key in terms if key in doc.terms)
            found.append((round(score, 9), doc))
    return found


def best(documents: Iterable[Doc], query: FullTextQuery, limit: int) -> list[Doc]:
    """The ``limit`` documents matching ``query`` best (ties: the newest stored)."""
    found = scored(documents, query)
    found.sort(key=lambda pair: (pair[0], pair[1].stored), reverse=True)
    return [doc for _, doc in found[:limit]]
