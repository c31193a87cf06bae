"""``bruno-memory erase-user`` and ``bruno-memory reembed``: erasing a user, changing the
embedding model."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

import typer

from bruno_memory.cli.output import AsJson, Url, emit, errors, run
from bruno_memory.cli.store import open_store


def erase_user(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Erase without asking.")] = False,
    url: Url = None,
    as_json: AsJson = False,
) -> None:
    """Delete the user and everything they own (the library's delete_user()), in one
    transaction; prints what was deleted per kind. A user never stored: zero counts."""
    if not yes:
        if not sys.stdin.isatty():
            errors.print("error: erasing a user cannot be undone: pass --yes", highlight=False)
            raise typer.Exit(2)
        typer.confirm(f"Erase user {user_id} and everything they own?", abort=True)

    async def deleted() -> AsyncIterator[Mapping[str, Any]]:
        async with open_store(url) as memory:
            counts = await memory.delete_user(user_id)
        for kind, count in counts.items():
            yield {"kind": kind, "deleted": count}

    run(emit(deleted(), ("kind", "deleted"), as_json=as_json, limit=0))
