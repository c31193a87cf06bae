"""Managers: the operations of the store, each a unit of work over the repositories."""

from bruno_memory.managers.conversations import ConversationManager
from bruno_memory.managers.memories import MemoryManager
from bruno_memory.managers.sessions import SessionManager
from bruno_memory.managers.users import UserManager

__all__ = ["ConversationManager", "MemoryManager", "SessionManager", "UserManager"]
