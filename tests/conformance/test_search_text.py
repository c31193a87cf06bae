"""What full-text search sees of a text: one normalization at index and query time.

Stored text comes back exactly as given; only what is indexed and queried is normalized
(NFKC, case folding, accents of Latin letters removed; see :mod:`bruno_memory.text`), on
every storage: SQLite FTS5, PostgreSQL tsvector, the Redis inverted index and RediSearch.
"""

from __future__ import annotations

import random
import string

import pytest
from bruno_core.models.memory import MemoryQuery

from bruno_memory import Memory
from tests.conformance.helpers import memory_entry, user_message

# (what is stored, what is searched): each pair must match, both ways round.
EQUIVALENT_FORMS = [
    pytest.param("İstanbul", "İstanbul", id="dotted-capital-i"),
    pytest.param("İstanbul", "istanbul", id="dotted-capital-i-lowercase"),
    pytest.param("İSTANBUL", "Istanbul", id="dotted-capital-i-uppercase"),
    pytest.param("re\u0301sume\u0301", "résumé", id="decomposed-stored"),
    pytest.param("résumé", "re\u0301sume\u0301", id="decomposed-searched"),
    pytest.param("résumé", "resume", id="accents-ignored"),
    pytest.param("Straße", "STRASSE", id="sharp-s-casefold"),
    pytest.param("ﬁnancial", "financial", id="ligature-nfkc"),
    pytest.param("\uff34\uff4f\uff4b\uff59\uff4f", "tokyo", id="fullwidth-nfkc"),
    pytest.param("ΣΟΦΙΑ", "σοφια", id="greek-final-sigma"),
]


@pytest.mark.parametrize(("stored", "searched"), EQUIVALENT_FORMS)
async def test_search_messages_normalizes_text(
    memory: Memory, uid: str, word: str, stored: str, searched: str
) -> None:
    """A message is found by any equivalent spelling of its words, and comes back as stored."""
    content = f"{word} visited {stored} twice"
    await memory.store_message(user_message(content), uid)
    for query in (f"{word} {searched}", f"{word} {stored}"):
        found = await memory.search_messages(query)
        assert [m.content for m in found] == [content], query
    reverse = f"{word}zq {searched}"
    await memory.store_message(user_message(reverse), f"{uid}-r")
    found = await memory.search_messages(f"{word}zq {stored}")
    assert [m.content for m in found] == [reverse]
    assert [m.content for m in await memory.retrieve_messages(uid)] == [content]


@pytest.mark.parametrize(("stored", "searched"), EQUIVALENT_FORMS)
async def test_memory_search_normalizes_text(
    memory: Memory, uid: str, word: str, stored: str, searched: str
) -> None:
    """search_memories and retrieve_memories(query_text) normalize the same way."""
    content = f"{word} lives in {stored}"
    entry = memory_entry(uid, content)
    await memory.store_memory(entry)
    found = await memory.search_memories(f"{word} {searched}")
    assert [e.content for e in found] == [content]
    found = await memory.search_memories(f"{word} {searched}", user_id=uid)
    assert [e.content for e in found] == [content]
    retrieved = await memory.retrieve_memories(
        MemoryQuery(user_id=uid, query_text=f"{searched} {word}")
    )
    assert [e.content for e in retrieved] == [content]
    updated = entry.model_copy(update={"content": f"{word} moved from {stored}"})
    await memory.update_memory(updated)
    found = await memory.search_memories(f"{word} moved {searched}", user_id=uid)
    assert [e.content for e in found] == [f"{word} moved from {stored}"]
    got = await memory.get_memory(entry.id)
    assert got is not None
    assert got.content == f"{word} moved from {stored}"


def _distinct_words(size: int, seed: int) -> list[str]:
    """Distinct random lowercase words totalling about ``size`` characters (with spaces)."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    total = 0
    while total < size:
        candidate = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 12)))
        if candidate not in seen:
            seen[candidate] = None
            total += len(candidate) + 1
    return list(seen)


async def test_megabyte_message_is_stored_and_searchable(
    memory: Memory, uid: str, word: str
) -> None:
    """A ~1 MB message of distinct words is stored exactly and its first words are found."""
    words = _distinct_words(1_000_000, seed=len(word))
    content = f"{word} " + " ".join(words)
    assert len(content) >= 1_000_000
    await memory.store_message(user_message(content), uid)
    [stored] = await memory.retrieve_messages(uid)
    assert stored.content == content
    found = await memory.search_messages(f"{word} {words[10]}")
    assert [m.content for m in found] == [content]
    found = await memory.search_messages(words[100], user_id=None, limit=50)
    assert content in [m.content for m in found]


async def test_megabyte_memory_is_stored_and_searchable(
    memory: Memory, uid: str, word: str
) -> None:
    """A ~1 MB memory entry of distinct words is stored exactly and its first words found."""
    words = _distinct_words(1_000_000, seed=len(word) + 1)
    content = f"{word} " + " ".join(words)
    entry = memory_entry(uid, content)
    await memory.store_memory(entry)
    got = await memory.get_memory(entry.id)
    assert got is not None
    assert got.content == content
    found = await memory.search_memories(f"{word} {words[10]}", user_id=uid)
    assert [e.content for e in found] == [content]
