"""Errors raised by bruno-memory.

Every error is a :class:`BrunoMemoryError`, which is bruno-core's ``MemoryError``, so
callers written against bruno-core's ``MemoryInterface`` catch them unchanged::

    bruno_core.utils.exceptions.MemoryError
    └── BrunoMemoryError
        ├── ConfigurationError              a setting that cannot work (e.g. a missing database)
        │   └── MissingDependencyError      an optional extra is not installed
        ├── InvalidInputError               (also bruno-core ValidationError)
        │   └── InvalidQueryError           a search query that cannot be searched
        ├── NotFoundError
        │   ├── SessionNotFoundError
        │   ├── MessageNotFoundError
        │   └── MemoryNotFoundError
        ├── ConflictError                   an id that already exists
        ├── AccessDeniedError               data that belongs to another user
        ├── UnsupportedOperationError       the storage lacks a capability the call needs
        ├── SchemaError                     the database is not at the expected revision
        ├── StorageError                    the database (or a vector store) failed or is down
        ├── CompressionError                summarizing failed; the failed step left nothing
        └── EmbeddingError                  the embedder failed; items stay queued
            ├── ModelIntegrityError         (also ConfigurationError) a model file fails its sha256
            └── InvalidEmbeddingError       (also InvalidInputError) a vector that cannot be stored

Driver exceptions never leave the library: :func:`translate_errors` maps them here,
with the original kept as ``cause`` and ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bruno_core.utils.exceptions import MemoryError as CoreMemoryError
from bruno_core.utils.exceptions import ValidationError as CoreValidationError
from sqlalchemy import exc as sa_exc

if TYPE_CHECKING:
    from bruno_memory.context.compression import CompressionReport

__all__ = [
    "AccessDeniedError",
    "BrunoMemoryError",
    "CompressionError",
    "ConfigurationError",
    "ConflictError",
    "CopyVerificationError",
    "EmbeddingError",
    "ImportFormatError",
    "ImportRecordError",
    "InvalidEmbeddingError",
    "InvalidInputError",
    "InvalidQueryError",
    "MemoryNotFoundError",
    "MessageNotFoundError",
    "MissingDependencyError",
    "ModelIntegrityError",
    "NotFoundError",
    "SchemaError",
    "SessionNotFoundError",
    "StorageError",
    "TransferError",
    "UnsupportedOperationError",
    "translate_errors",
]


class BrunoMemoryError(CoreMemoryError):
    """Root of every error raised by bruno-memory."""

    def __init__(
        self,
        message: str,
        details: dict[str, Any] | None = None,
        cause: Exception | None = None,
    ) -> None:
        super().__init__(message, details=details, cause=cause)


class ConfigurationError(BrunoMemoryError):
    """The library is configured in a way that cannot work."""


class MissingDependencyError(ConfigurationError):
    """A backend needs an optional extra that is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package} is not installed; install it with: pip install 'bruno-memory[{extra}]'",
            details={"package": package, "extra": extra},
        )


class InvalidInputError(BrunoMemoryError, CoreValidationError):
    """The caller passed a value the store cannot accept; nothing was written."""


class InvalidQueryError(InvalidInputError):
    """A search query that cannot be searched (for example an empty one)."""


class NotFoundError(BrunoMemoryError):
    """The requested record does not exist."""


class SessionNotFoundError(NotFoundError):
    """No session has the given id."""


class MessageNotFoundError(NotFoundError):
    """No message has the given id (in the given conversation)."""


class MemoryNotFoundError(NotFoundError):
    """No memory entry has the given id."""


class ConflictError(BrunoMemoryError):
    """A record with the same id already exists; nothing was written."""


class AccessDeniedError(BrunoMemoryError):
    """The record exists but belongs to another user."""


class UnsupportedOperationError(BrunoMemoryError):
    """The storage does not offer what the call needs (``details["capability"]`` names it)."""

    def __init__(self, operation: str, capability: str, backend: str) -> None:
        super().__init__(
            f"{operation} needs the {capability!r} capability, which the {backend} storage "
            "does not have (see memory.capabilities)",
            details={"operation": operation, "capability": capability, "backend": backend},
        )


class SchemaError(BrunoMemoryError):
    """The database schema is missing or not at the revision this version needs."""


class StorageError(BrunoMemoryError):
    """The database failed or could not be reached; the operation did not land."""


class CompressionError(BrunoMemoryError):
    """Summarizing failed (the LLM erred or timed out, or a summary could not be stored).
    The failed step left nothing behind; ``report`` lists what earlier steps wrote."""

    report: CompressionReport | None = None


class TransferError(BrunoMemoryError):
    """An export, import or copy could not go on; what it names did not land (batches
    committed before it did: running the import again resumes it)."""


class ImportFormatError(TransferError, InvalidInputError):
    """A line of an import file is not a record (``details["line"]`` names it)."""


class ImportRecordError(TransferError, InvalidInputError):
    """A record the store cannot take: it refers to something that is not stored, or it
    contradicts what is (``details["line"]`` names it when read from a file)."""


class CopyVerificationError(TransferError):
    """After a copy the target does not hold what the source does (``details`` has the
    counts and checksums of both)."""


class EmbeddingError(BrunoMemoryError):
    """An embedder failed, or has not embedded what a call needs yet; queued items stay
    queued and are retried."""


class ModelIntegrityError(EmbeddingError, ConfigurationError):
    """A model or tokenizer file is not the file this version of bruno-memory pins."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        super().__init__(
            f"{path} has sha256 {actual}, expected {expected}: the file is damaged or replaced",
            details={"path": str(path), "expected_sha256": expected, "actual_sha256": actual},
        )


class InvalidEmbeddingError(EmbeddingError, InvalidInputError):
    """Vectors of the wrong shape, with NaN/inf values, or of zero length; nothing was stored."""


@contextmanager
def translate_errors(operation: str) -> Iterator[None]:
    """Re-raise SQLAlchemy/driver errors raised inside the block as typed errors."""
    try:
        yield
    except BrunoMemoryError:
        raise
    except sa_exc.IntegrityError as exc:
        raise ConflictError(
            f"{operation}: a record with the same key already exists",
            details={"operation": operation, "driver_message": _driver_message(exc)},
            cause=exc,
        ) from exc
    except sa_exc.DataError as exc:
        raise InvalidInputError(
            f"{operation}: the database rejected a value",
            details={"operation": operation, "driver_message": _driver_message(exc)},
            cause=exc,
        ) from exc
    except sa_exc.StatementError as exc:
        if isinstance(exc, sa_exc.DBAPIError) or not isinstance(exc.orig, (TypeError, ValueError)):
            raise _storage_error(operation, exc) from exc
        # A value could not be converted for the database (e.g. NaN or an object in JSON).
        raise InvalidInputError(
            f"{operation}: {exc.orig}", details={"operation": operation}, cause=exc
        ) from exc
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        raise _storage_error(operation, exc) from exc


def _storage_error(operation: str, exc: Exception) -> StorageError:
    return StorageError(
        f"{operation} failed: {_driver_message(exc)}", details={"operation": operation}, cause=exc
    )


def _driver_message(exc: BaseException) -> str:
    original = getattr(exc, "orig", None)
    return str(original if original is not None else exc).strip().splitlines()[0]
