"""Query understanding for retrieval: stop words and the dates a query names."""

from bruno_memory.retrieval.dates import Period, find_periods
from bruno_memory.retrieval.stopwords import ENGLISH_STOP_WORDS, without_stop_words

__all__ = ["ENGLISH_STOP_WORDS", "Period", "find_periods", "without_stop_words"]
