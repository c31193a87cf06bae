"""Nearest neighbours of a text: embed it (cached) and ask the vector index."""

from __future__ import annotations

import dataclasses

from bruno_core.interfaces.embedding import EmbeddingInterface
from cachetools import LRUCache

from bruno_memory.errors import BrunoMemoryError, EmbeddingError
from bruno_memory.ports.embedding import as_unit_vectors
from bruno_memory.ports.vector import Vector, VectorFilter, VectorIndex, VectorMatch

#: Query texts whose vectors are kept in memory.
QUERY_VECTOR_CACHE_SIZE = 1024


class SemanticSearch:
    """Semantic search with one embedder over one vector index."""

    def __init__(self, embedder: EmbeddingInterface, model_key: str, index: VectorIndex) -> None:
        self.model_key = model_key
        self._embedder = embedder
        self._index = index
        self._query_vectors: LRUCache[str, Vector] = LRUCache(QUERY_VECTOR_CACHE_SIZE)

    async def embed_query(self, text: str) -> Vector:
        """The unit vector of a query text (computed once per text; a failure is not kept).
        An embedder failure is an :class:`~bruno_memory.errors.EmbeddingError`."""
        vector = self._query_vectors.get(text)
        if vector is None:
            try:
                raw = await self._embedder.embed_text(text)
            except BrunoMemoryError:
                raise
            except Exception as exc:  # any provider's failure (bruno-llm's LLMError, ...)
                raise EmbeddingError(f"the embedder failed on a query: {exc}", cause=exc) from exc
            vector = self._query_vectors[text] = as_unit_vectors(
                [raw], self._embedder.get_dimension()
            )[0]
        return vector

    async def nearest(self, text: str, where: VectorFilter, limit: int) -> list[VectorMatch]:
        """The ``limit`` items closest to ``text`` under the current model, within ``where``."""
        query = await self.embed_query(text)
        scoped = dataclasses.replace(where, model_key=self.model_key)
        return await self._index.search(query, scoped, limit)
