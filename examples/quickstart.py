"""Quick start: store a conversation, search it, and build the context an LLM would see.

Runs on the embedded default, a SQLite file `bruno_memory.db` in the working directory
(set BRUNO_MEMORY_DATABASE_URL to use PostgreSQL instead).
"""

from __future__ import annotations

import asyncio

from bruno_core.models.memory import MemoryEntry, MemoryMetadata, MemoryQuery, MemoryType
from bruno_core.models.message import Message, MessageRole

from bruno_memory import Capability, create_memory

CONVERSATION = [
    (MessageRole.SYSTEM, "You are Bruno, a friendly assistant."),
    (MessageRole.USER, "Hi! I'm planning a trip to Lisbon in May."),
    (MessageRole.ASSISTANT, "Lovely! May is a great month for Lisbon. Any interests?"),
    (MessageRole.USER, "I love jazz and old trams. Also, I'm vegetarian."),
    (MessageRole.ASSISTANT, "Try the Hot Clube de Portugal for jazz and ride tram 28."),
    (MessageRole.USER, "Can you remind me of the jazz club name later?"),
]


async def main() -> None:
    async with create_memory() as memory:
        await memory.delete_user("alice")  # start fresh on every run
        session = await memory.create_session("alice", metadata={"channel": "quickstart"})
        await memory.store_messages(
            [Message(role=role, content=text) for role, text in CONVERSATION],
            session.conversation_id,
        )
        await memory.store_memory(
            MemoryEntry(
                content="Alice is vegetarian and loves jazz",
                memory_type=MemoryType.FACT,
                user_id="alice",
                metadata=MemoryMetadata(category="preference", tags=["food", "music"]),
            )
        )

        print(
            f"Storage: {memory.backend} ({', '.join(sorted(c.value for c in memory.capabilities))})"
        )
        print("\nSearch 'jazz club':")
        for message in await memory.search_messages("jazz club", user_id="alice"):
            print(f"  [{message.role.value}] {message.content}")

        if Capability.SEMANTIC in memory.capabilities:  # the `embeddings` extra: offline MiniLM
            await memory.wait_for_embeddings()
            print("\nHybrid search 'where could Alice hear live music?':")
            hits = await memory.search("where could Alice hear live music?", user_id="alice")
            for hit in hits[:3]:
                print(f"  {hit.score:.3f} {hit.content}  ({', '.join(hit.signals)})")

        print("\nMemories about 'jazz':")
        for entry in await memory.retrieve_memories(
            MemoryQuery(user_id="alice", query_text="jazz")
        ):
            print(f"  {entry.content} (tags: {', '.join(entry.metadata.tags)})")

        context = await memory.get_context("alice", session.session_id)
        print(f"\nContext for the LLM ({len(context.messages)} messages):")
        for turn in context.to_llm_format():
            print(f"  {turn['role']:>9}: {turn['content']}")

        stats = await memory.get_statistics("alice")
        print(f"\nStatistics: {stats['total_messages']} messages, {stats['memories']} memories")


if __name__ == "__main__":
    asyncio.run(main())
