"""Vector indexes implementing the port :class:`~bruno_memory.ports.vector.VectorIndex`.

- :class:`~bruno_memory.adapters.vector.exact.ExactVectorIndex`: exact search in memory.
- :class:`~bruno_memory.adapters.vector.qdrant.QdrantVectorIndex`: Qdrant (extra ``qdrant``).

The SQL database's own index (pgvector, or exact search over its rows) is part of the SQL
storage: :mod:`bruno_memory.managers.vectors`.
"""
