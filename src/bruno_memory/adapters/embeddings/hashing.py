"""A deterministic feature-hashing embedder for tests of plumbing. It is **not semantic**.

Each lowercase word (``\\w+``) adds +1 or -1 to one of ``dimension`` coordinates, both chosen by
a blake2b hash of the word, and the sum is L2-normalized. Texts sharing words are close,
synonyms are not: "cat" and "kitten" are unrelated. The vectors are the same in every
process, on every platform, and in every version that keeps :data:`HashingEmbedder.model_version`.
Never use it as the default embedder of a real store.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from bruno_memory.adapters.embeddings.base import BaseEmbedder
from bruno_memory.errors import ConfigurationError
from bruno_memory.ports.embedding import Matrix

__all__ = ["HASHING_MODEL_NAME", "HashingEmbedder"]

#: The model name hashing vectors are stored under.
HASHING_MODEL_NAME = "bruno-memory/feature-hashing-blake2b"

_WORD = re.compile(r"\w+")
# The feature of a text without words, or whose word features cancel out; never a \w+ match.
_NO_WORDS = ""


class HashingEmbedder(BaseEmbedder):
    """Signed feature hashing of a text's bag of lowercase words, L2-normalized.

    Every text gets a unit vector: a text without words (or whose words cancel out) gets the
    vector of the reserved empty feature. Embedding runs on the calling thread (it is cheap).
    """

    #: Bump when the hashing changes, so stored vectors get a new embedder key.
    model_version = "1"

    def __init__(self, dimension: int = 64) -> None:
        """Hash words into ``dimension`` coordinates (at least 1)."""
        if dimension < 1:
            raise ConfigurationError(
                f"HashingEmbedder needs a dimension of at least 1, got {dimension}",
                details={"dimension": dimension},
            )
        self._dimension = dimension

    async def _embed(self, texts: list[str]) -> Matrix:
        return np.stack([self._vector(text) for text in texts])

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        vector = np.zeros(self._dimension, dtype=np.float64)
        for word in _WORD.findall(text.lower()):
            index, sign = _feature(word, self._dimension)
            vector[index] += sign
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            index, sign = _feature(_NO_WORDS, self._dimension)
            vector[index], norm = sign, 1.0
        return np.asarray(vector / norm, dtype=np.float32)

    def get_dimension(self) -> int:
        """The configured dimension."""
        return self._dimension

    def get_model_name(self) -> str:
        """:data:`HASHING_MODEL_NAME`."""
        return HASHING_MODEL_NAME

    async def check_connection(self) -> bool:
        """Always ``True``: nothing to load or reach."""
        return True


@lru_cache(maxsize=65_536)
def _feature(word: str, dimension: int) -> tuple[int, float]:
    """The coordinate and sign a word adds to."""
    value = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")
    return (value >> 1) % dimension, 1.0 if value & 1 else -1.0
