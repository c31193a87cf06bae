"""Opening a store on a database it cannot use: a typed error saying what is wrong and what
to do, with no password in it, and the database left as it was."""

from __future__ import annotations

import uuid

import pytest

from bruno_memory import BrunoMemoryError, ConfigurationError, create_memory
from tests.servers import PostgresServer

#: The three ways a store touches the schema: open and upgrade, open and check, migrate().
OPENINGS = ("auto_migrate", "check_only", "migrate")
PASSWORD = "s3cret-never-shown"


async def attempt(url: str, opening: str) -> None:
    """Open a store on ``url`` the way ``opening`` names, and close it again."""
    store = create_memory(url, embedder=None, auto_migrate=opening != "check_only")
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
