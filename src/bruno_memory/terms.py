"""Index terms and their BM25 weights, for storages that rank documents themselves.

SQLite (FTS5) and PostgreSQL (tsvector) rank inside the database; the Redis inverted index
(:mod:`bruno_memory.backends._redis.textindex`) and the in-memory storage
(:mod:`bruno_memory.backends.memory`) rank with the rule written here, once.

A document's terms are its indexed words (:func:`bruno_memory.text.indexed_words`, the
normalization every storage shares) reduced by the Porter stemmer, as SQLite's FTS5
``porter`` tokenizer does, so "Running concerts" matches "run concert". Each term is weighted
in its document by BM25, ``tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / AVERAGE_LENGTH))``
with k1 = 1.2, b = 0.75 and a fixed average length (a document is weighted once, when
written); a query sums, over its terms, the weight times the term's inverse document
frequency, ``ln(1 + (N - df + 0.5) / (df + 0.5))`` (:func:`idf`).
"""

from __future__ import annotations

import hashlib
import importlib
import math
from collections import Counter
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any, Protocol

from bruno_memory.db.fulltext import FullTextQuery, MatchMode
from bruno_memory.errors import MissingDependencyError
from bruno_memory.text import indexed_words

K1 = 1.2
B = 0.75
#: Length (in words) the BM25 length normalization treats as average.
AVERAGE_LENGTH = 16.0
#: Longer terms are indexed by their hash, keeping keys short.
MAX_TERM_LENGTH = 64


class _Stemmer(Protocol):
    def stemWord(self, word: str) -> str: ...


@cache
def _stemmer() -> _Stemmer:
    try:
        module: Any = importlib.import_module("snowballstemmer")
    except ImportError as exc:
        raise MissingDependencyError("snowballstemmer", "redis") from exc  # a broken install
    stemmer: _Stemmer = module.stemmer("porter")
    return stemmer


@lru_cache(maxsize=65_536)
def term(word: str) -> str:
    """The index term of a (normalized) word: its Porter stem, hashed when very long."""
    stem = _stemmer().stemWord(word)
    if len(stem) > MAX_TERM_LENGTH:
        return "#" + hashlib.sha256(stem.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return stem


def document_terms(text: str) -> dict[str, float]:
    """The terms of a document and their BM25 weights in it."""
    counts = Counter(term(word) for word in indexed_words(text))
    norm = K1 * (1 - B + B * sum(counts.values()) / AVERAGE_LENGTH)
    return {key: count * (K1 + 1) / (count + norm) for key, count in counts.items()}


def query_terms(query: FullTextQuery) -> list[str]:
    """The distinct terms of a parsed query."""
    return list(dict.fromkeys(term(word) for word in query.terms))


def absent_terms(text: str, terms: Sequence[str]) -> list[str]:
    """The ``terms`` that ``text`` does not hold (their postings of it are stale)."""
    present = {term(word) for word in indexed_words(text)}
    return [key for key in terms if key not in present]


def matches(absent: Sequence[str], terms: Sequence[str], mode: MatchMode) -> bool:
    """Whether a document lacking ``absent`` of the query's ``terms`` matches the query."""
    return not absent if mode is MatchMode.ALL else len(absent) < len(terms)


def idf(documents: int, holding: int) -> float:
    """The inverse document frequency of a term ``holding`` of ``documents`` hold."""
    return math.log(1 + (documents - holding + 0.5) / (holding + 0.5))
