"""What a storage can do, as a set of :class:`Capability` values.

``memory.capabilities`` tells a caller what it may ask for; a call that needs a capability
the storage lacks raises :class:`~bruno_memory.errors.UnsupportedOperationError` naming it.
The conformance suite is keyed by these values, not by backend names.
"""

from __future__ import annotations

import enum


class Capability(str, enum.Enum):
    """A feature a storage may or may not offer."""

    #: Word search over messages and memories (``search_messages``, ``search_memories``).
    FULL_TEXT = "full_text"
    #: ``search()``: ranked retrieval over messages and memories, with filters and modes.
    RETRIEVAL = "retrieval"
    #: Vector search (``search(mode="semantic")``, ranked ``retrieve_memories``): an embedder.
    SEMANTIC = "semantic"
    #: Several writes commit together or not at all, and a reader never sees half of one.
    TRANSACTIONS = "transactions"
    #: The schema is versioned by Alembic revisions (``migrate()``).
    MIGRATIONS = "migrations"
    #: Conversations expire after a time without activity (``sweep_expired()``).
    EXPIRY = "expiry"
    #: Events are published to Redis Streams (``event_stream()``).
    EVENT_STREAMS = "event_streams"
    #: A Redis cache sits in front of the system of record (``cache_stats``).
    CACHE = "cache"
    #: Summaries of conversation spans are stored (``compress``, ``list_summaries``).
    COMPRESSION = "compression"
    #: Conversations fork at a message into branches (``fork_conversation``).
    BRANCHING = "branching"
    #: Old messages can be archived out of reads and context, and restored (``archive``).
    ARCHIVE = "archive"
    #: Memories beyond a per-user budget can be archived by score, and restored
    #: (``prune_memories``); a memory stored with a ``subject`` supersedes the older ones of
    #: that subject, which are kept and linked.
    PRUNING = "pruning"
    #: The storage keeps an index of its users: ``list_users()`` (a whole-store listing)
    #: reads it. Without one, users are listed by no key scan: the call is refused.
    USER_LISTING = "user_listing"
    #: The whole store can be read as export records and records stored back exactly
    #: (``export``, ``import_file``, ``copy_store``; :mod:`bruno_memory.transfer`).
    TRANSFER = "transfer"
    #: ``analytics()``: growth, conversation patterns, topics and usage, aggregated by the
    #: storage.
    ANALYTICS = "analytics"
