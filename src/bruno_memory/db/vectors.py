"""pgvector objects the migrations add on PostgreSQL when the extension is available.

``embeddings.vector`` (``real[]``) is the stored vector on every PostgreSQL; with pgvector a
generated ``embedding vector`` column mirrors it and an HNSW index (cosine) covers the
vectors of the default model's size. Queries that want the index order by
``embedding::vector(n) <=> query``; ordering by ``embedding <=> query`` (no cast) bypasses it
and gives an exact scan, which is what a narrow filter wants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import base as postgresql_base
from sqlalchemy.types import UserDefinedType

#: The generated pgvector column of ``embeddings``.
PGVECTOR_COLUMN = "embedding"
#: Vector sizes that have an HNSW index (all-MiniLM-L6-v2: 384).
HNSW_DIMENSIONS = frozenset({384})
#: Name prefix of the HNSW indexes (``ix_embeddings_embedding_hnsw_384``).
HNSW_INDEX_PREFIX = f"ix_embeddings_{PGVECTOR_COLUMN}_hnsw_"


class PgVector(UserDefinedType[Any]):
    """pgvector's ``vector(n)`` type, for casts in queries (values travel as text)."""

    cache_ok = True

    def __init__(self, dimensions: int | None = None) -> None:
        self.dimensions = dimensions

    def get_col_spec(self, **_: Any) -> str:
        return "vector" if self.dimensions is None else f"vector({self.dimensions})"


# Let reflection (Alembic's autogenerate / check) recognise the pgvector column.
postgresql_base.ischema_names.setdefault("vector", PgVector)


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form of a vector: ``[0.1,0.2,...]``."""
    return "[" + ",".join(f"{float(value):.9g}" for value in vector) + "]"
