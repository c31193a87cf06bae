"""What :meth:`Memory.list_conversations <bruno_memory.Memory.list_conversations>` yields."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict


class ConversationInfo(BaseModel):
    """A conversation of a user, as listed: its id and owner, where it branched from (a
    branch's ``parent_id`` and ``fork_message_id``; None for a conversation that is no
    branch) and when it was created and last written (None where the storage does not
    record it: the Redis storage)."""

    model_config = ConfigDict(frozen=True)

    conversation_id: str
    user_id: str
    parent_id: str | None = None
    fork_message_id: uuid.UUID | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
