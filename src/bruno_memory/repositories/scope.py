"""The SQL conditions of a :class:`~bruno_memory.ports.scope.SearchScope`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from bruno_memory.db.models import ACTIVE, Memory, Message
from bruno_memory.ports.scope import MetadataValue, SearchScope


def message_conditions(scope: SearchScope) -> list[ColumnElement[bool]]:
    """Conditions on ``messages`` (archived messages are never in scope); a branch's scope
    holds the messages of its history, each span a range of positions."""
    spans = [
        Message.conversation_id == conversation_id
        if upper is None
        else and_(Message.conversation_id == conversation_id, Message.seq <= upper)
        for conversation_id, upper in scope.history
    ]
    return [
        *_conditions(
            scope, Message.user_id, Message.conversation_id, Message.timestamp, Message.metadata_
        ),
        *([or_(*spans)] if spans else []),
        Message.state == ACTIVE,
    ]


def memory_conditions(scope: SearchScope, now: dt.datetime) -> list[ColumnElement[bool]]:
    """Conditions on ``memories`` (expired and archived memories are never in scope); a
    branch's scope holds the memories of the conversations of its history."""
    spans = [conversation_id for conversation_id, _ in scope.history]
    return [
        *_conditions(
            scope, Memory.user_id, Memory.conversation_id, Memory.created_at, Memory.custom_fields
        ),
        *([Memory.conversation_id.in_(spans)] if spans else []),
        or_(Memory.expires_at.is_(None), Memory.expires_at > now),
        Memory.archived_at.is_(None),
    ]


def _conditions(
    scope: SearchScope, user: Any, conversation: Any, time: Any, document: Any
) -> list[ColumnElement[bool]]:
    """The conditions every kind shares (the conversation's own when there is no
    history: a history's spans are the kind's to write)."""
    clauses: list[ColumnElement[bool]] = []
    if scope.user_id is not None:
        clauses.append(user == scope.user_id)
    if scope.conversation_id is not None and not scope.history:
        clauses.append(conversation == scope.conversation_id)
    if scope.since is not None:
        clauses.append(time >= scope.since)
    if scope.until is not None:
        clauses.append(time < scope.until)
    for key, value in scope.metadata.items():
        clauses.append(_json_field(document[key], value) == value)
    return clauses


def _json_field(element: Any, value: MetadataValue) -> Any:
    # bool before int: True is an int in Python.
    if isinstance(value, bool):
        return element.as_boolean()
    if isinstance(value, int):
        return element.as_integer()
    if isinstance(value, float):
        return element.as_float()
    return element.as_string()
