"""``bruno-memory doctor``: what each configured part is, and whether it works.

One row per part: the store (backend and capabilities, opened without an embedder: a
diagnosis writes nothing), the SQL database (dialect and server version, full-text index,
pgvector, schema revision; at head, its vector search, pgvector column and HNSW indexes or
exact search, and each registered embedding model with its vectors and backlog), the
external vector store (when a ``vector_url`` is set: its vectors counted), the Redis cache
(when a ``cache_url`` is set: server version, RediSearch) and the embedder (the offline
model, loaded and asked to embed a word). Exit code 1 when a part that is configured fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import typer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bruno_memory.adapters.embeddings import default_embedder, missing_dependency
from bruno_memory.bootstrap import vector_store
from bruno_memory.cli.output import AsJson, Url, emit, run
from bruno_memory.cli.store import is_sql, open_store, settings_of, sql_engine
from bruno_memory.db import migrate
from bruno_memory.errors import BrunoMemoryError
from bruno_memory.ports.vector import VectorFilter
from bruno_memory.repositories.embeddings import EmbeddingRepository
from bruno_memory.settings import MemorySettings

OK, FAILED, ABSENT = "ok", "failed", "not configured"


@dataclass(frozen=True)
class Finding:
    """One part: its status (:data:`OK`, :data:`FAILED` or :data:`ABSENT`) and what it is."""

    part: str
    status: str
    detail: str

    def row(self) -> Mapping[str, Any]:
        return {"part": self.part, "status": self.status, "detail": self.detail}


async def _store(url: str | None) -> Finding:
    try:
        async with open_store(url, embedder=None) as memory:
            offered = ", ".join(sorted(c.value for c in memory.capabilities))
            return Finding("store", OK, f"{memory.backend}: {offered}")
    except BrunoMemoryError as exc:
        return Finding("store", FAILED, str(exc))


async def _sql_facts(connection: AsyncConnection, dialect: str) -> list[Finding]:
    if dialect == "sqlite":
        version = await connection.scalar(text("SELECT sqlite_version()"))
        fts = await connection.scalar(
            text("SELECT count(*) FROM sqlite_master WHERE name = 'messages_fts'")
        )
        found = [Finding("database", OK, f"SQLite {version}")]
        found.append(Finding("full text", OK if fts else FAILED, "FTS5 messages_fts"))
        return found
    version = await connection.scalar(text("SHOW server_version"))
    index = await connection.scalar(
        text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_messages_search_vector'")
    )
    vector = await connection.scalar(
        text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    )
    return [
        Finding("database", OK, f"PostgreSQL {version}"),
        Finding("full text", OK if index else FAILED, "tsvector + GIN ix_messages_search_vector"),
        Finding(
            "pgvector",
            OK if vector else ABSENT,
            f"extension {vector}" if vector else "extension not installed: exact search in Python",
        ),
    ]


async def _vector_facts(connection: AsyncConnection) -> list[Finding]:
    """How the database searches vectors, and each embedding model registered."""
    async with AsyncSession(bind=connection) as session:
        embeddings = EmbeddingRepository(session)
        if embeddings.dialect == "sqlite":
            search = "exact, over in-memory matrices (numpy)"
        elif not await embeddings.has_pgvector_column():
            search = "no pgvector column: exact, over in-memory matrices (numpy)"
        else:
            sizes = ", ".join(map(str, await embeddings.hnsw_dimensions())) or "no size"
            search = f"pgvector column; HNSW index for {sizes} dimensions, exact otherwise"
        models = await embeddings.models()
    found = [Finding("vector search", OK, search)]
    found += [
        Finding("embedding model", OK, f"{key}: {count:,} vectors, {queued:,} queued")
        for key, count, queued in models
    ]
    return found if models else [*found, Finding("embedding model", ABSENT, "none registered")]


async def _database(settings: MemorySettings) -> list[Finding]:
    try:
        async with sql_engine(settings) as engine:
            async with engine.connect() as connection:
                facts = await _sql_facts(connection, engine.dialect.name)
            revision, head = await migrate.current_revision(engine), migrate.head_revision()
            at_head = revision == head
            detail = f"at {revision or 'base (empty)'}" + ("" if at_head else f", head is {head}")
            facts.append(Finding("schema", OK if at_head else FAILED, detail))
            if at_head:  # the tables below are there
                async with engine.connect() as connection:
                    facts += await _vector_facts(connection)
    except BrunoMemoryError as exc:
        return [Finding("database", FAILED, str(exc))]
    return facts


async def _vector_store(settings: MemorySettings) -> Finding:
    if settings.vector.url is None:
        return Finding("vector store", ABSENT, "no vector_url: the SQL database's own")
    try:
        index = vector_store(settings.vector)
        assert index is not None  # a vector_url names one
        try:
            count = await index.count(VectorFilter())
        finally:
            await index.close()
    except BrunoMemoryError as exc:
        return Finding("vector store", FAILED, str(exc))
    return Finding("vector store", OK, f"{index.name}: {count:,} vectors")


async def _cache(settings: MemorySettings) -> Finding:
    url = settings.cache.url
    if url is None:
        return Finding("cache", ABSENT, "no cache_url")
    client = aioredis.Redis.from_url(url)
    try:
        info = await client.info("server")
        modules = {module[b"name"].decode() for module in await client.module_list()}
        search = "RediSearch" if "search" in modules else "no RediSearch"
        return Finding("cache", OK, f"Redis {info['redis_version']}, {search}")
    except aioredis.RedisError as exc:
        return Finding("cache", FAILED, f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()


async def _embedder() -> Finding:
    embedder = default_embedder()
    if embedder is None:
        return Finding(
            "embedder", ABSENT, f"install bruno-memory[embeddings] ({missing_dependency()})"
        )
    try:
        size = len(await embedder.embed_text("doctor"))
        return Finding("embedder", OK, f"{embedder.get_model_name()}, {size} dimensions, offline")
    except BrunoMemoryError as exc:
        return Finding("embedder", FAILED, str(exc))


async def findings(url: str | None) -> AsyncIterator[Finding]:
    """Every part's finding, in order."""
    settings = settings_of(url)
    yield await _store(url)
    if is_sql(settings):
        for finding in await _database(settings):
            yield finding
        yield await _vector_store(settings)
    yield await _cache(settings)
    yield await _embedder()


def doctor(url: Url = None, as_json: AsJson = False) -> None:
    """What each configured part is and whether it works; exit 1 when one fails."""
    failed: list[str] = []

    async def rows() -> AsyncIterator[Mapping[str, Any]]:
        async for finding in findings(url):
            if finding.status == FAILED:
                failed.append(finding.part)
            yield finding.row()

    run(emit(rows(), ("part", "status", "detail"), as_json=as_json, limit=0))
    if failed:
        raise typer.Exit(1)
