"""Embedders implementing bruno-core's ``EmbeddingInterface``, and checks on their vectors.

- :class:`LocalEmbedder`: all-MiniLM-L6-v2 offline on ONNX Runtime (extra ``embeddings``);
  :func:`default_embedder` returns one when the extra is installed, else ``None``.
- :class:`HashingEmbedder`: deterministic feature hashing, for tests of plumbing; not semantic.

The key every stored vector records and the checks on any provider's vectors are the
embedding port's: :mod:`bruno_memory.ports.embedding`.

Importing this package imports neither onnxruntime nor tokenizers.
"""

from bruno_memory.adapters.embeddings.base import BaseEmbedder
from bruno_memory.adapters.embeddings.hashing import HASHING_MODEL_NAME, HashingEmbedder
from bruno_memory.adapters.embeddings.local import (
    MODEL_NAME,
    LocalEmbedder,
    default_embedder,
    missing_dependency,
)
from bruno_memory.errors import (
    EmbeddingError,
    InvalidEmbeddingError,
    ModelIntegrityError,
)

__all__ = [
    "HASHING_MODEL_NAME",
    "MODEL_NAME",
    "BaseEmbedder",
    "EmbeddingError",
    "HashingEmbedder",
    "InvalidEmbeddingError",
    "LocalEmbedder",
    "ModelIntegrityError",
    "default_embedder",
    "missing_dependency",
]
