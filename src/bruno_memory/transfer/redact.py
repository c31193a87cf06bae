"""An export's records with their personal data replaced (an anonymized export).

Through one :class:`~bruno_memory.transfer.anonymize.Anonymizer`, so a value maps to the
same token in every record of the export: texts (message, memory and summary contents,
memory tags) by :meth:`~Anonymizer.text`, JSON (metadata, profiles, preferences, session
state, custom fields) by :meth:`~Anonymizer.json`, and every string id (users,
conversations, sessions: an id may be an email) by a pseudonym, in the record that has it
and in every record that refers to it. UUIDs are no one's and stay. User names are learned
first (users come first in an export), then replaced wherever they occur. A memory's own
vector is left out, and an anonymized export has no embeddings: a vector of a text tells
about the text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from bruno_memory.errors import MissingDependencyError
from bruno_memory.transfer.records import (
    ConversationRecord,
    MemoryRecord,
    MessageRecord,
    Record,
    SessionRecord,
    SummaryRecord,
    UserRecord,
)

if TYPE_CHECKING:
    from bruno_memory.transfer.anonymize import Anonymizer

#: The string ids a record may hold, and the kind of pseudonym each gets.
_IDS = {
    "user_id": "user",
    "conversation_id": "conversation",
    "parent_id": "conversation",
}


def new_anonymizer() -> Anonymizer:
    """An anonymizer with a secret of its own (the ``anonymize`` extra installed)."""
    try:
        from bruno_memory.transfer.anonymize import Anonymizer
    except ImportError as exc:
        raise MissingDependencyError("phonenumbers and faker", "anonymize") from exc
    return Anonymizer()


async def anonymized(
    records: AsyncIterator[Record], anonymizer: Anonymizer
) -> AsyncIterator[Record]:
    """Each record with its personal data replaced."""
    async for record in records:
        yield redact(record, anonymizer)


def redact(record: Record, anonymizer: Anonymizer) -> Record:
    """One record with its personal data replaced."""
    changes: dict[str, Any] = {
        name: anonymizer.identifier(getattr(record, name), kind)
        for name, kind in _IDS.items()
        if isinstance(getattr(record, name, None), str)
    }
    if isinstance(record, UserRecord):
        anonymizer.learn_names([record.name] if record.name else [])
        changes |= {
            "id": anonymizer.identifier(record.id, "user"),
            "name": None if record.name is None else anonymizer.name(record.name),
            "preferences": anonymizer.json(record.preferences),
            "profile": anonymizer.json(record.profile),
            "metadata": anonymizer.json(record.metadata),
        }
    elif isinstance(record, ConversationRecord):
        changes |= {
            "id": anonymizer.identifier(record.id, "conversation"),
            "metadata": anonymizer.json(record.metadata),
        }
    elif isinstance(record, SessionRecord):
        changes |= {
            "id": anonymizer.identifier(record.id, "session"),
            "state": anonymizer.json(record.state),
            "metadata": anonymizer.json(record.metadata),
        }
    elif isinstance(record, MessageRecord):
        changes |= {
            "content": anonymizer.text(record.content),
            "metadata": anonymizer.json(record.metadata),
        }
    elif isinstance(record, SummaryRecord):
        changes["content"] = anonymizer.text(record.content)
    elif isinstance(record, MemoryRecord):
        changes |= {
            "content": anonymizer.text(record.content),
            "tags": [anonymizer.text(tag) for tag in record.tags],
            "custom_fields": anonymizer.json(record.custom_fields),
            "embedding": None,
        }
    return record.model_copy(update=changes)
