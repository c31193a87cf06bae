"""bruno-memory: the memory layer of the Bruno AI assistant.

::

    from bruno_memory import create_memory

    async with create_memory("sqlite+aiosqlite:///memory.db") as memory:
        await memory.store_message(message, "conversation-1")
        hits = await memory.search_messages("jazz", user_id="alice")

    with create_memory_sync("sqlite+aiosqlite:///memory.db") as memory:  # blocking twin
        memory.store_message(message, "conversation-1")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bruno_core.events.bus import EventBus
from bruno_core.interfaces.embedding import EmbeddingInterface
from bruno_core.interfaces.llm import LLMInterface

from bruno_memory.analytics import Analytics
from bruno_memory.bootstrap import register_storage, register_vector_store
from bruno_memory.branches import Branch
from bruno_memory.capabilities import Capability
from bruno_memory.context.budget import ContextBudget
from bruno_memory.context.compression import CompressionPolicy, CompressionReport
from bruno_memory.context.summaries import LLMUsage, Summary
from bruno_memory.context.tokens import LLMTokenCounter, TiktokenCounter, TokenCounter
from bruno_memory.context.window import ContextStrategy, ContextWindow, Omission
from bruno_memory.copying import copy_store
from bruno_memory.errors import (
    AccessDeniedError,
    BrunoMemoryError,
    CompressionError,
    ConfigurationError,
    ConflictError,
    CopyVerificationError,
    EmbeddingError,
    ImportFormatError,
    ImportRecordError,
    InvalidInputError,
    InvalidQueryError,
    MemoryNotFoundError,
    MessageNotFoundError,
    MissingDependencyError,
    NotFoundError,
    SchemaError,
    SessionNotFoundError,
    StorageError,
    TransferError,
    UnsupportedOperationError,
)
from bruno_memory.listing import ConversationInfo
from bruno_memory.memory import Memory
from bruno_memory.ports.vector import VectorIndex
from bruno_memory.priority import DEFAULT_WEIGHTS, Weights
from bruno_memory.results import SearchHit, SignalMatch
from bruno_memory.settings import (
    CacheSettings,
    ContextSettings,
    DatabaseSettings,
    EmbeddingSettings,
    MemorySettings,
    SearchOptions,
    VectorSettings,
)
from bruno_memory.sync import SyncMemory, create_memory_sync
from bruno_memory.transfer.reports import (
    CopyReport,
    ExportReport,
    ImportReport,
    KindDigest,
    LoadCounts,
)
from bruno_memory.wiring import DefaultEmbedder

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_WEIGHTS",
    "AccessDeniedError",
    "Analytics",
    "Branch",
    "BrunoMemoryError",
    "CacheSettings",
    "Capability",
    "CompressionError",
    "CompressionPolicy",
    "CompressionReport",
    "ConfigurationError",
    "ConflictError",
    "ContextBudget",
    "ContextSettings",
    "ContextStrategy",
    "ContextWindow",
    "ConversationInfo",
    "CopyReport",
    "CopyVerificationError",
    "DatabaseSettings",
    "DefaultEmbedder",
    "EmbeddingError",
    "EmbeddingSettings",
    "ExportReport",
    "ImportFormatError",
    "ImportRecordError",
    "ImportReport",
    "InvalidInputError",
    "InvalidQueryError",
    "KindDigest",
    "LLMTokenCounter",
    "LLMUsage",
    "LoadCounts",
    "Memory",
    "MemoryNotFoundError",
    "MemorySettings",
    "MessageNotFoundError",
    "MissingDependencyError",
    "NotFoundError",
    "Omission",
    "SchemaError",
    "SearchHit",
    "SearchOptions",
    "SessionNotFoundError",
    "SignalMatch",
    "StorageError",
    "Summary",
    "SyncMemory",
    "TiktokenCounter",
    "TokenCounter",
    "TransferError",
    "UnsupportedOperationError",
    "VectorSettings",
    "Weights",
    "__version__",
    "copy_store",
    "create_memory",
    "create_memory_sync",
    "register_storage",
    "register_vector_store",
]


def create_memory(
    url: str | Sequence[str] | None = None,
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None = DefaultEmbedder.LOCAL,
    vector_index: VectorIndex | None = None,
    token_counter: TokenCounter | None = None,
    llm: LLMInterface | None = None,
    compression: CompressionPolicy | None = None,
    auto_compress: bool = False,
    context_budget: ContextBudget | None = None,
    event_bus: EventBus | None = None,
    priority: Weights | None = None,
    **options: Any,
) -> Memory:
    """The memory for a URL, ready for ``async with``.

    ``url`` is ``sqlite+aiosqlite:///path.db``, ``sqlite+aiosqlite://`` (in memory),
    ``postgresql+asyncpg://user:password@host/db`` or a Redis URL (``redis://``,
    ``redis+cluster://``, ``redis+sentinel://``: the Redis storage) or ``memory://`` (the
    in-memory storage: ``context_window`` and ``search_*`` options only); by default
    ``BRUNO_MEMORY_DATABASE_URL`` or a SQLite file ``bruno_memory.db`` in the working
    directory. A sequence of URLs is a fallback chain: when the memory opens, the first
    storage that answers is used (:mod:`bruno_memory.backends.fallback`; ``memory.backend``
    and ``memory.capabilities`` are its once the memory is open); ``options`` apply to each,
    and a scheme added with :func:`register_storage` builds a third party's storage.
    ``options`` are :class:`MemorySettings` fields (Redis: ``RedisSettings``):
    a section as a dict or model (``database={"pool_size": 3}``) or one field as
    ``<section>_<field>`` (``database_pool_size=3``, ``context_window=5``,
    ``search_rrf_k=30``, ``cache_url="redis://..."``). The schema is brought to the head
    revision when the memory opens (``database_auto_migrate=False`` only checks it).

    Semantic search is on when the ``embeddings`` extra is installed (all-MiniLM-L6-v2,
    offline); ``embedder=None`` turns it off and any bruno-core ``EmbeddingInterface``
    (e.g. a bruno-llm provider) can be passed. Vectors are searched in the SQL database
    (pgvector when available, exact otherwise) unless ``vector_url`` names a vector store:
    ``qdrant://host:6333``, ``qdrant+local:///folder``, ``qdrant+local://`` (in memory), or a
    scheme added with :func:`register_vector_store`; ``vector_index`` passes one already
    built. ``token_counter`` is how
    ``build_context`` counts (default: cl100k_base, offline; ``LLMTokenCounter(llm)`` counts
    with a bruno-core LLM's own tokenizer). ``llm`` (any bruno-core ``LLMInterface``, e.g. a
    bruno-llm provider) is what ``compress`` summarizes with, as ``compression`` (a
    :class:`CompressionPolicy`) says; ``auto_compress=True`` runs it in the background after
    each write. ``context_budget`` (a :class:`ContextBudget`) makes ``get_context`` return
    ``build_context``'s token-budgeted context. ``event_bus`` (a bruno-core ``EventBus``)
    receives bruno-core's ``session.started``/``session.ended``,
    ``context.updated``/``context.cleared`` and ``compression.triggered`` events after each
    committed write (:mod:`bruno_memory.bus`). ``priority``
    (:class:`~bruno_memory.priority.Weights`) weighs the score memories are ranked and pruned
    by (:mod:`bruno_memory.priority`). What a storage offers is ``memory.capabilities``.
    """
    return Memory(
        url,
        embedder=embedder,
        vector_index=vector_index,
        token_counter=token_counter,
        llm=llm,
        compression=compression,
        auto_compress=auto_compress,
        context_budget=context_budget,
        event_bus=event_bus,
        priority=priority,
        **options,
    )
