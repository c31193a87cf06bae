"""What searches return: pydantic models at the library's boundary."""

from __future__ import annotations

from typing import Literal

from bruno_core.models.memory import MemoryEntry
from bruno_core.models.message import Message
from pydantic import BaseModel, Field

SearchMode = Literal["exact", "fulltext", "semantic", "hybrid"]


class SignalMatch(BaseModel):
    """How one retrieval signal ranked a hit."""

    rank: int = Field(ge=1, description="1 for the signal's best match")
    score: float | None = Field(
        default=None, description="the signal's own score where comparable (cosine similarity)"
    )


class SearchHit(BaseModel):
    """One search result: a message or a memory entry, its fused score and its signals."""

    kind: Literal["message", "memory"]
    message: Message | None = None
    memory: MemoryEntry | None = None
    score: float = Field(description="higher is better; comparable within one search only")
    signals: dict[str, SignalMatch] = Field(
        default_factory=dict,
        description="the signals that matched: exact, fulltext, semantic, date (a list run "
        "within a date the query names), neighbor (next to a strong hit in its conversation)",
    )

    @property
    def content(self) -> str:
        """The text of the hit."""
        item = self.message if self.message is not None else self.memory
        assert item is not None
        return item.content
