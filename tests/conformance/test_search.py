"""Full-text search: ranked, scoped, and safe for any user text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruno_memory import InvalidQueryError, Memory
from tests.conformance.helpers import user_message

HOSTILE_QUERIES = [
    '"',
    "'",
    '"unbalanced',
    "*",
    "jazz*",
    "-",
    "-jazz",
    ":",
    "content:jazz",
    "%",
    "_",
    "%%",
    "a_b",
    "NEAR(a b)",
    "AND",
    "OR",
    "NOT",
    "a OR b",
    "(",
    ")",
    "^start",
    "{x}",
    "[x]",
    "x' OR '1'='1",
    "'; DROP TABLE messages; --",
    "1; SELECT * FROM users",
    "\\",
    "🎷🎺",
    "\u200b",
    "!@#$%^&*()",
    "&|!<->",
]


async def test_results_are_ranked(memory: Memory, uid: str, word: str) -> None:
    """A message where the searched word dominates ranks above one that only mentions it."""
    await memory.store_messages(
        [
            user_message(f"{word} once among many other ordinary words in a long sentence"),
            user_message(f"{word} {word} {word}"),
            user_message("nothing relevant here"),
        ],
        uid,
    )
    found = await memory.search_messages(word)
    assert [m.content for m in found] == [
        f"{word} {word} {word}",
        f"{word} once among many other ordinary words in a long sentence",
    ]


async def test_every_word_must_match(memory: Memory, uid: str, word: str) -> None:
    """search_messages matches messages holding all the query's words."""
    await memory.store_messages(
        [user_message(f"{word} trumpet"), user_message(f"{word} piano")], uid
    )
    assert [m.content for m in await memory.search_messages(f"{word} piano")] == [f"{word} piano"]


async def test_search_scoped_to_user(memory: Memory, uid: str, word: str) -> None:
    """user_id restricts results to that user's conversations."""
    for owner in ("alice", "bob"):
        await memory.store_message(
            user_message(f"{word} from {owner}", metadata={"user_id": f"{uid}-{owner}"}),
            f"{uid}-{owner}-conv",
        )
    found = await memory.search_messages(word, user_id=f"{uid}-alice")
    assert [m.content for m in found] == [f"{word} from alice"]
    assert len(await memory.search_messages(word)) == 2


async def test_search_limit(memory: Memory, uid: str, word: str) -> None:
    """limit caps the number of results."""
    await memory.store_messages([user_message(f"{word} {i}") for i in range(15)], uid)
    assert len(await memory.search_messages(word, limit=4)) == 4
    assert len(await memory.search_messages(word)) == 10


async def test_search_is_case_insensitive_and_stemmed(memory: Memory, uid: str, word: str) -> None:
    """Search ignores case and matches inflected forms of a word."""
    await memory.store_message(user_message(f"{word} was Running to the concerts"), uid)
    assert len(await memory.search_messages(f"{word.upper()} run concert")) == 1


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
async def test_blank_query_is_a_typed_error(memory: Memory, query: str) -> None:
    """An empty or blank query raises InvalidQueryError."""
    with pytest.raises(InvalidQueryError):
        await memory.search_messages(query)


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
async def test_hostile_query_is_searched_as_text(
    memory: Memory, uid: str, word: str, query: str
) -> None:
    """Operators, quotes, wildcards, SQL and emoji never cause a driver error or a wildcard."""
    await memory.store_messages([user_message(f"{word} plain words"), user_message("abc")], uid)
    results = await memory.search_messages(f"{query} {word}")
    # The word is there; the rest is either matched literally or not at all, never as syntax.
    assert all(word in m.content for m in results)
    alone = await memory.search_messages(query)
    assert all(m.content != "abc" or "abc" in query.lower() for m in alone)


async def test_wildcard_characters_are_literal(memory: Memory, uid: str, word: str) -> None:
    """'%' and '_' are not LIKE wildcards: they match nothing by themselves."""
    await memory.store_messages([user_message(f"{word} percent"), user_message(f"{word}_x")], uid)
    assert await memory.search_messages("%", user_id=None) == []
    assert await memory.search_messages("_") == []


async def test_sql_in_query_changes_nothing(memory: Memory, uid: str, word: str) -> None:
    """A query holding SQL leaves the data as it was."""
    await memory.store_message(user_message(f"{word} survives"), uid)
    await memory.search_messages(f"{word}'); DELETE FROM messages; --")
    assert len(await memory.retrieve_messages(uid)) == 1


async def test_retrieve_context_matches_any_word(memory: Memory, uid: str, word: str) -> None:
    """retrieve_context (bruno-core's ContextManager) ranks messages sharing any query word."""
    owner = f"{uid}-u"
    await memory.store_messages(
        [
            user_message(f"{word} likes jazz", metadata={"user_id": owner}),
            user_message(f"{word} also plays chess"),
            user_message("unrelated"),
        ],
        uid,
    )
    found = await memory.retrieve_context(owner, f"what does {word} like about jazz?", limit=5)
    assert [m.content for m in found][:1] == [f"{word} likes jazz"]
    assert {m.content for m in found} == {f"{word} likes jazz", f"{word} also plays chess"}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(query=st.text(min_size=1, max_size=40))
async def test_any_text_is_a_valid_query(memory: Memory, query: str) -> None:
    """Property: any text either searches or raises InvalidQueryError, nothing else."""
    try:
        results = await memory.search_messages(query, limit=3)
    except InvalidQueryError:
        assert not query.strip()
    else:
        assert len(results) <= 3
