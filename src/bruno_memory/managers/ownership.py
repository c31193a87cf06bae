"""Who owns a conversation, decided inside the writing transaction."""

from __future__ import annotations

from bruno_memory.errors import AccessDeniedError
from bruno_memory.uow import UnitOfWork


async def open_conversation(
    uow: UnitOfWork, conversation_id: str, user_id: str | None
) -> str | None:
    """Make sure the conversation exists and may be written by ``user_id``; return its owner.

    A new conversation belongs to ``user_id``; an unowned one is claimed by it (with its
    messages). A conversation owned by someone else raises :class:`AccessDeniedError`.
    ``user_id=None`` writes without claiming.
    """
    exists, owner = await uow.conversations.owner_of(conversation_id)
    if not exists:
        if user_id is not None:
            await uow.users.ensure(user_id)
        await uow.conversations.create_if_missing(conversation_id, user_id)
        _, owner = await uow.conversations.owner_of(conversation_id)
    if owner is None and user_id is not None:
        await uow.users.ensure(user_id)
        await uow.conversations.claim(conversation_id, user_id)
        _, owner = await uow.conversations.owner_of(conversation_id)
    if user_id is not None and owner != user_id:
        raise AccessDeniedError(
            "the conversation belongs to another user",
            details={"conversation_id": conversation_id, "user_id": user_id},
        )
    return owner
