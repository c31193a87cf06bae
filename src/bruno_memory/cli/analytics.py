"""``bruno-memory report`` and the analytics lines of ``bruno-memory stats``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from bruno_memory.analytics.model import Analytics
from bruno_memory.analytics.report import WEEKDAY_NAMES, render
from bruno_memory.cli.output import Url, errors, run
from bruno_memory.cli.store import open_store

#: ``--since`` / ``--until``: the window's bounds (a date or a time; UTC unless it says).
Since = Annotated[
    dt.datetime | None, typer.Option("--since", help="From this date or time (UTC), inclusive.")
]
Until = Annotated[
    dt.datetime | None, typer.Option("--until", help="Until this date or time (UTC), exclusive.")
]
#: Days of growth and keywords a ``stats`` table shows.
SHOWN = 7


def summary(analytics: Analytics) -> dict[str, str]:
    """The analytics as a few ``stats`` lines (the report and ``--json`` have it all)."""
    patterns, turns = analytics.patterns, analytics.patterns.turn_taking
    days = analytics.growth.messages[-SHOWN:]
    busiest_hour = max(range(24), key=lambda hour: patterns.hours[hour])
    busiest_day = max(range(7), key=lambda day: patterns.weekdays[day])
    runs = turns.mean_run_length
    return {
        "messages per day": ", ".join(f"{d.day}: {d.count}" for d in days),
        "conversations in window": str(patterns.conversations),
        "mean conversation length": f"{patterns.mean_length:.1f}",
        "user→assistant share": f"{turns.user_to_assistant_share:.0%}",
        "mean run length": ", ".join(f"{role} {runs[role]:.2f}" for role in runs),
        "busiest hour (UTC)": f"{busiest_hour:02d}h ({patterns.hours[busiest_hour]} messages)",
        "busiest weekday (UTC)": f"{WEEKDAY_NAMES[busiest_day]} "
        f"({patterns.weekdays[busiest_day]} messages)",
        "top keywords": ", ".join(
            f"{k.word} ({k.count})" for k in analytics.topics.keywords[:SHOWN]
        ),
        "llm calls": ", ".join(f"{u.model}: {u.calls}" for u in analytics.llm),
        "llm tokens": str(sum(u.input_tokens + u.output_tokens for u in analytics.llm)),
        "embedding vectors": ", ".join(
            f"{u.model_key}: {u.messages + u.memories}" for u in analytics.embeddings
        ),
    }


def report(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    user_id: Annotated[str | None, typer.Option("--user", help="Only this user's data.")] = None,
    since: Since = None,
    until: Until = None,
    url: Url = None,
) -> None:
    """Write the analytics as ONE self-contained HTML file of charts (inline SVG: nothing is
    fetched when it is viewed)."""

    async def analyze() -> Analytics:
        async with open_store(url) as memory:
            return await memory.analytics(user_id, since=since, until=until)

    page = render(run(analyze()))
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        errors.print(f"error: cannot write {out}: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {out}")
