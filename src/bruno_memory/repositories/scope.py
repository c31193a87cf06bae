"""Which messages or memories a search may return: user, conversation, time range, metadata."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, or_

from bruno_memory.db.models import ACTIVE, Memory, Message
from bruno_memory.errors import InvalidInputError

MetadataValue = str | int | float | bool


@dataclass(frozen=True)
class SearchScope:
    """Restrictions shared by every search signal; unset fields do not restrict."""

    user_id: str | None = None
    conversation_id: str | None = None
    since: dt.datetime | None = None  # inclusive, on the message timestamp / memory creation
    until: dt.datetime | None = None  # exclusive
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)

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

    def message_conditions(self) -> list[ColumnElement[bool]]:
        """Conditions on ``messages`` (archived messages are never in scope)."""
        return [
            *self._conditions(
                Message.user_id, Message.conversation_id, Message.timestamp, Message.metadata_
            ),
            Message.state == ACTIVE,
        ]

    def memory_conditions(self, now: dt.datetime) -> list[ColumnElement[bool]]:
        """Conditions on ``memories`` (expired memories are never in scope)."""
        return [
            *self._conditions(
                Memory.user_id, Memory.conversation_id, Memory.created_at, Memory.custom_fields
            ),
            or_(Memory.expires_at.is_(None), Memory.expires_at > now),
        ]

    def _conditions(
        self, user: Any, conversation: Any, time: Any, document: Any
    ) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.user_id is not None:
            clauses.append(user == self.user_id)
        if self.conversation_id is not None:
            clauses.append(conversation == self.conversation_id)
        if self.since is not None:
            clauses.append(time >= self.since)
        if self.until is not None:
            clauses.append(time < self.until)
        for key, value in self.metadata.items():
            clauses.append(_json_field(document[key], value) == value)
        return clauses


def _same_value(stored: Any, wanted: MetadataValue) -> bool:
    if isinstance(wanted, bool) or isinstance(stored, bool):
        return isinstance(stored, bool) and isinstance(wanted, bool) and stored == wanted
    if isinstance(wanted, int | float):
        return isinstance(stored, int | float) and stored == wanted
    return isinstance(stored, str) and stored == wanted


def _json_field(element: Any, value: MetadataValue) -> Any:
    # bool before int: True is an int in Python.
    if isinstance(value, bool):
        return element.as_boolean()
    if isinstance(value, int):
        return element.as_integer()
    if isinstance(value, float):
        return element.as_float()
    return element.as_string()
