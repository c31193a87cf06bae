"""``bruno-memory ls``: what is stored, through the facade's listings (keyset pages)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Annotated, Any

import typer

from bruno_memory.cli.output import AsJson, Url, emit, run
from bruno_memory.cli.store import open_store
from bruno_memory.memory import Memory

app = typer.Typer(help="List users, conversations, sessions, messages or memories.")

Limit = Annotated[int, typer.Option("--limit", min=0, help="At most this many rows (0: all).")]
User = Annotated[str, typer.Argument(help="The user's id.")]
#: What ``ls sessions`` shows of a session.
_SESSION_COLUMNS = ("session_id", "conversation_id", "is_active", "started_at", "ended_at")


def _show(
    url: str | None,
    listing: Callable[[Memory], AsyncIterator[Any]],
    row: Callable[[Any], Mapping[str, Any]],
    columns: Sequence[str],
    *,
    as_json: bool,
    limit: int,
) -> None:
    """Open the store (never migrating it), print ``listing``'s items as rows."""

    async def work() -> int:
        async with open_store(url) as memory:
            rows = (row(item) async for item in listing(memory))
            return await emit(rows, columns, as_json=as_json, limit=limit)

    run(work())


@app.command()
def users(url: Url = None, as_json: AsJson = False, limit: Limit = 100) -> None:
    """Every user with a stored record, by id."""
    _show(
        url,
        lambda memory: memory.list_users(),
        lambda user: {"user_id": user.user_id, "name": user.name},
        ("user_id", "name"),
        as_json=as_json,
        limit=limit,
    )


@app.command()
def conversations(
    user_id: User, url: Url = None, as_json: AsJson = False, limit: Limit = 100
) -> None:
    """The user's conversations (branches included), by id."""
    _show(
        url,
        lambda memory: memory.list_conversations(user_id),
        lambda info: info.model_dump(),
        ("conversation_id", "parent_id", "fork_message_id", "created_at", "updated_at"),
        as_json=as_json,
        limit=limit,
    )


@app.command()
def sessions(
    user_id: User,
    active: Annotated[
        bool | None, typer.Option("--active/--ended", help="Only open (or ended) sessions.")
    ] = None,
    url: Url = None,
    as_json: AsJson = False,
    limit: Limit = 100,
) -> None:
    """The user's sessions, by id."""
    _show(
        url,
        lambda memory: memory.list_sessions(user_id, active=active),
        lambda session: session.model_dump(include=set(_SESSION_COLUMNS)),
        _SESSION_COLUMNS,
        as_json=as_json,
        limit=limit,
    )


@app.command()
def messages(
    conversation_id: Annotated[str, typer.Argument(help="A conversation (or branch) id.")],
    url: Url = None,
    as_json: AsJson = False,
    limit: Limit = 100,
) -> None:
    """The conversation's messages, oldest first (a branch's whole history)."""
    _show(
        url,
        lambda memory: memory.iter_messages(conversation_id),
        lambda message: {
            "id": message.id,
            "timestamp": message.timestamp,
            "role": message.role,
            "content": message.content,
        },
        ("id", "timestamp", "role", "content"),
        as_json=as_json,
        limit=limit,
    )


@app.command()
def memories(user_id: User, url: Url = None, as_json: AsJson = False, limit: Limit = 100) -> None:
    """The user's memories, by creation time."""
    _show(
        url,
        lambda memory: memory.iter_memories(user_id),
        lambda entry: {
            "id": entry.id,
            "created_at": entry.created_at,
            "memory_type": entry.memory_type,
            "importance": entry.metadata.importance,
            "content": entry.content,
        },
        ("id", "created_at", "memory_type", "importance", "content"),
        as_json=as_json,
        limit=limit,
    )
