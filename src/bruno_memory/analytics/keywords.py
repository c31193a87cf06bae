"""Topics offline: the top content words of a bounded sample of messages.

The words are those full-text search indexes (:func:`~bruno_memory.text.indexed_words`),
without the stop words of :mod:`~bruno_memory.retrieval.stopwords`, numbers and words of
fewer than three letters. They are counted by the Misra-Gries summary: at most
:data:`CAPACITY` words are held, whatever the sample holds, and every word occurring more
than ``total / CAPACITY`` times is kept (its count short by at most that much; exact while
fewer than :data:`CAPACITY` distinct words were seen).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bruno_memory.analytics.model import Keyword, Topics, Window
from bruno_memory.retrieval.stopwords import ENGLISH_STOP_WORDS
from bruno_memory.text import indexed_words

if TYPE_CHECKING:
    from bruno_memory.ports.storage import Analysis

#: The newest messages of the window whose words are counted.
SAMPLE = 5_000
#: Messages read at a time.
PAGE = 500
#: Words the counter holds at most.
CAPACITY = 2_000
#: Keywords reported.
TOP = 20
MIN_LENGTH = 3


def keywords_of(text: str) -> list[str]:
    """The words of ``text`` that can be keywords."""
    return [
        word
        for word in indexed_words(text)
        if len(word) >= MIN_LENGTH and not word.isdigit() and word not in ENGLISH_STOP_WORDS
    ]


class TopWords:
    """A bounded count of words (the Misra-Gries summary)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._counts: dict[str, int] = {}

    def add(self, words: Iterable[str]) -> None:
        """Count each of ``words``."""
        counts = self._counts
        for word in words:
            if word in counts:
                counts[word] += 1
            elif len(counts) < self._capacity:
                counts[word] = 1
            else:
                self._counts = counts = {w: n - 1 for w, n in counts.items() if n > 1}

    def top(self, limit: int = TOP) -> tuple[Keyword, ...]:
        """The ``limit`` most frequent words, the most frequent first (ties by word)."""
        ranked = sorted(self._counts.items(), key=lambda item: (-item[1], item[0]))
        return tuple(Keyword(word=word, count=count) for word, count in ranked[:limit])


async def sample_topics(analysis: Analysis, window: Window) -> Topics:
    """The top keywords of the window's newest :data:`SAMPLE` messages, read a page at a
    time (what is held is one page and the counter)."""
    counter = TopWords()
    sampled, before = 0, None
    while sampled < SAMPLE:
        wanted = min(PAGE, SAMPLE - sampled)
        page = await analysis.message_texts(window, before=before, limit=wanted)
        for _, text in page:
            counter.add(keywords_of(text))
        sampled += len(page)
        if len(page) < wanted:
            break
        before = page[-1][0]
    return Topics(keywords=counter.top(), sampled_messages=sampled)
