"""MemoryInterface contract: sessions and the conversation context."""

from __future__ import annotations

import pytest
from bruno_core.models.message import MessageRole
from bruno_core.utils.exceptions import MemoryError as CoreMemoryError

from bruno_memory import AccessDeniedError, Memory, SessionNotFoundError
from tests.conformance.helpers import message, user_message


async def test_create_and_get_session(memory: Memory, uid: str) -> None:
    """create_session starts an active session with its own conversation; get_session reads it."""
    created = await memory.create_session(uid, metadata={"channel": "cli"})
    assert created.user_id == uid
    assert created.is_active
    assert created.metadata == {"channel": "cli"}
    fetched = await memory.get_session(created.session_id)
    assert fetched == created
    other = await memory.create_session(uid)
    assert other.conversation_id != created.conversation_id


async def test_get_missing_session_is_none(memory: Memory, uid: str) -> None:
    """get_session returns None for an unknown id."""
    assert await memory.get_session(f"{uid}-missing") is None


async def test_end_session(memory: Memory, uid: str) -> None:
    """end_session marks the session ended; ending it again changes nothing."""
    session = await memory.create_session(uid)
    await memory.end_session(session.session_id)
    ended = await memory.get_session(session.session_id)
    assert ended is not None
    assert not ended.is_active
    assert ended.ended_at is not None
    assert ended.ended_at >= session.started_at
    await memory.end_session(session.session_id)
    assert await memory.get_session(session.session_id) == ended


async def test_end_missing_session_raises(memory: Memory, uid: str) -> None:
    """end_session raises SessionNotFoundError, a bruno-core MemoryError, for an unknown id."""
    with pytest.raises(SessionNotFoundError) as raised:
        await memory.end_session(f"{uid}-missing")
    assert isinstance(raised.value, CoreMemoryError)


async def test_context_by_session_id(memory: Memory, uid: str) -> None:
    """get_context with a session id returns that session, its user and its messages in order."""
    session = await memory.create_session(uid)
    await memory.store_messages(
        [user_message("hello"), message(MessageRole.ASSISTANT, "hi!")], session.conversation_id
    )
    context = await memory.get_context(uid, session.session_id)
    assert context.session.session_id == session.session_id
    assert context.conversation_id == session.conversation_id
    assert context.user.user_id == uid
    assert [m.content for m in context.messages] == ["hello", "hi!"]


async def test_context_by_conversation_id(memory: Memory, uid: str) -> None:
    """get_context accepts a conversation id, as bruno-core's BaseAssistant passes."""
    session = await memory.create_session(uid)
    await memory.store_message(user_message("via conversation"), session.conversation_id)
    context = await memory.get_context(uid, session.conversation_id)
    assert context.session.session_id == session.session_id
    assert [m.content for m in context.messages] == ["via conversation"]


async def test_context_without_session_uses_latest(memory: Memory, uid: str) -> None:
    """Without an id, get_context uses the user's latest active session."""
    await memory.create_session(uid)
    latest = await memory.create_session(uid)
    context = await memory.get_context(uid)
    assert context.session.session_id == latest.session_id


async def test_context_starts_a_session_when_none_matches(memory: Memory, uid: str) -> None:
    """For a new user or an unknown conversation id, get_context starts a persisted session."""
    context = await memory.get_context(uid)
    assert await memory.get_session(context.session.session_id) == context.session
    named = await memory.get_context(uid, f"{uid}-new-conversation")
    assert named.conversation_id == f"{uid}-new-conversation"
    await memory.store_message(user_message("stored later"), named.conversation_id)
    again = await memory.get_context(uid, named.conversation_id)
    assert again.session.session_id == named.session.session_id
    assert [m.content for m in again.messages] == ["stored later"]


async def test_context_adopts_an_unowned_conversation(memory: Memory, uid: str) -> None:
    """Messages stored without a user belong to the user who first opens the conversation."""
    conversation = f"{uid}-anon"
    await memory.store_message(user_message("before any session"), conversation)
    context = await memory.get_context(uid, conversation)
    assert [m.content for m in context.messages] == ["before any session"]
    stats = await memory.get_statistics(uid)
    assert stats["total_messages"] == 1


async def test_context_of_another_user_is_denied(memory: Memory, uid: str) -> None:
    """A session or conversation of another user raises AccessDeniedError."""
    session = await memory.create_session(f"{uid}-owner")
    with pytest.raises(AccessDeniedError):
        await memory.get_context(f"{uid}-intruder", session.session_id)
    with pytest.raises(AccessDeniedError):
        await memory.get_context(f"{uid}-intruder", session.conversation_id)


async def test_context_window_pins_system_messages(memory: Memory, uid: str) -> None:
    """The window holds the newest messages and keeps earlier system messages in front."""
    session = await memory.create_session(uid)
    batch = [message(MessageRole.SYSTEM, "system prompt")]
    batch += [user_message(f"m{i}") for i in range(40)]
    await memory.store_messages(batch, session.conversation_id)
    context = await memory.get_context(uid, session.session_id)
    window = memory.context_window
    assert len(context.messages) == window
    assert context.messages[0].content == "system prompt"
    assert [m.content for m in context.messages[1:]] == [f"m{i}" for i in range(41 - window, 40)]
    assert context.max_messages == window


async def test_storing_messages_marks_session_activity(memory: Memory, uid: str) -> None:
    """A message stored into a session's conversation moves its last_activity forward."""
    session = await memory.create_session(uid)
    await memory.store_message(user_message("ping"), session.conversation_id)
    fetched = await memory.get_session(session.session_id)
    assert fetched is not None
    assert fetched.last_activity > session.last_activity
