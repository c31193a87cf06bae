"""The factory: third-party storages (register_storage, entry points) and fallback chains."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bruno_memory import (
    ConfigurationError,
    StorageError,
    bootstrap,
    create_memory,
    create_memory_sync,
    register_storage,
)
from bruno_memory.adapters.embeddings import HashingEmbedder
from bruno_memory.adapters.vector.exact import ExactVectorIndex
from bruno_memory.backends.fallback import FallbackStorage
from bruno_memory.backends.memory import InMemoryStorage
from tests.conformance.helpers import user_message

PASSWORD = "s3cret-never-logged"
#: Nothing listens on port 1: the connection is refused at once.
UNREACHABLE_POSTGRES = f"postgresql+asyncpg://postgres:{PASSWORD}@127.0.0.1:1/x"
UNREACHABLE_REDIS = f"redis://:{PASSWORD}@127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def schemes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test registers into copies of the registries, undone after it."""
    monkeypatch.setattr(bootstrap, "STORAGE_SCHEMES", dict(bootstrap.STORAGE_SCHEMES))
    monkeypatch.setattr(bootstrap, "VECTOR_SCHEMES", dict(bootstrap.VECTOR_SCHEMES))


def logged(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    """What the ``bruno_memory`` logger said at ``level``."""
    records = caplog.records
    return [r.getMessage() for r in records if r.name == "bruno_memory" and r.levelno == level]


# -- registered storages ---------------------------------------------------------------------


def in_memory(url: str, *, embedder: Any, vector_index: Any, **options: Any) -> InMemoryStorage:
    """A third party's factory: the in-memory storage under another scheme."""
    assert url.startswith("thirdparty://")
    return InMemoryStorage("memory://", **options)


async def test_a_registered_storage_scheme_builds_the_storage() -> None:
    """create_memory("thirdparty://...") builds the storage the registered factory returns,
    with the options given to create_memory."""
    register_storage("thirdparty", in_memory)
    async with create_memory("thirdparty://anything", embedder=None, context_window=3) as memory:
        assert isinstance(memory.storage, InMemoryStorage)
        assert memory.context_window == 3
        await memory.store_message(user_message("third"), "c")
        assert [m.content for m in await memory.retrieve_messages("c")] == ["third"]


def test_an_unknown_storage_scheme_lists_the_known_ones() -> None:
    register_storage("thirdparty", in_memory)
    with pytest.raises(ConfigurationError, match="unknown storage") as raised:
        create_memory(f"nosuch://user:{PASSWORD}@host/db")
    for scheme in ("thirdparty://", "memory://", "redis://", "sqlite+aiosqlite://"):
        assert scheme in str(raised.value)
    assert PASSWORD not in str(raised.value)
    assert raised.value.details["scheme"] == "nosuch"


@pytest.mark.parametrize("scheme", ["", "Upper", "with:colon", "bad://"])
def test_a_scheme_is_lower_case_without_colon(scheme: str) -> None:
    with pytest.raises(ConfigurationError):
        register_storage(scheme, in_memory)


# -- entry points ------------------------------------------------------------------------------


@pytest.fixture
def distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution (a dist-info on sys.path) whose entry points add the
    storage ``acme://``, the vector store ``acmevec://`` and a broken ``acmebroken://``."""
    (tmp_path / "acme_store.py").write_text(
        "from bruno_memory.adapters.vector.exact import ExactVectorIndex\n"
        "from bruno_memory.backends.memory import InMemoryStorage\n"
        "def storage(url, *, embedder, vector_index, **options):\n"
        "    return InMemoryStorage('memory://', **options)\n"
        "def vectors(url, settings):\n"
        "    return ExactVectorIndex()\n"
    )
    info = tmp_path / "acme_store-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-store\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[bruno_memory.storages]\n"
        "acme = acme_store:storage\n"
        "acmebroken = acme_store_missing:storage\n"
        "[bruno_memory.vector_stores]\n"
        "acmevec = acme_store:vectors\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("acme_store", None)


async def test_an_installed_entry_point_adds_a_storage(distribution: Path) -> None:
    """A scheme no one registered is looked up among the installed entry points."""
    assert "acme" not in bootstrap.STORAGE_SCHEMES
    async with create_memory("acme://x", embedder=None, context_window=2) as memory:
        assert isinstance(memory.storage, InMemoryStorage)
        assert memory.context_window == 2
        await memory.store_message(user_message("acme"), "c")
        assert [m.content for m in await memory.retrieve_messages("c")] == ["acme"]
    assert "acme" in bootstrap.STORAGE_SCHEMES  # loaded once, then registered


async def test_an_installed_entry_point_adds_a_vector_store(distribution: Path) -> None:
    async with create_memory(
        "sqlite+aiosqlite://", embedder=HashingEmbedder(), vector_url="acmevec://x"
    ) as memory:
        assert isinstance(memory.storage._external_index, ExactVectorIndex)
        await memory.store_message(user_message("vectors"), "c")
        await memory.wait_for_embeddings()
        hits = await memory.search("vectors", mode="semantic")
        assert [hit.content for hit in hits] == ["vectors"]


def test_installed_schemes_are_listed_and_a_broken_one_is_named(distribution: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"acme://.*acmebroken://"):
        create_memory("nosuch://x")
    with pytest.raises(ConfigurationError, match="acme_store_missing"):
        create_memory("acmebroken://x")


# -- fallback chains ---------------------------------------------------------------------------


async def test_the_chain_uses_the_first_storage_that_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An unreachable PostgreSQL, then a SQLite file: the SQLite store is used, and the log
    says which and why, without the password."""
    caplog.set_level(logging.INFO, logger="bruno_memory")
    fallback = f"sqlite+aiosqlite:///{tmp_path / 'fallback.db'}"
    memory = create_memory([UNREACHABLE_POSTGRES, fallback], embedder=None, context_window=4)
    with pytest.raises(ConfigurationError, match="open the memory first"):
        _ = memory.backend
    async with memory:
        assert memory.backend == "sqlite"
        assert memory.context_window == 4  # the options apply to every candidate
        storage = memory.storage
        assert isinstance(storage, FallbackStorage)
        assert storage.url == fallback
        await memory.store_message(user_message("kept"), "c")
        assert [m.content for m in await memory.retrieve_messages("c")] == ["kept"]
    assert logged(caplog, logging.INFO) == [f"using storage {fallback}"]
    [warning] = logged(caplog, logging.WARNING)
    assert warning.startswith(
        "storage postgresql+asyncpg://***@127.0.0.1:1/x did not answer: StorageError: "
    )
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)
    async with create_memory(fallback, embedder=None) as again:
        assert [m.content for m in await again.retrieve_messages("c")] == ["kept"]


class Refusing(InMemoryStorage):
    """A third party's storage whose server refuses, naming its URL, password and all."""

    def __init__(self, url: str) -> None:
        super().__init__("memory://")
        self.url = url

    async def open(self) -> None:
        raise ConnectionRefusedError(f"refused by {self.url}")


async def test_a_third_party_failure_is_logged_without_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bruno_memory")
    register_storage("refusing", lambda url, **_: Refusing(url))
    url = f"refusing://user:{PASSWORD}@host/db"
    async with create_memory([url, "memory://"], embedder=None) as memory:
        assert memory.backend == "memory"
    assert logged(caplog, logging.WARNING) == [
        "storage refusing://***@host/db did not answer: ConnectionRefusedError: "
        "refused by refusing://user:***@host/db"
    ]
    assert logged(caplog, logging.INFO) == ["using storage memory://"]


async def test_capabilities_before_open_are_those_of_every_candidate() -> None:
    """Before it opens, a chain offers what every candidate offers; once open, its own."""
    memory = create_memory(["memory://", "sqlite+aiosqlite://"], embedder=None)
    alone = create_memory("memory://", embedder=None).capabilities
    sqlite = create_memory("sqlite+aiosqlite://", embedder=None).capabilities
    assert memory.capabilities == alone & sqlite
    async with memory:
        assert memory.backend == "memory"
        assert memory.capabilities == alone
    with pytest.raises(ConfigurationError, match="open the memory first"):
        _ = memory.backend  # closing forgets the choice


async def test_a_chain_of_which_none_answers_names_each(tmp_path: Path) -> None:
    missing = f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'x.db'}"
    memory = create_memory([UNREACHABLE_POSTGRES, UNREACHABLE_REDIS, missing], embedder=None)
    with pytest.raises(StorageError, match="no storage of the fallback chain answered") as raised:
        await memory.open()
    failures = raised.value.details["failures"]
    assert [failure["url"] for failure in failures] == [
        "postgresql+asyncpg://***@127.0.0.1:1/x",
        "redis://***@127.0.0.1:1/0",
        missing,
    ]
    assert [failure["error"] for failure in failures] == [
        "StorageError",
        "StorageError",
        "ConfigurationError",
    ]
    for failure in failures:
        assert failure["url"] in raised.value.message
    assert PASSWORD not in str(raised.value)
    await memory.close()


def test_a_chain_is_urls_and_builds_its_own_vector_stores() -> None:
    with pytest.raises(ConfigurationError, match="at least one URL"):
        create_memory([], embedder=None)
    with pytest.raises(ConfigurationError, match="sequence of URLs"):
        create_memory(["memory://", ""], embedder=None)
    with pytest.raises(ConfigurationError, match="vector_url, not vector_index"):
        create_memory(["sqlite+aiosqlite://"], vector_index=ExactVectorIndex())
    with pytest.raises(ConfigurationError, match="unknown storage"):
        create_memory(["memory://", "nosuch://x"], embedder=None)


def test_the_sync_twin_takes_a_chain(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bruno_memory")
    fallback = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"
    with create_memory_sync([UNREACHABLE_POSTGRES, fallback], embedder=None) as memory:
        assert memory.backend == "sqlite"
        memory.store_message(user_message("sync"), "c")
        assert [m.content for m in memory.retrieve_messages("c")] == ["sync"]
    assert logged(caplog, logging.INFO) == [f"using storage {fallback}"]
