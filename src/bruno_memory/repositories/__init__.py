"""Repositories: one per aggregate. They take an ``AsyncSession`` and never commit."""

from bruno_memory.repositories.conversations import ConversationRepository
from bruno_memory.repositories.embeddings import EmbeddingRepository
from bruno_memory.repositories.memories import MemoryRepository
from bruno_memory.repositories.messages import MessageRepository
from bruno_memory.repositories.sessions import SessionRepository
from bruno_memory.repositories.summaries import SummaryRepository
from bruno_memory.repositories.users import UserRepository

__all__ = [
    "ConversationRepository",
    "EmbeddingRepository",
    "MemoryRepository",
    "MessageRepository",
    "SessionRepository",
    "SummaryRepository",
    "UserRepository",
]
