"""How ``get_context`` fills a token budget when it is told to (``context_budget=``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bruno_memory.context.window import ContextStrategy


class ContextBudget(BaseModel):
    """The budget and strategy with which ``get_context`` builds its context through
    ``build_context`` (the messages it returns are ``ContextWindow.to_messages()``: system
    messages, then the summary, memory and recall notes, then the window)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: int = Field(default=4096, gt=0)
    reserve_tokens: int = Field(default=0, ge=0)
    strategy: ContextStrategy = "hybrid"

    @model_validator(mode="after")
    def _leaves_room(self) -> ContextBudget:
        if self.reserve_tokens >= self.max_tokens:
            raise ValueError("reserve_tokens leaves nothing of max_tokens")
        return self
