"""English stop words, left out of any-word full-text queries.

In an any-word (OR) query, words such as "what", "did" or "the" match most messages and add
noise to the ranking; PostgreSQL's ``english`` configuration already drops them, SQLite's FTS5
does not. Removing the same list on both sides makes the dialects rank alike, and spares
SQLite scoring nearly every row. Search leaves them out (unless ``search_stop_words`` is off);
memory ranking (``retrieve_memories``, the context's memories) always does, through
:func:`content_words`.
"""

from __future__ import annotations

import dataclasses

from bruno_memory.db.fulltext import FullTextQuery, MatchMode

#: The stop words of PostgreSQL's ``english`` text search configuration (the Snowball list).
ENGLISH_STOP_WORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom
    this that these those am is are was were be been being have has had having do does did
    doing a an the and but if or because as until while of at by for with about against
    between into through during before after above below to from up down in out on off over
    under again further then once here there when where why how all any both each few more
    most other some such no nor not only own same so than too very s t can will just don
    should now
    """.split()  # noqa: SIM905 - one word per line would take 127 lines
)


def without_stop_words(query: FullTextQuery) -> FullTextQuery:
    """``query`` without :data:`ENGLISH_STOP_WORDS`; unchanged when nothing else is left."""
    kept = tuple(term for term in query.terms if term not in ENGLISH_STOP_WORDS)
    return dataclasses.replace(query, terms=kept) if kept else query


def content_words(text: str) -> FullTextQuery:
    """``text`` as an any-word query of its content words: its words without stop words
    (all of them when nothing else is left)."""
    return without_stop_words(FullTextQuery.parse(text, MatchMode.ANY))
