"""``bruno-memory db``: the packaged Alembic revisions, from an installed wheel (no
``alembic.ini``): upgrade, downgrade, current, history, check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from bruno_memory.cli.output import Url, console, errors, run
from bruno_memory.cli.store import is_sql, settings_of, sql_engine
from bruno_memory.db import migrate
from bruno_memory.errors import ConfigurationError

app = typer.Typer(help="The database schema: the library's Alembic revisions.")

Revision = Annotated[str, typer.Argument(help="A revision id, 'head' or 'base'.")]


@asynccontextmanager
async def _engine(url: str | None) -> AsyncIterator[AsyncEngine]:
    settings = settings_of(url)
    if not is_sql(settings):
        raise ConfigurationError("db commands need a SQLite or PostgreSQL URL")
    async with sql_engine(settings) as engine:
        yield engine


@app.command()
def upgrade(revision: Revision = "head", url: Url = None) -> None:
    """Upgrade the database to REVISION (default: head), in one transaction."""

    async def work() -> str | None:
        async with _engine(url) as engine:
            await migrate.upgrade(engine, revision)
            return await migrate.current_revision(engine)

    console.print(f"at revision {run(work())}")


@app.command()
def downgrade(revision: Revision, url: Url = None) -> None:
    """Downgrade the database to REVISION ('base' removes every table), in one transaction."""

    async def work() -> str | None:
        async with _engine(url) as engine:
            await migrate.downgrade(engine, revision)
            return await migrate.current_revision(engine)

    console.print(f"at revision {run(work()) or 'base (empty)'}")


async def _current(url: str | None) -> str | None:
    async with _engine(url) as engine:
        return await migrate.current_revision(engine)


@app.command()
def current(url: Url = None) -> None:
    """The revision the database is at."""
    revision = run(_current(url))
    head = migrate.head_revision()
    console.print(f"{revision or 'base (empty)'}{' (head)' if revision == head else ''}")


@app.command()
def history() -> None:
    """The revisions of this installation, newest first."""
    for script in migrate.script_directory().walk_revisions():
        doc = (script.doc or "").splitlines()[0] if script.doc else ""
        console.print(f"{script.revision}  {doc}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def check(url: Url = None) -> None:
    """Exit 0 when the database is at head and matches the models, else 1 (saying why)."""

    async def work() -> tuple[str | None, int]:
        async with _engine(url) as engine:
            revision = await migrate.current_revision(engine)
            drift = (
                await migrate.schema_drift(engine) if revision == migrate.head_revision() else []
            )
            return revision, len(drift)

    revision, drift = run(work())
    head = migrate.head_revision()
    if revision != head:
        errors.print(f"at revision {revision or 'base (empty)'}, not head {head}: run db upgrade")
        raise typer.Exit(1)
    if drift:
        errors.print(f"at head {head}, but {drift} differences from the models")
        raise typer.Exit(1)
    console.print(f"at head {head}, matching the models")
