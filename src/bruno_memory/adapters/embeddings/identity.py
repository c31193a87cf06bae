"""The key that names the embedding space a stored vector lives in.

Every stored vector records :func:`embedder_key` of the embedder that made it, and a search
only compares vectors with the query's key: vectors of different models, model versions or
dimensions are never mixed.
"""

from __future__ import annotations

from bruno_core.interfaces.embedding import EmbeddingInterface

from bruno_memory.errors import ConfigurationError

__all__ = ["UNVERSIONED", "embedder_key"]

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
