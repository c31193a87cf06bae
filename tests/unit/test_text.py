"""The normalization rule of full-text search (bruno_memory.text)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bruno_memory.text import MAX_INDEXED_BYTES, fold, index_text, indexed_words, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("İstanbul ISTANBUL istanbul", ["istanbul"] * 3),
        ("re\u0301sume\u0301 résumé RESUME", ["resume"] * 3),
        ("Straße", ["strasse"]),
        ("\ufb01nancial \uff34\uff4f\uff4b\uff59\uff4f", ["financial", "tokyo"]),
        ("Ωμέγα ΣΟΦΊΑ", ["ωμεγα", "σοφια"]),
        ("й мой", ["й", "мой"]),
        ("a_b x-y", ["a_b", "x", "y"]),
    ],
)
def test_words_are_normalized(text: str, expected: list[str]) -> None:
    """NFKC, case folding, no accents on Latin and Greek letters; other marks are kept."""
    assert words(text) == expected


@given(st.text())
def test_normalization_is_stable(text: str) -> None:
    """Property: folding twice changes nothing, and the index text splits into its words."""
    assert fold(fold(text)) == fold(text)
    assert words(index_text(text)) == indexed_words(text)


def test_indexed_words_fit_the_budget() -> None:
    """A long text is indexed up to MAX_INDEXED_BYTES of UTF-8, at a word boundary."""
    text = " ".join(f"wörd{i}" for i in range(100_000))
    indexed = index_text(text)
    assert len(indexed.encode()) + 1 <= MAX_INDEXED_BYTES
    assert text.replace("ö", "o").startswith(indexed + " ")
    assert index_text("short Text") == "short text"


@given(st.text(st.characters(max_codepoint=127)))
def test_ascii_text_folds_as_the_full_rule_says(text: str) -> None:
    """Property: the ASCII shortcut gives what NFKC, case folding and NFKC give."""
    full = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    assert fold(text) == full


@given(st.text(min_size=1, max_size=60))
def test_a_short_text_is_indexed_whole(text: str) -> None:
    """Property: a text far below the budget has every word indexed."""
    assert indexed_words(text) == words(text)
