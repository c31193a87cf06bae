"""What every bruno-memory embedder shares on top of bruno-core's ``EmbeddingInterface``."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np
from bruno_core.interfaces.embedding import EmbeddingInterface
from bruno_core.models.message import Message

from bruno_memory.errors import InvalidInputError
from bruno_memory.ports.embedding import Matrix, cosine_similarity

__all__ = ["BaseEmbedder"]


class BaseEmbedder(EmbeddingInterface):
    """An embedder that computes float32 matrices; the list-based interface derives from them.

    Subclasses implement :meth:`_embed`, :meth:`get_dimension`, :meth:`get_model_name` and
    :meth:`check_connection`. Every vector returned is L2-normalized, so cosine similarity
    is the dot product.
    """

    async def embed_array(self, texts: Sequence[str]) -> Matrix:
        """The vectors of ``texts`` as a ``(len(texts), dimension)`` float32 matrix, in order.

        Raises :class:`~bruno_memory.errors.InvalidInputError` when ``texts`` is a string or
        holds anything but strings.
        """
        if isinstance(texts, str):
            raise InvalidInputError("embed a list of texts, not a single string")
        batch = list(texts)
        wrong = [type(text).__name__ for text in batch if not isinstance(text, str)]
        if wrong:
            raise InvalidInputError(
                f"only strings can be embedded, got {sorted(set(wrong))}",
                details={"types": sorted(set(wrong))},
            )
        if not batch:
            return np.zeros((0, self.get_dimension()), dtype=np.float32)
        return await self._embed(batch)

    @abstractmethod
    async def _embed(self, texts: list[str]) -> Matrix:
        """Embed a non-empty list of strings; rows L2-normalized, in input order."""

    async def embed_text(self, text: str) -> list[float]:
        """The vector of one text."""
        vector: list[float] = (await self.embed_array([text]))[0].tolist()
        return vector

    async def embed_texts(self, texts: Sequence[str]) -> list[list[float]]:
        """The vectors of several texts, in order; batched internally."""
        vectors: list[list[float]] = (await self.embed_array(texts)).tolist()
        return vectors

    async def embed_message(self, message: Message) -> list[float]:
        """The vector of a message's content (as bruno-llm's providers do)."""
        return await self.embed_text(message.content)

    def calculate_similarity(
        self, embedding1: Sequence[float], embedding2: Sequence[float]
    ) -> float:
        """Cosine similarity in [-1, 1] (bruno-llm's convention); 0.0 for a zero vector."""
        return cosine_similarity(embedding1, embedding2)
