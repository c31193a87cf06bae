"""The hot reads: one Core statement each, on a bare pooled connection (no ORM session).

``retrieve_messages`` and ``get_context`` run on every turn of an assistant; the ORM's
session and identity map cost more than the statement itself here, so these reads select
columns and map rows straight to bruno-core models. Columns are labelled as the mapped
attributes (``metadata_``), so :mod:`bruno_memory.mapping` reads rows and ORM objects alike.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Integer,
    Row,
    Select,
    bindparam,
    func,
    inspect,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from bruno_memory.db.lineage import Lineage, is_root
from bruno_memory.db.models import ACTIVE, Message, Session, User
from bruno_memory.mapping import MESSAGE_FIELDS

_MESSAGES = Message.__table__
_SESSIONS = Session.__table__
_USERS = User.__table__
#: The prefix of the owner's user columns in a session read.
OWNER_PREFIX = "owner_"


def _as_attributes(table: Any, prefix: str = "") -> list[Any]:
    """The table's columns labelled ``<prefix><mapped attribute name>``."""
    return [
        column.label(prefix + ("metadata_" if column.key == "metadata" else column.key))
        for column in table.c
    ]


#: The message columns reads select (:data:`~bruno_memory.mapping.MESSAGE_FIELDS`),
#: labelled as the mapped attributes.
MESSAGE_COLUMNS: tuple[ColumnElement[Any], ...] = tuple(
    inspect(Message).columns[name].label(name) for name in MESSAGE_FIELDS
)


