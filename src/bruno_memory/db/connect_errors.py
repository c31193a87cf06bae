"""Typed errors for a database that cannot be opened: which one, why, and what to do.

A connection the server or the file system refuses for a reason the URL can fix (a database
or role that does not exist, a wrong password, a missing folder) is a
:class:`~bruno_memory.errors.ConfigurationError`: retrying cannot help. One that may work
later (the server is down, full or starting) is a :class:`~bruno_memory.errors.StorageError`.
Messages and details render the URL without its password.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL

from bruno_memory.errors import BrunoMemoryError, ConfigurationError, StorageError

#: SQLSTATE classes of a refused login (28: role, password, pg_hba.conf) and the
#: codes of a missing database (3D000) and a missing CONNECT privilege (42501).
_LOGIN_REFUSED_CLASS = "28"
_NO_DATABASE = "3D000"
_NO_PRIVILEGE = "42501"


def postgres_connect_error(url: URL, exc: Exception) -> BrunoMemoryError:
    """The typed error for ``exc``, raised by asyncpg while connecting to ``url``."""
    server = f"PostgreSQL at {_server_address(url)}"
    reason = _first_line(exc)
    details = {"url": url.render_as_string(hide_password=True), "driver_message": reason}
    sqlstate = str(getattr(exc, "sqlstate", "") or "")
    if sqlstate == _NO_DATABASE:
        return ConfigurationError(
            f"cannot connect to {server}: database {url.database!r} does not exist: "
            "create it (CREATE DATABASE) or fix the database name in the URL",
            details=details,
            cause=exc,
        )
    if sqlstate.startswith(_LOGIN_REFUSED_CLASS) or sqlstate == _NO_PRIVILEGE:
        return ConfigurationError(
            f"cannot connect to {server} as {url.username!r}: {reason}: check the user name "
            "and password in the URL, and that the role may connect to "
            f"database {url.database!r}",
            details=details,
            cause=exc,
        )
    if sqlstate:
        return StorageError(
            f"cannot connect to {server}: the server refused the connection ({reason}): "
            "try again once it accepts connections",
            details=details,
            cause=exc,
        )
    return StorageError(
        f"cannot connect to {server}: {reason}: check that the server is running and that "
        "the host and port in the URL are right",
        details=details,
        cause=exc,
    )


def sqlite_open_error(database: str, exc: Exception) -> BrunoMemoryError:
    """The typed error for ``exc``, raised by SQLite while opening the file ``database``."""
    path = Path(os.path.abspath(database))
    # A "file:" URI names its path with options: not a path to look at.
    reason = None if database.startswith("file:") else _sqlite_reason(path)
    details = {"path": str(path), "driver_message": _first_line(exc)}
    if reason is None:
        return StorageError(
            f"cannot open SQLite database {path}: {_first_line(exc)}: check that this user "
            f"may read and write it, and create files in {path.parent}",
            details=details,
            cause=exc,
        )
    return ConfigurationError(
        f"cannot open SQLite database {path}: {reason}", details=details, cause=exc
    )


def sqlite_not_a_database(database: str, exc: Exception) -> ConfigurationError:
    """The typed error for a file SQLite opened but cannot read as a database."""
    path = Path(os.path.abspath(database))
    return ConfigurationError(
        f"cannot open SQLite database {path}: the file is not a SQLite database (or is "
        "damaged or encrypted): point the URL at the store's database file",
        details={"path": str(path), "driver_message": _first_line(exc)},
        cause=exc,
    )


def _sqlite_reason(path: Path) -> str | None:
    """Why SQLite could not open ``path``, read off the file system; None when not clear.

    Only looks: nothing is created, so the database (or its folder) stays as it was.
    """
    if path.is_dir():
        return "it is a folder, not a database file: add a file name to the URL"
    folder = next(parent for parent in path.parents if parent.exists())
    if not folder.is_dir():
        return f"{folder} is a file, not a folder: fix the path in the URL"
    if folder != path.parent:
        return f"the folder {path.parent} does not exist: create it or fix the path in the URL"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return "no permission to read and write the file: fix its permissions or the URL"
    if not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"no permission to create files in the folder {folder}: "
            "fix its permissions or choose another folder"
        )
    return None


def _server_address(url: URL) -> str:
    host = url.host or url.query.get("host") or "localhost"
    return f"{host}:{url.port or 5432}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
