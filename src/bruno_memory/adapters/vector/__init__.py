"""Vector indexes behind one port (:class:`~bruno_memory.adapters.vector.base.VectorIndex`)."""

from bruno_memory.adapters.vector.base import (
    VectorFilter,
    VectorIndex,
    VectorMatch,
    VectorRecord,
)

__all__ = ["VectorFilter", "VectorIndex", "VectorMatch", "VectorRecord"]
