"""Which messages or memories a search may return: user, conversation, time range, metadata.

A value every storage reads: the SQL storage writes it as conditions
(:mod:`bruno_memory.repositories.scope`), the others check items with
:meth:`SearchScope.admits`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bruno_memory.errors import InvalidInputError

MetadataValue = str | int | float | bool
#: A branch's history as spans: a conversation and the last position read from it (all of
#: it when None), the branch itself first, then its ancestors.
HistorySpans = tuple[tuple[str, int | None], ...]


@dataclass(frozen=True)
class SearchScope:
    """Restrictions shared by every search signal; unset fields do not restrict."""

    user_id: str | None = None
    conversation_id: str | None = None
    since: dt.datetime | None = None  # inclusive, on the message timestamp / memory creation
    until: dt.datetime | None = None  # exclusive
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    #: Set by a storage with branches when ``conversation_id`` is a branch: the messages in
    #: scope are those of its history (inherited ones included), the memories those of its
    #: conversations. Storages without branches never set it.
    history: HistorySpans = ()

    def __post_init__(self) -> None:
        for key, value in self.metadata.items():
            if not isinstance(key, str) or not isinstance(value, MetadataValue):
                raise InvalidInputError(
                    "metadata filters map names to str, int, float or bool values",
                    details={"key": key},
                )

    def admits(
        self,
        *,
        user_id: str | None,
        conversation_id: str | None,
        time: dt.datetime,
        document: Mapping[str, Any],
    ) -> bool:
        """Whether an item is in scope, for storages that check in Python what the SQL
        storage writes as conditions: its owner, conversation, time (aware) and metadata
        (a message's metadata, a memory's custom fields). Metadata values compare as the
        SQL conditions read them: a bool only equals a bool, numbers equal numbers."""
        if self.user_id is not None and user_id != self.user_id:
            return False
        if self.conversation_id is not None and conversation_id != self.conversation_id:
            return False
        if self.since is not None and time < self.since:
            return False
        if self.until is not None and time >= self.until:
            return False
        return all(
            key in document and _same_value(document[key], value)
            for key, value in self.metadata.items()
        )


def _same_value(stored: Any, wanted: MetadataValue) -> bool:
    if isinstance(wanted, bool) or isinstance(stored, bool):
        return isinstance(stored, bool) and isinstance(wanted, bool) and stored == wanted
    if isinstance(wanted, int | float):
        return isinstance(stored, int | float) and stored == wanted
    return isinstance(stored, str) and stored == wanted
