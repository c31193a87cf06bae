"""What full-text search sees of a text: the one rule every storage indexes and queries by.

**Normalization** (:func:`fold`): Unicode NFKC, then full case folding
(:meth:`str.casefold`), then accents of Latin and Greek letters are removed (the combining
diacritical marks, U+0300-U+036F and kin, that follow such a letter once decomposed, as
SQLite's ``unicode61 remove_diacritics 2`` did for Latin), then NFKC again. So "İstanbul",
"ISTANBUL" and "istanbul" are one word; "re\\u0301sume\\u0301" (decomposed), "résumé" and
"resume" are one word; "Straße" is "strasse", "ﬁ" is "fi", fullwidth letters are ASCII ones
and "Ωμέγα" is "ωμεγα". Marks of other scripts are kept ("й" stays "й").

**Words** (:func:`words`): the runs of word characters (``\\w+``) of the folded text.

**What is indexed** (:func:`indexed_words`, :func:`index_text`): the words of a text, in
order, up to :data:`MAX_INDEXED_BYTES` of UTF-8 (a word boundary; the rest of a longer
text is stored but not searchable). The limit is what PostgreSQL's ``tsvector`` (at most
1 MB) always holds: each word costs at most 5 times its bytes and separator (a 1-byte
lexeme takes 4 bytes of entry, 1 of padding, 2 of position count and 2 of position).

Every storage indexes :func:`index_text` (or the terms of :func:`indexed_words`) of what it
stores, and searches the :func:`words` of a query: SQLite FTS5 and PostgreSQL through the
``search_text`` column (:mod:`bruno_memory.db.fulltext`), the Redis inverted index and
RediSearch through :mod:`bruno_memory.backends._redis.textindex` and
:mod:`~bruno_memory.backends._redis.redisearch`.
Stored text itself is never altered. Changing this rule changes what is indexed: a new
migration must re-index the SQL tables (see ``migrations/versions/*_0003_*``).
"""

from __future__ import annotations

import re
import unicodedata

#: The most UTF-8 bytes of words (with one separator each) indexed of one text.
MAX_INDEXED_BYTES = 200_000

# Latin and Greek letters (what is left of them once decomposed).
_BASES = (
    "A-Za-z\u00c0-\u024f\u1e00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff\uab30-\uab6f"
    "\u0370-\u03ff\u1f00-\u1fff"
)
# The combining diacritical marks (accents) removed from those letters.
_DIACRITICS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _ranges(codes: list[int]) -> str:
    """A regular expression character class body for these (sorted) code points."""
    spans: list[list[int]] = []
    for code in codes:
        if spans and spans[-1][1] == code - 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in spans)


# A Latin or Greek letter and the combining marks (any, canonical combining class > 0:
# canonical ordering may put other marks between the letter and its accents) after it.
_MARKS = _ranges([code for code in range(0x20000) if unicodedata.combining(chr(code))])
_ACCENTED = re.compile(f"([{_BASES}])([{_MARKS}]+)")
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """``text`` as search compares it: NFKC, case folded, Latin and Greek letters unaccented.

    ASCII text takes a shortcut to the same result: NFKC leaves it as it is, case folding
    is lower-casing, and it has no accents."""
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFKD", folded)
    return unicodedata.normalize("NFKC", _ACCENTED.sub(_without_accents, decomposed))


def _without_accents(match: re.Match[str]) -> str:
    return match[1] + _DIACRITICS.sub("", match[2])


def words(text: str) -> list[str]:
    """The words of ``text``, folded, in order (what full-text search treats as terms)."""
    return _WORD.findall(fold(text))


def indexed_words(text: str) -> list[str]:
    """The words of ``text`` that are indexed: the first ones, up to MAX_INDEXED_BYTES."""
    folded = fold(text)
    found = _WORD.findall(folded)
    if 4 * len(folded) + 1 <= MAX_INDEXED_BYTES:
        return found  # a character is at most 4 bytes; words and separators fit in the text
    total = 0
    for position, word in enumerate(found):
        total += len(word.encode("utf-8", "surrogatepass")) + 1
        if total > MAX_INDEXED_BYTES:
            return found[:position]
    return found


def index_text(text: str) -> str:
    """What the SQL full-text indexes and RediSearch documents hold of ``text``: its indexed
    words, space separated."""
    return " ".join(indexed_words(text))
