"""Deterministic synthetic conversations and search queries.

Everything derives from one seed: the same seed gives the same words, messages, ids,
timestamps and queries on every machine.

- A vocabulary of pronounceable pseudo-words (2-3 consonant-vowel syllables, ending in a
  vowel so that stemmers leave them whole), ranked by a Zipf distribution: the word of rank
  ``r`` is drawn with probability proportional to ``1 / r**exponent``.
- Conversations of :data:`CONVERSATION_LENGTH` messages, roles alternating user/assistant,
  each message 8-30 words. Conversation ``k`` belongs to user ``k % USERS``, so every size
  spreads its messages evenly over the users that own a conversation so far.
- Queries of 1-2 distinct words from the same distribution, without the
  :data:`STOP_WORDS` most frequent words (the ones a search engine would drop).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
from dataclasses import dataclass

from bruno_core.models.message import Message, MessageRole

CONVERSATION_LENGTH = 1_000
USERS = 100
VOCABULARY_SIZE = 5_000
ZIPF_EXPONENT = 1.0
STOP_WORDS = 20
MIN_WORDS, MAX_WORDS = 8, 30

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aiou"
_SYLLABLES = [c + v for c in _CONSONANTS for v in _VOWELS]
_EPOCH = dt.datetime(2025, 1, 1)  # naive UTC, as bruno-core's Message uses


@dataclass(frozen=True)
class Query:
    """A search: its text and the user it is scoped to."""

    text: str
    user_id: str

    @property
    def words(self) -> list[str]:
        """The query's words."""
        return self.text.split()


class Corpus:
    """The vocabulary, its Zipf distribution and the generators built on them."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.vocabulary = _pseudo_words(random.Random(f"{seed}:vocabulary"), VOCABULARY_SIZE)
        weights = [1.0 / rank**ZIPF_EXPONENT for rank in range(1, VOCABULARY_SIZE + 1)]
        self._cumulative = list(itertools.accumulate(weights))
        self._query_words = self.vocabulary[STOP_WORDS:]
        self._query_cumulative = list(itertools.accumulate(weights[STOP_WORDS:]))

    @property
    def stop_words(self) -> list[str]:
        """The most frequent words, never used in queries."""
        return self.vocabulary[:STOP_WORDS]

    def text(self, rng: random.Random) -> str:
        """One message body: 8-30 Zipf-distributed words."""
        count = rng.randint(MIN_WORDS, MAX_WORDS)
        words = rng.choices(self.vocabulary, cum_weights=self._cumulative, k=count)
        return " ".join(words).capitalize() + "."

    def messages(self, key: str, user_id: str, count: int) -> list[Message]:
        """The ``count`` messages of the conversation named ``key``, oldest first.

        ``key`` seeds the generator, so a conversation is the same whenever it is built.
        """
        rng = random.Random(f"{self.seed}:messages:{key}")
        start = _EPOCH + dt.timedelta(hours=rng.randrange(24 * 365))
        roles = (MessageRole.USER, MessageRole.ASSISTANT)
        return [
            Message(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                role=roles[position % 2],
                content=self.text(rng),
                timestamp=start + dt.timedelta(seconds=7 * position),
                metadata={"user_id": user_id},
            )
            for position in range(count)
        ]

    def queries(self, count: int) -> list[str]:
        """``count`` search texts of 1-2 distinct words, never one of the stop words."""
        rng = random.Random(f"{self.seed}:queries")
        texts = []
        for _ in range(count):
            words: list[str] = []
            wanted = rng.randint(1, 2)
            while len(words) < wanted:
                (word,) = rng.choices(self._query_words, cum_weights=self._query_cumulative)
                if word not in words:
                    words.append(word)
            texts.append(" ".join(words))
        return texts


def conversation_id(index: int) -> str:
    """The id of history conversation number ``index``."""
    return f"conversation-{index:05d}"


def owner_of(index: int) -> str:
    """The user owning history conversation number ``index``."""
    return f"user-{index % USERS:03d}"


def owners_up_to(stored_messages: int) -> list[str]:
    """The users owning at least one conversation once ``stored_messages`` are stored."""
    conversations = -(-stored_messages // CONVERSATION_LENGTH)
    return sorted({owner_of(index) for index in range(conversations)})


def _pseudo_words(rng: random.Random, count: int) -> list[str]:
    words: dict[str, None] = {}
    while len(words) < count:
        syllables = rng.choices(_SYLLABLES, k=rng.choice((2, 3, 3)))
        words.setdefault("".join(syllables), None)
    return list(words)
