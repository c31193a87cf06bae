"""``bruno-memory search`` and ``bruno-memory stats``: looking into a store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any, cast, get_args

import typer

from bruno_memory.capabilities import Capability
from bruno_memory.cli.analytics import Since, Until, summary
from bruno_memory.cli.output import AsJson, Url, emit, run
from bruno_memory.cli.store import open_store
from bruno_memory.results import SearchMode
from bruno_memory.wiring import DefaultEmbedder

MODES = get_args(SearchMode)


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    user_id: Annotated[str | None, typer.Option("--user", help="Only this user's items.")] = None,
    conversation_id: Annotated[
        str | None, typer.Option("--conversation", help="Only this conversation's messages.")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help=f"One of {', '.join(MODES)} (semantic ones embed).")
    ] = "hybrid",
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many hits.")] = 10,
    url: Url = None,
    as_json: AsJson = False,
) -> None:
    """Messages and memories relevant to QUERY, best first (the library's search())."""
    if mode not in MODES:
        raise typer.BadParameter(f"must be one of {', '.join(MODES)}", param_hint="--mode")
    embeds = mode in ("hybrid", "semantic")

    async def hits() -> AsyncIterator[Mapping[str, Any]]:
        async with open_store(url, embedder=DefaultEmbedder.LOCAL if embeds else None) as memory:
            found = await memory.search(
                query,
                user_id=user_id,
                conversation_id=conversation_id,
                limit=limit,
                mode=cast(SearchMode, mode),  # checked against MODES above
            )
            for hit in found:
                item = hit.message if hit.message is not None else hit.memory
                assert item is not None
                yield {
                    "kind": hit.kind,
                    "score": round(hit.score, 4),
                    "id": item.id,
                    "content": item.content,
                }

    run(emit(hits(), ("kind", "score", "id", "content"), as_json=as_json, limit=0))


def stats(
    user_id: Annotated[
        str | None, typer.Argument(help="The user's id (the whole store when not given).")
    ] = None,
    since: Since = None,
    until: Until = None,
    url: Url = None,
    as_json: AsJson = False,
) -> None:
    """Counts of the user's messages (per role), conversations, sessions and memories, and
    the analytics of the user (or store) where the store has them: growth, conversation
    patterns, keywords, LLM and embedding usage (``--json``: all of it, under "analytics")."""

    async def counts() -> AsyncIterator[Mapping[str, Any]]:
        async with open_store(url) as memory:
            statistics: dict[str, Any] = {}
            if user_id is not None:
                statistics = await memory.get_statistics(user_id)
            analytics = None
            if Capability.ANALYTICS in memory.capabilities:
                analytics = await memory.analytics(user_id, since=since, until=until)
        if as_json:
            if analytics is not None:
                statistics["analytics"] = analytics.model_dump(mode="json")
            yield statistics
            return
        rows = statistics if analytics is None else statistics | summary(analytics)
        for key, value in rows.items():
            yield {"statistic": key, "value": value}

    run(emit(counts(), ("statistic", "value"), as_json=as_json, limit=0))
