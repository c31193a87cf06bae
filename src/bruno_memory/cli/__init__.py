"""The ``bruno-memory`` command line (typer + rich); also ``python -m bruno_memory``.

- ``db``: the packaged Alembic revisions (:mod:`bruno_memory.cli.db`);
- ``ls``: what is stored (:mod:`bruno_memory.cli.listing`);
- ``search``, ``stats``: looking into it (:mod:`bruno_memory.cli.lookup`);
- ``report``: the analytics as one HTML file of charts (:mod:`bruno_memory.cli.analytics`);
- ``doctor``: what each configured part is and whether it works (:mod:`bruno_memory.cli.doctor`).

Every command takes ``--url`` (else ``BRUNO_MEMORY_DATABASE_URL``, else the default SQLite
file) and ``--json``. Exit codes: 0 done, 1 failure (one line on stderr, no traceback),
2 usage.
"""

from __future__ import annotations

from bruno_memory.cli.app import app, main

__all__ = ["app", "main"]
