"""Opening a store on a database it cannot use: a typed error saying what is wrong and what
to do, with no password in it, and the database left as it was."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from bruno_memory import (
    BrunoMemoryError,
    Capability,
    ConfigurationError,
    InvalidInputError,
    SchemaError,
    create_memory,
)
from bruno_memory.db import migrate
from bruno_memory.db.engine import create_engine
from bruno_memory.settings import MemorySettings
from tests.integration.test_migrations import table_names
from tests.servers import PostgresServer

#: The three ways a store touches the schema: open and upgrade, open and check, migrate().
OPENINGS = ("auto_migrate", "check_only", "migrate")
PASSWORD = "s3cret-never-shown"


async def attempt(url: str, opening: str) -> None:
    """Open a store on ``url`` the way ``opening`` names, and close it again."""
    store = create_memory(url, embedder=None, database_auto_migrate=opening != "check_only")
    try:
        if opening == "migrate":
            await store.migrate()
        else:
            await store.open()
    finally:
        await store.close()


def assert_no_password(error: BrunoMemoryError) -> None:
    assert PASSWORD not in str(error)
    assert PASSWORD not in repr(error.details)


def postgres_url(server: PostgresServer, *, username: str = "", database: str = "") -> str:
    """A library URL on ``server``, with a password, and another user or database if given."""
    url = server.admin_url.set(drivername="postgresql+asyncpg", password=PASSWORD)
    url = url.set(username=username or url.username, database=database or url.database)
    return url.render_as_string(hide_password=False)


@pytest.mark.postgres_only
@pytest.mark.parametrize("opening", OPENINGS)
async def test_missing_postgres_database(postgres_server: PostgresServer, opening: str) -> None:
    """A URL naming a database the server does not have raises ConfigurationError naming it."""
    name = f"bruno_missing_{uuid.uuid4().hex[:8]}"
    with pytest.raises(ConfigurationError, match=f"database {name!r} does not exist") as caught:
        await attempt(postgres_url(postgres_server, database=name), opening)
    assert_no_password(caught.value)


@pytest.mark.postgres_only
@pytest.mark.parametrize("opening", OPENINGS)
async def test_missing_postgres_role(postgres_server: PostgresServer, opening: str) -> None:
    """A URL naming a role the server does not have raises ConfigurationError naming it."""
    role = f"bruno_nobody_{uuid.uuid4().hex[:8]}"
    with pytest.raises(ConfigurationError, match=f"as {role!r}") as caught:
        await attempt(postgres_url(postgres_server, username=role), opening)
    assert_no_password(caught.value)


async def write_versions(url: str, versions: list[str]) -> None:
    """Make ``url`` an otherwise empty database whose alembic_version holds ``versions``."""
    engine = create_engine(MemorySettings(database_url=url))
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
            )
            for version in versions:
                await connection.execute(
                    sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": version}
                )
    finally:
        await engine.dispose()


async def read_versions(url: str) -> list[str]:
    engine = create_engine(MemorySettings(database_url=url))
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            return sorted(row[0] for row in rows)
    finally:
        await engine.dispose()


@pytest.mark.file_databases
@pytest.mark.requires(Capability.MIGRATIONS)
@pytest.mark.parametrize("opening", OPENINGS)
@pytest.mark.parametrize(
    ("versions", "problem"),
    [
        (["0999"], "revision '0999', which this version of bruno-memory does not know"),
        (["not a revision"], "revision 'not a revision', which this version"),
        (["0001", "0002"], "alembic_version table has 2 rows"),
    ],
    ids=["newer-release", "garbage", "two-rows"],
)
async def test_unknown_revision_is_left_alone(
    fresh_url: str, versions: list[str], problem: str, opening: str
) -> None:
    """A database at a revision this package does not know raises SchemaError, unchanged.

    The database holds only alembic_version, so any table created or row rewritten by a
    migration that should not have run shows in the two assertions after the error.
    """
    await write_versions(fresh_url, versions)
    with pytest.raises(SchemaError, match=problem):
        await attempt(fresh_url, opening)
    assert await read_versions(fresh_url) == sorted(versions)
    assert await table_names(fresh_url) == {"alembic_version"}


@pytest.mark.file_databases
@pytest.mark.requires(Capability.MIGRATIONS)
async def test_unknown_target_revision(fresh_url: str) -> None:
    """migrate() to a revision the chain does not have raises InvalidInputError, unchanged."""
    async with create_memory(fresh_url, embedder=None) as memory:
        with pytest.raises(InvalidInputError, match="cannot migrate to '0999'"):
            await memory.migrate("0999")
    assert await read_versions(fresh_url) == [migrate.head_revision()]


#: Opens a store on each SQLite URL read from stdin, printing "ok" or the error, after
#: printing "ready" once imported, so that the test can start every opener at once.
OPENER = """
import asyncio, sys
from bruno_memory import create_memory

