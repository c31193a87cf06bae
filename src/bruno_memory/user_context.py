"""Writing a user's context: what an update changes, decided once for every storage.

An update is a :class:`UserContextPatch`. ``name`` replaces the stored name when given;
``profile``, ``preferences`` and ``metadata`` are JSON merge patches (RFC 7386) of the
stored dicts: a key set to None is removed, a dict merges into a dict, anything else
replaces. Storages apply the patch atomically (read, :func:`apply_patch`, write, with no
other writer in between), so two updates of different keys both land.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bruno_core.models.context import UserContext


@dataclass(frozen=True)
class UserContextPatch:
    """What one ``update_user_context`` call changes (None: leave as it is)."""

    name: str | None = None
    profile: dict[str, Any] | None = None
    preferences: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


def apply_patch(context: UserContext, patch: UserContextPatch) -> UserContext:
    """``context`` with ``patch`` applied (a new object; ``context`` is left as it is)."""
    return context.model_copy(
        update={
            "name": context.name if patch.name is None else patch.name,
            "profile": merge_patch(context.profile, patch.profile),
            "preferences": merge_patch(context.preferences, patch.preferences),
            "metadata": merge_patch(context.metadata, patch.metadata),
        }
    )


def merge_patch(target: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
    """RFC 7386 applied to a dict: None removes a key, dicts merge, other values replace."""
    merged = dict(target)
    for key, value in (patch or {}).items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_patch(merged[key], value)
        elif isinstance(value, dict):
            merged[key] = merge_patch({}, value)
        else:
            merged[key] = value
    return merged
