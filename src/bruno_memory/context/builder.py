"""Fitting a turn's context into a token budget.

:func:`assemble` is pure: given the conversation's recent history, candidate memories and
candidate older messages (best first), a budget and a counter, it chooses what goes in.
The rules, in the order they apply:

1. **Always in**: the conversation's system messages and its newest user message. One
   that cannot fit is cut (its start kept, :data:`~bruno_memory.context.window.CUT_MARKER`
   appended), the longest first; never dropped. A budget too small even for their
   overheads is an :class:`~bruno_memory.errors.InvalidInputError`.
2. **Shares**: the strategy gives memories, recalled messages and summaries a share of
   what is left (:data:`SHARES`); memories are taken best first while they fit theirs.
3. **Summaries**: of the summaries no higher level covers, those of history older than the
   window (their first message is not in it) are taken newest first, without a gap, while
   they fit their share; chronological in the result. The window then goes back no
   further than the first message of the newest one taken; one whose span the window
   holds whole is left out as a duplicate.
4. **Window**: the newest messages, going back without gaps, while they fit the window's
   share (with messages to recall; at least the newest :data:`MIN_WINDOW` where they fit)
   or what the memories, summaries and the recall share leave (without).
5. **Recall**: candidates older than the window, best first, within what the window's own
   share leaves; chronological in the result, each once. The window then takes what recall
   did not use.
6. **Check**: the exact count of :meth:`ContextWindow.to_messages` decides; while it is
   over budget, the last recalled message, then the last memory, then the oldest summary,
   then the oldest window message goes. Nothing is ever over budget.
7. **Top-up**: a note's lines are counted one by one, which overestimates the note (a
   line's leading newline often merges with the end of the line before it), so the exact
   count usually leaves room. The candidates not yet recalled are taken into it, best
   first, as recall took them, and the result is checked again (rule 6), up to
   :data:`TOP_UPS` times or until a round takes nothing.

A share the memories or the summaries do not use goes to recall when there are messages
to recall (the window keeps its own share, what the three others leave), and what recall
does not use goes to the window.

Everything considered and left out is in ``omitted`` with its reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bruno_core.models.memory import MemoryEntry
from bruno_core.models.message import Message, MessageRole

from bruno_memory.context.summaries import Summary
from bruno_memory.context.tokens import (
    REPLY_PRIMING,
    TokenCounter,
    message_tokens,
    prompt_tokens,
)
from bruno_memory.context.window import (
    CUT_MARKER,
    MEMORY_HEADER,
    RECALL_HEADER,
    SUMMARY_HEADER,
    ContextStrategy,
    Omission,
    memory_line,
    prompt,
    recall_day,
    recall_line,
    recall_lines,
    summary_line,
)
from bruno_memory.errors import InvalidInputError

#: Shares of the free budget (after the messages that are always in) that memories,
#: recalled messages and summaries may take, per strategy; the window has the rest and
#: what they leave.
SHARES: dict[ContextStrategy, tuple[float, float, float]] = {
    "recent": (0.0, 0.0, 0.25),
    "semantic": (0.3, 0.6, 0.05),
    "importance": (0.45, 0.0, 0.1),
    "hybrid": (0.2, 0.55, 0.1),
}


#: Newest messages the window keeps before recall, where they fit: the last few turns.
MIN_WINDOW = 6
#: Most rounds of the top-up (rule 7), each one exact count of the prompt.
TOP_UPS = 3

_Item = TypeVar("_Item", MemoryEntry, Message, Summary)


@dataclass(frozen=True)
class Candidates:
    """What a context may hold."""

    history: Sequence[Message]  # chronological: the conversation's newest messages
    memories: Sequence[MemoryEntry] = ()  # best first
    recalled: Sequence[Message] = ()  # older messages relevant to the query, best first
    summaries: Sequence[Summary] = ()  # the frontier: uncovered summaries, chronological


@dataclass
class Assembly:
    """What :func:`assemble` chose."""

    window: list[Message]
    memories: list[MemoryEntry]
    recalled: list[Message]
    summaries: list[Summary]
    token_count: int
    omitted: list[Omission] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)

    def to_messages(self) -> list[Message]:
        """The prompt, ordered as :meth:`ContextWindow.to_messages` orders it."""
        return prompt(self.window, self.summaries, self.memories, self.recalled)


def assemble(
    candidates: Candidates, *, budget: int, counter: TokenCounter, strategy: ContextStrategy
) -> Assembly:
    """The context that fits ``budget`` tokens (see the module's rules)."""
    history, cut = _fit_required(list(candidates.history), budget, counter)
    required = _required(history)
    cost = {m.id: message_tokens(counter, m) for m in history}
    free = budget - prompt_tokens(counter, [m for m in history if m.id in required])
    if not required:
        free -= REPLY_PRIMING
    memory_share, recall_share, summary_share = SHARES[strategy]

    window_floor = max(
        free - sum(int(free * share) for share in SHARES[strategy]),
        _newest_cost(history, required, cost, MIN_WINDOW),
    )
    memories = _take(
        candidates.memories, int(free * memory_share), counter, MEMORY_HEADER, memory_line
    )
    free -= _note_cost(counter, MEMORY_HEADER, [memory_line(m) for m in memories])
    shares = int(free * recall_share) + int(free * summary_share)
    tentative = _window(history, required, cost, free - shares)
    older = _older(candidates.summaries, tentative)
    summaries = _take(
        older, int(free * summary_share), counter, SUMMARY_HEADER, summary_line, gapless=True
    )
    free -= _note_cost(counter, SUMMARY_HEADER, [summary_line(s) for s in summaries])
    starts = {s.first_message_id for s in summaries}
    window_first = (
        min(window_floor, free) if candidates.recalled else free - int(free * recall_share)
    )
    window = _window(history, required, cost, window_first, starts)
    in_window = {w.id for w in window}
    recalled = _take(
        [m for m in candidates.recalled if m.id not in in_window],
        free - _optional_cost(window, required, cost),
        counter,
        RECALL_HEADER,
        recall_line,
        group=recall_day,
    )
    free -= _note_cost(counter, RECALL_HEADER, recall_lines(recalled))
    window = _window(history, required, cost, free, starts)  # what recall left
    recalled = [m for m in recalled if m.id not in {w.id for w in window}]
    summaries = sorted(summaries, key=lambda s: s.span_start)

    assembly = _checked(
        Assembly(window, memories, recalled, summaries, 0), required, budget, counter
    )
    _top_up(assembly, candidates.recalled, required, budget, counter)
    assembly.cut = cut
    assembly.omitted = _omissions(candidates, assembly, counter, cost)
    return assembly


def _older(summaries: Sequence[Summary], window: Sequence[Message]) -> list[Summary]:
    """The summaries of history older than ``window``, newest first: those whose first
    message is not in it (spans are contiguous and the window reaches the newest message,
    so a summary whose first message is in the window is in it whole)."""
    shown = {m.id for m in window if m.role != MessageRole.SYSTEM}
    return [s for s in reversed(summaries) if s.first_message_id not in shown]


def _required(history: Sequence[Message]) -> set[uuid.UUID]:
    """Ids of the messages always in: system messages and the newest user message."""
    ids = {m.id for m in history if m.role == MessageRole.SYSTEM}
    users = [m for m in history if m.role == MessageRole.USER]
    if users:
        ids.add(users[-1].id)
    return ids


def _fit_required(
    history: list[Message], budget: int, counter: TokenCounter
) -> tuple[list[Message], list[str]]:
    """The history with its required messages cut, the longest first, until they fit;
    and the ids of those cut."""
    required = _required(history)
    original = {m.id: m.content for m in history if m.id in required}
    current = {m.id: m for m in history if m.id in required}
    spent: set[uuid.UUID] = set()  # cut down to the marker: nothing left to take
    while (excess := prompt_tokens(counter, list(current.values())) - budget) > 0:
        open_ = [m for m in current.values() if m.id not in spent]
        if not open_:
            raise InvalidInputError(
                "max_tokens leaves no room for the conversation's system messages and its "
                "newest user message, even cut",
                details={"budget": budget, "required": len(current)},
            )
        longest = max(open_, key=lambda m: counter.count(m.content))
        keep = counter.count(longest.content) - excess - counter.count(CUT_MARKER) - 1
        content = counter.truncate(original[longest.id], max(keep, 0)) + CUT_MARKER
        if keep <= 0:
            spent.add(longest.id)
        current[longest.id] = longest.model_copy(update={"content": content})
    cut = [str(key) for key in current if current[key].content != original[key]]
    return [current.get(m.id, m) for m in history], cut


def _take(
    items: Sequence[_Item],
    allowance: int,
    counter: TokenCounter,
    header: str,
    line: Any,
    *,
    gapless: bool = False,
    group: Any = None,
    opened: Collection[str] | None = None,
) -> list[_Item]:
    """The best items, in order, while their note fits ``allowance`` (skipping one that does
    not fit for a smaller one after it, unless ``gapless``: then the first that does not fit
    ends the list). With ``group``, an item's note line sits under its group's line, which
    the first item of the group pays for. ``opened``: the groups of a note already in the
    context (its header paid for); None when the note is not there yet."""
    chosen: list[_Item] = []
    groups: set[str] = set(opened or ())
    spent = 0
    base = (
        0
        if opened is not None
        else message_tokens(counter, Message(role=MessageRole.SYSTEM, content=header))
    )
    for item in items:
        extra = counter.count("\n" + line(item)) + (0 if chosen else base)
        key = None if group is None else group(item)
        if key is not None and key not in groups:
            extra += counter.count("\n" + key)
        if spent + extra <= allowance:
            chosen.append(item)
            spent += extra
            if key is not None:
                groups.add(key)
        elif gapless:
            break
    return chosen


def _window(
    history: Sequence[Message],
    required: set[uuid.UUID],
    cost: dict[uuid.UUID, int],
    allowance: int,
    stops: Collection[uuid.UUID] = (),
) -> list[Message]:
    """The required messages and the newest others, going back without a gap, while they
    fit ``allowance`` and until one of ``stops`` (the first message of a summary shown,
    which then stays the summary's to tell); chronological."""
    taken = set(required)
    spent = 0
    for message in reversed(history):
        if message.id in required:
            continue
        if spent + cost[message.id] > allowance or message.id in stops:
            break
        spent += cost[message.id]
        taken.add(message.id)
    return [m for m in history if m.id in taken]


def _newest_cost(
    history: Sequence[Message], required: set[uuid.UUID], cost: dict[uuid.UUID, int], count: int
) -> int:
    """What the newest ``count`` messages that are not required cost."""
    optional = [m for m in history if m.id not in required][-count:]
    return sum(cost[m.id] for m in optional)


def _optional_cost(
    window: Sequence[Message], required: set[uuid.UUID], cost: dict[uuid.UUID, int]
) -> int:
    return sum(cost[m.id] for m in window if m.id not in required)


def _note_cost(counter: TokenCounter, header: str, lines: list[str]) -> int:
    if not lines:
        return 0
    note = Message(role=MessageRole.SYSTEM, content=header)
    return message_tokens(counter, note) + sum(counter.count("\n" + line) for line in lines)


def _top_up(
    assembly: Assembly,
    recalled: Sequence[Message],
    required: set[uuid.UUID],
    budget: int,
    counter: TokenCounter,
) -> None:
    """Rule 7: ``assembly`` (checked) with the recall candidates it left out taken into the
    room its exact count leaves, best first. Each round takes what the estimate says fits,
    then :func:`_checked` counts exactly and drops the last recalled (the newest taken)
    while over budget; what a round considered is not considered again, so it ends."""
    shown = {m.id for m in assembly.window} | {m.id for m in assembly.recalled}
    left = list({m.id: m for m in recalled if m.id not in shown}.values())
    for _ in range(TOP_UPS):
        room = budget - assembly.token_count
        opened = {recall_day(m) for m in assembly.recalled} if assembly.recalled else None
        taken = _take(
            left, room, counter, RECALL_HEADER, recall_line, group=recall_day, opened=opened
        )
        if not taken:
            return
        considered = {m.id for m in taken}
        left = [m for m in left if m.id not in considered]
        assembly.recalled = [*assembly.recalled, *taken]
        _checked(assembly, required, budget, counter)


def _checked(
    assembly: Assembly, required: set[uuid.UUID], budget: int, counter: TokenCounter
) -> Assembly:
    """The assembly, counted exactly; while over budget, the last recalled message, then
    the last memory, then the oldest summary, then the oldest optional window message goes."""
    while True:
        assembly.token_count = prompt_tokens(counter, assembly.to_messages())
        if assembly.token_count <= budget:
            return assembly
        optional = [m for m in assembly.window if m.id not in required]
        if assembly.recalled:
            assembly.recalled = assembly.recalled[:-1]
        elif assembly.memories:
            assembly.memories = assembly.memories[:-1]
        elif assembly.summaries:
            assembly.summaries = assembly.summaries[1:]
        elif optional:
            assembly.window = [m for m in assembly.window if m.id != optional[0].id]
        else:  # the required messages were fitted: unreachable unless the counter drifts
            raise InvalidInputError("the context cannot fit max_tokens")


def _omissions(
    candidates: Candidates,
    assembly: Assembly,
    counter: TokenCounter,
    cost: dict[uuid.UUID, int],
) -> list[Omission]:
    """Every candidate left out, once, with what it would have cost (``cost``: the
    history's messages, already counted)."""
    included = {m.id for m in assembly.window} | {m.id for m in assembly.recalled}
    chosen_memories = {m.id for m in assembly.memories}
    omitted: list[Omission] = []
    seen: set[uuid.UUID] = set()
    for message in [*candidates.history, *candidates.recalled]:
        if message.id in included or message.id in seen:
            continue
        seen.add(message.id)
        tokens = cost.get(message.id)
        if tokens is None:
            tokens = message_tokens(counter, message)
        omitted.append(
            Omission(kind="message", item_id=str(message.id), reason="budget", tokens=tokens)
        )
    for entry in candidates.memories:
        if entry.id in chosen_memories or entry.id in seen:
            continue
        seen.add(entry.id)
        tokens = counter.count(memory_line(entry))
        omitted.append(
            Omission(kind="memory", item_id=str(entry.id), reason="budget", tokens=tokens)
        )
    chosen_summaries = {s.id for s in assembly.summaries}
    shown = {s.id for s in _older(candidates.summaries, assembly.window)}
    for summary in candidates.summaries:
        if summary.id in chosen_summaries:
            continue
        omitted.append(
            Omission(
                kind="summary",
                item_id=str(summary.id),
                reason="budget" if summary.id in shown else "duplicate",
                tokens=counter.count(summary_line(summary)),
            )
        )
    return omitted