async def open_store(url):
    async with create_memory(url, embedder=None):
        pass

print("ready", flush=True)
for line in sys.stdin:
    try:
        asyncio.run(open_store(line.strip()))
        print("ok", flush=True)
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}".splitlines()[0], flush=True)
"""


@contextmanager
def openers(count: int) -> Iterator[list[subprocess.Popen[str]]]:
    """``count`` processes running OPENER, each imported and ready."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline() == "ready\n"
        yield processes
    finally:
        for process in processes:
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=60)


def open_at_once(processes: list[subprocess.Popen[str]], url: str) -> list[str]:
    """Have every process open ``url`` at the same moment; their outcomes."""
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(f"{url}\n")
        process.stdin.flush()
    return [process.stdout.readline().strip() for process in processes if process.stdout]


@pytest.mark.slow
async def test_concurrent_first_open_of_a_sqlite_file(tmp_path: Path) -> None:
    """Processes opening one new SQLite file at once all succeed: they migrate in turn.

    Without waiting, all but one lose the race for the write lock while migrating; several
    rounds, each on a new file, make the race show even on a loaded machine.
    """
    with openers(4) as processes:
        for round_ in range(5):
            url = f"sqlite+aiosqlite:///{tmp_path / f'round{round_}.db'}"
            assert open_at_once(processes, url) == ["ok"] * 4
            engine = create_engine(MemorySettings(database_url=url))
            try:
                assert await migrate.current_revision(engine) == migrate.head_revision()
            finally:
                await engine.dispose()


def missing_folder(tmp: Path) -> tuple[Path, str]:
    return tmp / "missing" / "x.db", f"the folder {tmp / 'missing'} does not exist"


def under_a_file(tmp: Path) -> tuple[Path, str]:
    (tmp / "notes.txt").write_text("notes")
    return tmp / "notes.txt" / "x.db", f"{tmp / 'notes.txt'} is a file, not a folder"


def a_folder(tmp: Path) -> tuple[Path, str]:
    (tmp / "folder").mkdir()
    return tmp / "folder", "it is a folder, not a database file"


def not_a_database(tmp: Path) -> tuple[Path, str]:
    (tmp / "notes.txt").write_text("these are notes, not a database " * 10)
    return tmp / "notes.txt", "the file is not a SQLite database"


def snapshot(folder: Path) -> dict[Path, bytes | None]:
    """Every path under ``folder``, with the content of the files."""
    return {path: path.read_bytes() if path.is_file() else None for path in folder.rglob("*")}


@pytest.mark.parametrize("opening", OPENINGS)
@pytest.mark.parametrize("place", [missing_folder, under_a_file, a_folder, not_a_database])
async def test_sqlite_path_that_cannot_be_opened(
    tmp_path: Path, place: Callable[[Path], tuple[Path, str]], opening: str
) -> None:
    """A SQLite file that cannot be opened raises ConfigurationError naming it and why."""
    path, reason = place(tmp_path)
    before = snapshot(tmp_path)
    expected = re.escape(f"cannot open SQLite database {path}: {reason}")
    with pytest.raises(ConfigurationError, match=expected):
        await attempt(f"sqlite+aiosqlite:///{path}", opening)
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
async def test_sqlite_file_in_a_read_only_folder(tmp_path: Path) -> None:
    """A new SQLite file in a folder the user may not write raises ConfigurationError."""
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    try:
        with pytest.raises(ConfigurationError, match="no permission to create files"):
            await attempt(f"sqlite+aiosqlite:///{folder / 'x.db'}", "auto_migrate")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_sqlite_url_with_two_slashes() -> None:
    """A SQLite URL with a host part (two slashes) raises ConfigurationError with the forms."""
    with pytest.raises(ConfigurationError, match="Valid SQLite URL forms"):
        create_memory("sqlite+aiosqlite://x.db", embedder=None)
