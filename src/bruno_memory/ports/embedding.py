"""The embedding port: bruno-core's ``EmbeddingInterface``, and what every user of it shares.

- :func:`embedder_key` names the embedding space a stored vector lives in: every stored
  vector records the key of the embedder that made it, and a search only compares vectors
  with the query's key (vectors of different models, versions or dimensions never mix).
- :func:`as_unit_vectors` checks vectors from any provider before they are stored or
  searched. Providers fail quietly: bruno-llm's OpenAI provider returns a zero vector for
  empty text, a broken model returns NaN, a misconfigured one another dimension; all of
  these become :class:`~bruno_memory.errors.InvalidEmbeddingError`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from bruno_core.interfaces.embedding import EmbeddingInterface

from bruno_memory.errors import ConfigurationError, InvalidEmbeddingError

__all__ = [
    "UNVERSIONED",
    "EmbeddingInterface",
    "Matrix",
    "as_unit_vectors",
    "cosine_similarity",
    "embedder_key",
]

#: Float32 vectors, one per row, as the embedders return them.
Matrix = npt.NDArray[np.float32]

# Below this length a vector is treated as zero: its direction is noise.
_MIN_NORM = 1e-12
_SHOWN_ROWS = 5


def as_unit_vectors(vectors: npt.ArrayLike, dimension: int) -> Matrix:
    """``vectors`` as a C-contiguous float32 matrix of L2-normalized rows.

    ``vectors`` (nested lists or an array) must be n rows (n may be 0) of ``dimension`` finite
    numbers, none of them all zero. Raises :class:`InvalidEmbeddingError` otherwise; the input
    is never modified.
    """
    try:
        array = np.array(vectors, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidEmbeddingError(
            f"embeddings are not a matrix of numbers: {exc}", cause=exc
        ) from exc
    if array.shape == (0,):  # an empty list: no rows
        array = array.reshape(0, dimension)
    if array.ndim != 2 or array.shape[1] != dimension:
        raise InvalidEmbeddingError(
            f"expected embeddings of shape (n, {dimension}), got {array.shape}",
            details={"expected_dimension": dimension, "shape": list(array.shape)},
        )
    not_finite = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if not_finite.size:
        raise _bad_rows("contain NaN or infinite values", not_finite)
    norms = np.linalg.norm(array, axis=1)
    zero = np.flatnonzero(norms < _MIN_NORM)
    if zero.size:
        raise _bad_rows("are zero vectors (e.g. a provider's answer to empty text)", zero)
    return np.ascontiguousarray(array / norms[:, np.newaxis], dtype=np.float32)


def cosine_similarity(first: Sequence[float], second: Sequence[float]) -> float:
    """Cosine similarity of two vectors, in [-1, 1]; 0.0 when either is a zero vector.

    Raises :class:`InvalidEmbeddingError` when the vectors differ in length.
    """
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise InvalidEmbeddingError(
            f"cannot compare vectors of shapes {a.shape} and {b.shape}",
            details={"shapes": [list(a.shape), list(b.shape)]},
        )
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms < _MIN_NORM:
        return 0.0
    return float(np.clip(np.dot(a, b) / norms, -1.0, 1.0))


def _bad_rows(problem: str, rows: npt.NDArray[np.intp]) -> InvalidEmbeddingError:
    shown = [int(row) for row in rows[:_SHOWN_ROWS]]
    more = "..." if rows.size > len(shown) else ""
    return InvalidEmbeddingError(
        f"{rows.size} embedding(s) {problem}; rows {shown}{more}",
        details={"rows": shown, "count": int(rows.size)},
    )


#: The version part of the key for embedders without a ``model_version`` attribute.
UNVERSIONED = "unversioned"


def embedder_key(embedder: EmbeddingInterface) -> str:
    """``"<model name>@<model version>:<dimension>"``, e.g.
    ``"sentence-transformers/all-MiniLM-L6-v2@8199be6f699a:384"``.

    The version is the embedder's ``model_version`` attribute (bruno-memory's embedders have
    one) or ``"unversioned"`` (bruno-llm's providers: their model name is all we know).
    Raises :class:`~bruno_memory.errors.ConfigurationError` for an empty model name or a
    dimension below 1.
    """
    name = embedder.get_model_name().strip()
    dimension = embedder.get_dimension()
    if not name or dimension < 1:
        raise ConfigurationError(
            f"{type(embedder).__name__} names no usable embedding space "
            f"(model name {name!r}, dimension {dimension})",
            details={"model_name": name, "dimension": dimension},
        )
    version = getattr(embedder, "model_version", None) or UNVERSIONED
    return f"{name}@{version}:{dimension}"
