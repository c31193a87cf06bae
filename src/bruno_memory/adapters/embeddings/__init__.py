"""Embedders implementing bruno-core's ``EmbeddingInterface``, and checks on their vectors.

- :class:`LocalEmbedder`: all-MiniLM-L6-v2 offline on ONNX Runtime (extra ``embeddings``);
  :func:`default_embedder` returns one when the extra is installed, else ``None``.
- :class:`HashingEmbedder`: deterministic feature hashing, for tests of plumbing; not semantic.
- :func:`embedder_key`: the key every stored vector records; searches never mix keys.
- :func:`as_unit_vectors`: validates and normalizes any provider's vectors before storage.

Importing this package imports neither onnxruntime nor tokenizers.
"""

from bruno_memory.adapters.embeddings.base import BaseEmbedder
from bruno_memory.adapters.embeddings.hashing import HASHING_MODEL_NAME, HashingEmbedder
from bruno_memory.adapters.embeddings.identity import UNVERSIONED, embedder_key
from bruno_memory.adapters.embeddings.local import (
    MODEL_NAME,
    LocalEmbedder,
    default_embedder,
    missing_dependency,
)
from bruno_memory.adapters.embeddings.vectors import Matrix, as_unit_vectors, cosine_similarity
from bruno_memory.errors import (
    EmbeddingError,
    InvalidEmbeddingError,
    ModelIntegrityError,
)

__all__ = [
    "HASHING_MODEL_NAME",
    "MODEL_NAME",
    "UNVERSIONED",
    "BaseEmbedder",
    "EmbeddingError",
    "HashingEmbedder",
    "InvalidEmbeddingError",
    "LocalEmbedder",
    "Matrix",
    "ModelIntegrityError",
    "as_unit_vectors",
    "cosine_similarity",
    "default_embedder",
    "embedder_key",
    "missing_dependency",
]
