"""Typed errors for a database that cannot be opened: which one, why, and what to do.

A connection the server or the file system refuses for a reason the URL can fix (a database
or role that does not exist, a wrong password, a missing folder) is a
:class:`~bruno_memory.errors.ConfigurationError`: retrying cannot help. One that may work
later (the server is down, full or starting) is a :class:`~bruno_memory.errors.StorageError`.
Messages and details render the URL without its password.
"""

from __future__ import annotations

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


def _server_address(url: URL) -> str:
    host = url.host or url.query.get("host") or "localhost"
    return f"{host}:{url.port or 5432}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
