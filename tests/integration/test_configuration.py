"""URLs, settings, optional extras and SQLite connection setup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bruno_memory import ConfigurationError, MissingDependencyError, create_memory
from bruno_memory.db.engine import create_engine, normalize_url
from bruno_memory.settings import MemorySettings
from tests.conformance.helpers import user_message


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite://", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+psycopg://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_urls_get_the_async_driver(given: str, driver: str) -> None:
    """Plain and other-driver URLs are given the library's async driver."""
    assert normalize_url(given).drivername == driver


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "oracle://x"])
def test_unsupported_urls_are_configuration_errors(url: str) -> None:
    """A URL of an unsupported database raises ConfigurationError."""
    with pytest.raises(ConfigurationError):
        create_memory(url)


def test_missing_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without asyncpg, a PostgreSQL URL raises MissingDependencyError naming the extra."""
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    with pytest.raises(MissingDependencyError, match=r"bruno-memory\[postgresql\]"):
        create_memory("postgresql+asyncpg://u@localhost/db")


def test_base_install_imports_without_optional_drivers() -> None:
    """`import bruno_memory` and an in-memory store work with the optional drivers absent."""
    script = """
import asyncio, sys
for name in ("asyncpg", "pgvector", "redis", "qdrant_client", "onnxruntime", "tokenizers"):
    sys.modules[name] = None
import bruno_memory
from bruno_core.models.message import Message
async def main():
    async with bruno_memory.create_memory("sqlite+aiosqlite://") as memory:
        await memory.store_message(Message(role="user", content="hi"), "c")
        print(len(await memory.retrieve_messages("c")))
asyncio.run(main())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """BRUNO_MEMORY_* variables configure the store; keyword arguments win over them."""
    monkeypatch.setenv("BRUNO_MEMORY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("BRUNO_MEMORY_CONTEXT_WINDOW", "7")
    store = create_memory()
    assert store.context_window == 7
    assert store.storage.settings.database_url.endswith("env.db")
    assert create_memory(context_window=3).context_window == 3


def test_unknown_option_is_refused() -> None:
    """A misspelt option raises instead of being ignored."""
    with pytest.raises(ConfigurationError, match="contxt_window"):
        create_memory("sqlite+aiosqlite://", contxt_window=3)


async def test_default_database_is_a_file_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With no URL anywhere, the store is a SQLite file named bruno_memory.db in the cwd."""
    monkeypatch.delenv("BRUNO_MEMORY_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    async with create_memory() as memory:
        await memory.store_message(user_message("persisted"), "c")
    assert (tmp_path / "bruno_memory.db").is_file()
    async with create_memory() as memory:
        assert [m.content for m in await memory.retrieve_messages("c")] == ["persisted"]


async def test_sqlite_file_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    """File databases run in WAL mode with foreign keys enforced and a busy timeout."""
    engine = create_engine(
        MemorySettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", sqlite_busy_timeout_ms=1234
        )
    )
    try:
        async with engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}")  # noqa: E731
            assert (await pragma("journal_mode")).scalar() == "wal"
            assert (await pragma("foreign_keys")).scalar() == 1
            assert (await pragma("busy_timeout")).scalar() == 1234
    finally:
        await engine.dispose()


async def test_reopening_a_closed_store(tmp_path: Path) -> None:
    """close() releases connections; the store reopens on next use."""
    store = create_memory(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    await store.store_message(user_message("one"), "c")
    await store.close()
    await store.store_message(user_message("two"), "c")
    assert len(await store.retrieve_messages("c")) == 2
    await store.close()


async def test_unreachable_server_is_a_storage_error() -> None:
    """A PostgreSQL server that does not answer raises StorageError, not a driver error."""
    from bruno_memory import StorageError

    store = create_memory("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_timeout=2)
    with pytest.raises(StorageError):
        await store.retrieve_messages("c")
    await store.close()
