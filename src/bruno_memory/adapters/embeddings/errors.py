"""Errors of the embedding adapters, rooted in :class:`~bruno_memory.errors.BrunoMemoryError`::

    BrunoMemoryError
    └── EmbeddingError
        ├── ModelIntegrityError     (also ConfigurationError) a model file fails its sha256
        └── InvalidEmbeddingError   (also InvalidInputError)  a vector that cannot be stored

A missing ``embeddings`` extra raises :class:`~bruno_memory.errors.MissingDependencyError`.
"""

from __future__ import annotations

from pathlib import Path

from bruno_memory.errors import BrunoMemoryError, ConfigurationError, InvalidInputError

__all__ = ["EmbeddingError", "InvalidEmbeddingError", "ModelIntegrityError"]


class EmbeddingError(BrunoMemoryError):
    """Root of the errors raised by the embedding adapters."""


class ModelIntegrityError(EmbeddingError, ConfigurationError):
    """A model or tokenizer file is not the file this version of bruno-memory pins."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        super().__init__(
            f"{path} has sha256 {actual}, expected {expected}: the file is damaged or replaced",
            details={"path": str(path), "expected_sha256": expected, "actual_sha256": actual},
        )


class InvalidEmbeddingError(EmbeddingError, InvalidInputError):
    """Vectors of the wrong shape, with NaN/inf values, or of zero length; nothing was stored."""
