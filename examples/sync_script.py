"""The blocking twin, for scripts, Flask or Django views and notebooks: same methods,
no ``await``. Runs on a SQLite file ``bruno_memory_sync.db`` in the working directory."""

from __future__ import annotations

from bruno_core.models.message import Message, MessageRole

from bruno_memory import BrunoMemoryError, create_memory_sync


def main() -> None:
    with create_memory_sync("sqlite+aiosqlite:///bruno_memory_sync.db", embedder=None) as memory:
        memory.delete_user("bob")
        session = memory.create_session("bob")
        for text in ("Remind me to water the plants", "And to call my sister"):
            memory.store_message(
                Message(role=MessageRole.USER, content=text), session.conversation_id
            )
        context = memory.get_context("bob", session.conversation_id)
        print(f"{len(context.messages)} messages in bob's context on {memory.backend}")
        try:
            memory.end_session("no-such-session")
        except BrunoMemoryError as error:  # every error is typed
            print(f"refused: {type(error).__name__}")


if __name__ == "__main__":
    main()