def _window() -> Select[Any]:
    """The last ``:limit`` messages and the (at most ``:limit``) system messages before the
    first of them; the index on ``(conversation_id, role, seq)`` serves the second part."""
    recent = (
        select(*MESSAGE_COLUMNS)
        .where(
            _MESSAGES.c.conversation_id == bindparam("conversation_id"),
            _MESSAGES.c.state == ACTIVE,
        )
        .order_by(_MESSAGES.c.seq.desc())
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    first = select(func.min(recent.c.seq)).scalar_subquery()
    earlier = (
        select(*MESSAGE_COLUMNS)
        .where(
            _MESSAGES.c.conversation_id == bindparam("conversation_id"),
            _MESSAGES.c.role == "system",
            _MESSAGES.c.seq < first,
            _MESSAGES.c.state == ACTIVE,
        )
        .order_by(_MESSAGES.c.seq.desc())
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    return (
        union_all(
            select(recent, literal(True).label("is_recent")),
            select(earlier, literal(False).label("is_recent")),
        )
        .subquery()
        .select()
    )


def _session_with_owner(named: bool) -> Select[Any]:
    statement = select(
        *_as_attributes(_SESSIONS), *_as_attributes(_USERS, OWNER_PREFIX)
    ).select_from(_SESSIONS.outerjoin(_USERS, _USERS.c.id == _SESSIONS.c.user_id))
    if not named:
        return (
            statement.where(
                _SESSIONS.c.user_id == bindparam("user_id"), _SESSIONS.c.is_active.is_(True)
            )
            .order_by(_SESSIONS.c.last_activity.desc())
            .limit(1)
        )
    by_id = _SESSIONS.c.id == bindparam("wanted")
    return (
        statement.where(or_(by_id, _SESSIONS.c.conversation_id == bindparam("wanted")))
        .order_by(by_id.desc(), _SESSIONS.c.is_active.desc(), _SESSIONS.c.last_activity.desc())
        .limit(1)
    )


# Built once: a statement's cache key is then computed once, not on every call.
_WINDOW = _window()
_SESSION_NAMED = _session_with_owner(named=True)
_SESSION_LATEST_OPEN = _session_with_owner(named=False)


@functools.cache
def _across(
    depth: int,
    *,
    newest_first: bool,
    limited: bool,
    after: bool,
    before: bool,
    system: bool,
    archived: bool,
) -> Select[Any]:
    """The statement of :func:`across` for a lineage of ``depth`` hops, built once: hop
    ``i`` binds ``conversation_<i>`` and (but the first) ``upper_<i>``."""
    seq = _MESSAGES.c.seq
    order = seq.desc() if newest_first else seq.asc()
    shared: list[ColumnElement[bool]] = []
    if after:
        shared.append(seq > bindparam("after", type_=Integer))
    if before:
        shared.append(seq < bindparam("before", type_=Integer))
    if system:
        shared.append(_MESSAGES.c.role == "system")
    if not archived:
        shared.append(_MESSAGES.c.state == ACTIVE)
    parts = []
    for hop in range(depth):
        where = [_MESSAGES.c.conversation_id == bindparam(f"conversation_{hop}"), *shared]
        if hop:
            where.append(seq <= bindparam(f"upper_{hop}", type_=Integer))
        part = select(*MESSAGE_COLUMNS).where(*where).order_by(order)
        parts.append(part.limit(bindparam("limit", type_=Integer)) if limited else part)
    if depth == 1:
        return parts[0]
    merged = union_all(*(select(part.subquery()) for part in parts)).subquery()
    statement = select(merged).order_by(merged.c.seq.desc() if newest_first else merged.c.seq)
    return statement.limit(bindparam("limit", type_=Integer)) if limited else statement


async def across(
    executor: Any,
    lineage: Lineage,
    *,
    newest_first: bool,
    limit: int | None,
    after: int | None = None,
    before: int | None = None,
    system_only: bool = False,
    include_archived: bool = False,
) -> list[Row[Any]]:
    """The messages of a history (every hop of ``lineage``) strictly between the positions
    ``after`` and ``before``, ordered by position, at most ``limit`` (archived ones only
    when asked): one limited range scan per hop, merged, in one statement (built once per
    shape)."""
    statement = _across(
        len(lineage),
        newest_first=newest_first,
        limited=limit is not None,
        after=after is not None,
        before=before is not None,
        system=system_only,
        archived=include_archived,
    )
    parameters: dict[str, Any] = {"limit": limit, "after": after, "before": before}
    for number, hop in enumerate(lineage):
        parameters[f"conversation_{number}"] = hop.conversation_id
        parameters[f"upper_{number}"] = hop.upper
    return list((await executor.execute(statement, parameters)).all())


async def latest_messages(
    connection: AsyncConnection, lineage: Lineage, limit: int | None
) -> Sequence[Row[Any]]:
    """The last ``limit`` messages (all when None) of the history ``lineage`` names, newest
    first: one statement (a single range scan for a conversation that is not a branch)."""
    return await across(connection, lineage, newest_first=True, limit=limit)


async def window_rows(
    connection: AsyncConnection, lineage: Lineage, size: int
) -> tuple[list[Row[Any]], list[Row[Any]]]:
    """The history's last ``size`` messages and the (at most ``size``) system messages
    before the first of them, both oldest first: one statement (two for a branch)."""
    if not is_root(lineage):
        return await _branch_window(connection, lineage, size)
    parameters = {"conversation_id": lineage[0].conversation_id, "limit": size}
    result = await connection.execute(_WINDOW, parameters)
    rows = sorted(result.all(), key=lambda row: row.seq)
    return [row for row in rows if row.is_recent], [row for row in rows if not row.is_recent]


async def _branch_window(
    connection: AsyncConnection, lineage: Lineage, size: int
) -> tuple[list[Row[Any]], list[Row[Any]]]:
    recent = await across(connection, lineage, newest_first=True, limit=size)
    if not recent:
        return [], []
    earlier = await across(
        connection,
        lineage,
        newest_first=True,
        limit=size,
        before=recent[-1].seq,
        system_only=True,
    )
    return list(reversed(recent)), list(reversed(earlier))


async def session_with_owner(
    connection: AsyncConnection, user_id: str, wanted: str | None
) -> Row[Any] | None:
    """The session ``wanted`` names (a session id first, else the latest session of a
    conversation with that id, open ones first), or the user's latest open session when
    None; with its owner's user row (columns prefixed :data:`OWNER_PREFIX`, NULL when the
    owner has no row). One statement."""
    if wanted is None:
        result = await connection.execute(_SESSION_LATEST_OPEN, {"user_id": user_id})
    else:
        result = await connection.execute(_SESSION_NAMED, {"wanted": wanted})
    return result.first()
