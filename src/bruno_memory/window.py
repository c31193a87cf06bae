"""The recent-message window of a conversation context, shared by every backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")


def context_window(
    recent: Sequence[Item],
    earlier_system: Sequence[Item],
    window: int,
    *,
    is_system: Callable[[Item], bool],
    position: Callable[[Item], int],
) -> list[Item]:
    """The last ``window`` messages, keeping earlier system messages pinned in front, like
    bruno-core's ``ConversationContext.add_message``; chronological.

    ``recent`` are the conversation's last ``window`` messages and ``earlier_system`` the
    system messages before the first of them (at least its last ``window``), both oldest
    first; ``position`` orders messages within the conversation.
    """
    if not recent:
        return []
    pinned = [*earlier_system, *(item for item in recent if is_system(item))][-window:]
    room = window - len(pinned)
    others = [item for item in recent if not is_system(item)][-room:] if room > 0 else []
    return sorted([*pinned, *others], key=position)
