"""Branches of a conversation, as :meth:`Memory.list_branches <bruno_memory.Memory.list_branches>`
returns them."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict


class Branch(BaseModel):
    """A conversation forked from another: it shares the parent's history up to and
    including ``fork_message_id``, then has its own. ``branch_id`` is a conversation id."""

    model_config = ConfigDict(frozen=True)

    branch_id: str
    parent_id: str
    fork_message_id: uuid.UUID
    created_at: dt.datetime
