"""Query building for full-text search: user text is data, never syntax."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bruno_memory import InvalidQueryError
from bruno_memory.db.fulltext import MAX_QUERY_TERMS, FullTextQuery, MatchMode


def test_words_are_lowercased_deduplicated_and_quoted() -> None:
    """Each distinct word becomes one quoted FTS5 string, in order of first appearance."""
    query = FullTextQuery.parse('Jazz "NEAR" jazz* -piano')
    assert query.terms == ("jazz", "near", "piano")
    assert query.fts5_expression() == '"jazz" "near" "piano"'
    assert FullTextQuery.parse("a b", MatchMode.ANY).fts5_expression() == '"a" OR "b"'


def test_websearch_input_has_no_operators() -> None:
    """The PostgreSQL input holds only words; a bare 'or' is dropped, ANY mode joins with or."""
    assert FullTextQuery.parse("salt OR -pepper").websearch_text() == "salt pepper"
    assert FullTextQuery.parse("salt pepper", MatchMode.ANY).websearch_text() == "salt or pepper"


def test_punctuation_only_query_is_empty() -> None:
    """A query with no word searches nothing instead of failing."""
    assert FullTextQuery.parse("*** %% ~~").is_empty


@pytest.mark.parametrize("text", ["", " ", "\n"])
def test_blank_query_is_refused(text: str) -> None:
    """Blank text raises InvalidQueryError."""
    with pytest.raises(InvalidQueryError):
        FullTextQuery.parse(text)


def test_overlong_query_is_refused() -> None:
    """A query over the length limit raises InvalidQueryError."""
    with pytest.raises(InvalidQueryError):
        FullTextQuery.parse("x" * 10_001)


def test_terms_are_capped() -> None:
    """Only the first MAX_QUERY_TERMS distinct words are searched."""
    query = FullTextQuery.parse(" ".join(f"w{i}" for i in range(200)))
    assert len(query.terms) == MAX_QUERY_TERMS


@given(st.text(min_size=1))
def test_fts5_strings_are_always_balanced(text: str) -> None:
    """Property: every term is wrapped in quotes with inner quotes doubled."""
    if not text.strip():
        return
    for part in FullTextQuery.parse(text).fts5_expression().split(" "):
        if part and part != "OR":
            assert part.startswith('"')
            assert part.endswith('"')
            assert '"' not in part[1:-1].replace('""', "")
