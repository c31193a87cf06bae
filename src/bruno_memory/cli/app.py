"""The root command: its sub-commands, and the entry point of ``[project.scripts]``."""

from __future__ import annotations

import typer

from bruno_memory.cli import analytics, db, doctor, listing, lookup, maintenance, transfer

app = typer.Typer(
    name="bruno-memory",
    help="Operate a bruno-memory store: its schema, and what it holds.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(listing.app, name="ls")
app.command()(lookup.search)
app.command()(lookup.stats)
app.command()(analytics.report)
app.command()(doctor.doctor)
app.command()(transfer.export)
app.command(name="import")(transfer.import_)
app.command()(transfer.copy)
app.command()(maintenance.erase_user)
app.command()(maintenance.reembed)


def main() -> None:
    """``bruno-memory``: exit 0 done, 1 failure, 2 usage."""
    app()
