"""Forgetting a conversation everywhere else once it is gone (deleted or expired).

A conversation's ``refs`` hash lists what other slots hold about it: ``owner``, ``m:<id>``
(a message and its index terms) and ``s:<id>`` (a session). It outlives an expiring
conversation by ``index_grace_seconds`` so that the sweeper can use it.
"""

from __future__ import annotations

import uuid

from bruno_memory.backends._redis.context import RedisContext
from bruno_memory.backends._redis.conversations import Conversations


async def forget_conversation(
    context: RedisContext, conversations: Conversations, conversation_id: str, refs: dict[str, str]
) -> None:
    """Remove the postings (or search documents), registry entries, session locators and
    user-side hints that ``refs`` lists for a conversation that no longer exists, then
    ``refs`` itself."""
    owner = refs.get("owner")
    messages = [(field[2:], terms.split()) for field, terms in refs.items() if field[:2] == "m:"]
    sessions = [field[2:] for field in refs if field[:2] == "s:"]
    await conversations.index.forget(conversation_id, owner, messages)
    await conversations.registry.release([uuid.UUID(message_id) for message_id, _ in messages])
    keys = context.keys
    pipe = context.pipeline()
    for session_id in sessions:
        pipe.delete(keys.session_locator(session_id))
    if owner:
        user = keys.user(owner)
        if sessions:
            pipe.hdel(user.sessions, *sessions)
            pipe.hdel(user.active, *sessions)
        pipe.srem(user.conversations, conversation_id)
    pipe.delete(keys.conversation(conversation_id).refs)
    await pipe.execute()
