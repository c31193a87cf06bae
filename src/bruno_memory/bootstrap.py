"""The composition root: a URL and options in, a wired storage out.

The only place that chooses implementations, each by URL scheme: storages in
:data:`STORAGE_SCHEMES` (everything else, SQLite and PostgreSQL, is a SQLAlchemy URL for the
SQL storage) and the SQL storage's vector store in :data:`VECTOR_SCHEMES` (no
``vector_url``: the SQL database itself). Third parties add storages with
:func:`register_storage` and vector stores with :func:`register_vector_store`, or from an
installed package, by an entry point of the group :data:`STORAGE_ENTRY_POINTS` or
:data:`VECTOR_ENTRY_POINTS` named by its scheme, loaded when a URL first names that scheme::

    [project.entry-points."bruno_memory.storages"]
    mystore = "mypackage.store:factory"
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any, TypeVar, cast
from urllib.parse import parse_qs, urlsplit, urlunsplit

from bruno_core.interfaces.embedding import EmbeddingInterface
from pydantic import BaseModel

from bruno_memory.adapters.embeddings import default_embedder
from bruno_memory.db.engine import SQL_BACKENDS
from bruno_memory.errors import ConfigurationError
from bruno_memory.ports.storage import Storage
from bruno_memory.ports.vector import VectorIndex
from bruno_memory.settings import (
    DATABASE_URL_VARIABLE,
    SECTIONS,
    MemorySettings,
    VectorSettings,
    redacted_url,
)
from bruno_memory.wiring import DefaultEmbedder

#: Builds a storage: ``factory(url, *, embedder, vector_index, **options)``.
StorageFactory = Callable[..., Storage]
#: Builds a vector store from its URL and the ``vector`` section (its API key...).
VectorStoreFactory = Callable[[str, VectorSettings], VectorIndex]
_Factory = TypeVar("_Factory", StorageFactory, VectorStoreFactory)

#: The entry-point groups installed packages add storages and vector stores by (the name
#: of an entry point is its URL scheme; the object, its factory).
STORAGE_ENTRY_POINTS = "bruno_memory.storages"
VECTOR_ENTRY_POINTS = "bruno_memory.vector_stores"


def _register(schemes: dict[str, _Factory], scheme: str, factory: _Factory) -> None:
    if not scheme or scheme != scheme.lower() or ":" in scheme:
        raise ConfigurationError(f"a URL scheme is lower case, without ':': {scheme!r}")
    schemes[scheme] = factory


def _factory(schemes: dict[str, _Factory], group: str, scheme: str) -> _Factory | None:
    """The factory of ``scheme``: registered, else loaded (and registered) from the entry
    point of that name in ``group``, else None."""
    if scheme not in schemes:
        for entry in entry_points(group=group, name=scheme):
            try:
                loaded = entry.load()
            except Exception as exc:
                raise ConfigurationError(
                    f"the {group} entry point {scheme!r} ({entry.value}) cannot be loaded: {exc}",
                    details={"scheme": scheme, "entry_point": entry.value},
                    cause=exc,
                ) from exc
            _register(schemes, scheme, cast("_Factory", loaded))
    return schemes.get(scheme)


def _unknown(kind: str, url: str, known: list[str], group: str, hint: str) -> ConfigurationError:
    """The error for a URL whose scheme no factory builds, listing the known schemes."""
    scheme = urlsplit(url).scheme
    every = sorted({*known, *(entry.name for entry in entry_points(group=group))})
    listed = ", ".join(f"{name}://" for name in every)
    return ConfigurationError(
        f"unknown {kind} {redacted_url(url)!r}: the known schemes are {listed} ({hint})",
        details={"scheme": scheme, "known": every},
    )


def _redis_storage(
    url: str,
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None,
    vector_index: VectorIndex | None,
    **options: Any,
) -> Storage:
    from bruno_memory.backends.redis import RedisStorage

    if vector_index is not None or embedder not in (DefaultEmbedder.LOCAL, None):
        raise ConfigurationError("the Redis storage has no semantic search: embedder=None")
    return RedisStorage(url, **options)


def _memory_storage(
    url: str,
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None,
    vector_index: VectorIndex | None,
    **options: Any,
) -> Storage:
    from bruno_memory.backends.memory import InMemoryStorage

    if vector_index is not None or embedder not in (DefaultEmbedder.LOCAL, None):
        raise ConfigurationError("the in-memory storage has no semantic search: embedder=None")
    return InMemoryStorage(url, **options)


def _sql_storage(
    url: str | None,
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None,
    vector_index: VectorIndex | None,
    **options: Any,
) -> Storage:
    from bruno_memory.backends.sql import SqlStorage

    settings = memory_settings(url, options.pop("settings", None), options)
    if vector_index is not None and settings.vector.url is not None:
        raise ConfigurationError(
            "give vector_index or vector_url, not both",
            details={"vector_url": settings.vector.url},
        )
    if embedder is DefaultEmbedder.LOCAL:
        embedder = default_embedder()
    return SqlStorage(
        settings, embedder=embedder, vector_index=vector_index or vector_store(settings.vector)
    )


def memory_settings(
    url: str | None, base: MemorySettings | None, options: Mapping[str, Any]
) -> MemorySettings:
    """The settings of a SQL store: ``base`` (else the environment and defaults), then
    ``options`` (keywords, sections as dicts or models), then ``url``."""
    given: dict[str, Any] = {}
    if base is not None:
        given = {name: getattr(base, name).model_dump() for name in SECTIONS}
    for name, value in options.items():
        if name in SECTIONS and isinstance(value, BaseModel):
            value = value.model_dump(exclude_unset=True)  # the rest: the environment's
        if name in SECTIONS and name in given and isinstance(value, Mapping):
            value = {**given[name], **value}
        given[name] = value
    if url is not None:
        given["database_url"] = url
    return MemorySettings(**given)


# -- vector stores ---------------------------------------------------------------------------


def _qdrant_server(url: str, settings: VectorSettings) -> VectorIndex:
    from bruno_memory.adapters.vector.qdrant import QdrantVectorIndex

    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigurationError(f"a Qdrant server URL names a host (qdrant://host:6333): {url!r}")
    http = "https" if parts.scheme == "qdrant+https" else "http"
    server = urlunsplit((http, parts.netloc, parts.path, "", ""))
    api_key = settings.api_key.get_secret_value() if settings.api_key is not None else None
    return QdrantVectorIndex.server(server, api_key, **_qdrant_options(url))


def _qdrant_local(url: str, settings: VectorSettings) -> VectorIndex:
    from bruno_memory.adapters.vector.qdrant import QdrantVectorIndex

    parts = urlsplit(url)
    if parts.netloc:
        raise ConfigurationError(
            f"a local Qdrant URL has no host: qdrant+local:///folder, qdrant+local:// "
            f"(in memory), got {url!r}"
        )
    path = parts.path[1:]  # like sqlite:///relative and sqlite:////absolute
    folder = None if path in ("", ":memory:") else path
    return QdrantVectorIndex.local(folder, **_qdrant_options(url))


def _qdrant_options(url: str) -> dict[str, Any]:
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    unknown = sorted(set(query) - {"prefix"})
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) {unknown} in the vector URL (known: prefix)",
            details={"options": unknown},
        )
    return {"prefix": query["prefix"][-1]} if "prefix" in query else {}


#: Vector stores by URL scheme (``vector_url``); :func:`register_vector_store` adds one.
VECTOR_SCHEMES: dict[str, VectorStoreFactory] = {
    "qdrant": _qdrant_server,
    "qdrant+https": _qdrant_server,
    "qdrant+local": _qdrant_local,
}


def register_vector_store(scheme: str, factory: VectorStoreFactory) -> None:
    """Make ``vector_url="<scheme>://..."`` build a vector store with ``factory(url,
    settings.vector)``, which returns a :class:`~bruno_memory.ports.vector.VectorIndex`.
    Registering a scheme again replaces its factory."""
    _register(VECTOR_SCHEMES, scheme, factory)


def vector_store(settings: VectorSettings) -> VectorIndex | None:
    """The vector store ``settings.url`` names, or None for the SQL database itself."""
    if settings.url is None:
        return None
    factory = _factory(VECTOR_SCHEMES, VECTOR_ENTRY_POINTS, urlsplit(settings.url).scheme)
    if factory is None:
        raise _unknown(
            "vector store",
            settings.url,
            list(VECTOR_SCHEMES),
            VECTOR_ENTRY_POINTS,
            "more with register_vector_store; no vector_url keeps vectors in the SQL database",
        )
    return factory(settings.url, settings)


# -- storages --------------------------------------------------------------------------------

REDIS_SCHEMES = ("redis", "rediss", "redis+cluster", "rediss+cluster")
#: Storages by URL scheme (SQLite and PostgreSQL URLs go to the SQL storage);
#: :func:`register_storage` adds one.
STORAGE_SCHEMES: dict[str, StorageFactory] = {
    **dict.fromkeys((*REDIS_SCHEMES, "redis+sentinel", "rediss+sentinel"), _redis_storage),
    "memory": _memory_storage,
}


def register_storage(scheme: str, factory: StorageFactory) -> None:
    """Make ``create_memory("<scheme>://...")`` build its storage with ``factory(url, *,
    embedder, vector_index, **options)`` (the arguments of
    :func:`~bruno_memory.create_memory`), which returns a
    :class:`~bruno_memory.ports.storage.Storage`. Registering a scheme again replaces its
    factory."""
    _register(STORAGE_SCHEMES, scheme, factory)


def build_storage(
    url: str | Sequence[str] | None = None,
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None = DefaultEmbedder.LOCAL,
    vector_index: VectorIndex | None = None,
    **options: Any,
) -> Storage:
    """The storage for ``url`` (default: ``BRUNO_MEMORY_DATABASE_URL``, else a SQLite file
    ``bruno_memory.db``), configured by ``options``; for a sequence of URLs, a
    :class:`~bruno_memory.backends.fallback.FallbackStorage` over a storage of each, all
    configured by ``options``."""
    if url is not None and not isinstance(url, str):
        return _fallback_chain(url, embedder=embedder, vector_index=vector_index, **options)
    chosen = url or os.environ.get(DATABASE_URL_VARIABLE)
    scheme = urlsplit(chosen).scheme if chosen else ""
    if chosen is None or not scheme or scheme.partition("+")[0] in SQL_BACKENDS:
        return _sql_storage(url, embedder=embedder, vector_index=vector_index, **options)
    factory = _factory(STORAGE_SCHEMES, STORAGE_ENTRY_POINTS, scheme)
    if factory is None:
        raise _unknown(
            "storage",
            chosen,
            [*STORAGE_SCHEMES, "sqlite+aiosqlite", "postgresql+asyncpg"],
            STORAGE_ENTRY_POINTS,
            "more with register_storage",
        )
    return factory(chosen, embedder=embedder, vector_index=vector_index, **options)


def _fallback_chain(
    urls: Sequence[str],
    *,
    embedder: EmbeddingInterface | DefaultEmbedder | None,
    vector_index: VectorIndex | None,
    **options: Any,
) -> Storage:
    from bruno_memory.backends.fallback import FallbackStorage

    if vector_index is not None:
        raise ConfigurationError(
            "a fallback chain builds a vector store for each of its storages: "
            "give vector_url, not vector_index"
        )
    if any(not isinstance(url, str) or not url for url in urls):
        raise ConfigurationError("a fallback chain is a sequence of URLs (non-empty strings)")
    return FallbackStorage(
        [(url, build_storage(url, embedder=embedder, **options)) for url in urls]
    )
