"""The foundation measurements, each one the library beside a raw driver doing the same work.

Every function works on one database: ``memory`` is the library's store on it and ``raw``
a raw driver connection to it. Both backends run the same functions.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bruno_core.models.message import Message

from benchmarks._data import (
    CONVERSATION_LENGTH,
    Corpus,
    Query,
    conversation_id,
    owner_of,
    owners_up_to,
)
from benchmarks._stats import Call, Measurement, interleaved

if TYPE_CHECKING:
    from benchmarks._raw import RawDriver
    from bruno_memory import Memory

WRITER = "writer"  # the user owning the conversations of the write measurements
Batch = tuple[str, list[Message]]  # a conversation id and the messages to store in it


@dataclass(frozen=True)
class Plan:
    """How much of each measurement to do."""

    sizes: tuple[int, ...]  # stored messages at which reads are measured, growing
    single_messages: int = 2_000
    single_warmup: int = 100
    batch_messages: int = 10_000
    batch_repeats: int = 5  # after one untimed batch per subject
    retrieve_calls: int = 1_000
    retrieve_warmup: int = 200
    retrieve_limit: int = 20
    search_queries: int = 200  # each also run once, untimed, before the timed pass
    search_limit: int = 10
    # "none": the foundation layer alone, create_memory(url, embedder=None). "default": the
    # library's default embedder, whose background indexer then embeds every stored message
    # in this process while the timings run (the raw baselines embed nothing).
    embedder: str = "none"


async def single_writes(
    backend: str, memory: Memory, raw: RawDriver, corpus: Corpus, plan: Plan
) -> list[Measurement]:
    """One message per call (one transaction each), alternating library and raw driver."""
    calls = plan.single_warmup + plan.single_messages
    library_messages = corpus.messages("single-library", WRITER, calls)
    raw_messages = corpus.messages("single-raw", WRITER, calls)
    await raw.create_conversation("single-raw", WRITER)

    async def library(number: int) -> None:
        await memory.store_message(library_messages[number], "single-library")

    async def driver(number: int) -> None:
        await raw.store([raw_messages[number]], "single-raw", WRITER)

    samples = await interleaved(
        {"library": library, raw.name: driver}, plan.single_messages, plan.single_warmup
    )
    return [
        Measurement(backend, "store_message", subject, None, 1, times)
        for subject, times in samples.items()
    ]


async def batch_writes(
    backend: str, memory: Memory, raw: RawDriver, corpus: Corpus, plan: Plan
) -> list[Measurement]:
    """Batches of ``plan.batch_messages``, each into a new conversation, by the library and
    by every insert method of the raw driver; one untimed round, then the timed ones."""
    names = ["library", *(f"{raw.name} {method}" for method in raw.insert_methods)]
    batches: dict[str, list[Batch]] = {}
    for name in names:
        keys = [f"batch-{name.replace(' ', '-')}-{n}" for n in range(1 + plan.batch_repeats)]
        batches[name] = [(key, corpus.messages(key, WRITER, plan.batch_messages)) for key in keys]

    async def library(number: int) -> None:
        conversation, messages = batches["library"][number]
        await memory.store_messages(messages, conversation)

    subjects: dict[str, Call] = {"library": library}
    for name, method in zip(names[1:], raw.insert_methods, strict=True):
        for conversation, _ in batches[name]:
            await raw.create_conversation(conversation, WRITER)
        subjects[name] = _raw_batch(raw, batches[name], method)
    samples = await interleaved(subjects, plan.batch_repeats, warmup=1)
    return [
        Measurement(backend, "store_messages", subject, None, plan.batch_messages, times)
        for subject, times in samples.items()
    ]


def _raw_batch(raw: RawDriver, batches: list[Batch], method: str) -> Call:
    async def call(number: int) -> None:
        conversation, messages = batches[number]
        await raw.store(messages, conversation, WRITER, method)

    return call


async def fill(backend: str, memory: Memory, corpus: Corpus, start: int, stop: int) -> Measurement:
    """Grow the history from ``start`` to ``stop`` messages, a conversation per call.

    Generating the messages is not timed; each ``store_messages`` call is.
    """
    samples = []
    for index in range(start // CONVERSATION_LENGTH, stop // CONVERSATION_LENGTH):
        messages = corpus.messages(conversation_id(index), owner_of(index), CONVERSATION_LENGTH)
        started = time.perf_counter_ns()
        await memory.store_messages(messages, conversation_id(index))
        samples.append(time.perf_counter_ns() - started)
    return Measurement(
        backend, "ingest", "library", stop, CONVERSATION_LENGTH, samples, {"from_messages": start}
    )


async def retrievals(
    backend: str, memory: Memory, raw: RawDriver, corpus: Corpus, plan: Plan, stored: int
) -> list[Measurement]:
    """``retrieve_messages(conversation, limit)`` of random conversations."""
    rng = random.Random(f"{corpus.seed}:retrieve:{stored}")
    conversations = stored // CONVERSATION_LENGTH
    picks = [
        conversation_id(rng.randrange(conversations))
        for _ in range(plan.retrieve_warmup + plan.retrieve_calls)
    ]
    library_rows = await memory.retrieve_messages(picks[0], limit=plan.retrieve_limit)
    raw_rows = await raw.latest(picks[0], plan.retrieve_limit)
    _check_same([m.id for m in library_rows], [row[1] for row in raw_rows], "retrieve")

    async def library(number: int) -> None:
        await memory.retrieve_messages(picks[number], limit=plan.retrieve_limit)

    async def driver(number: int) -> None:
        await raw.latest(picks[number], plan.retrieve_limit)

    samples = await interleaved(
        {"library": library, raw.name: driver}, plan.retrieve_calls, plan.retrieve_warmup
    )
    return [
        Measurement(backend, "retrieve_messages", subject, stored, 1, times)
        for subject, times in samples.items()
    ]


async def searches(
    backend: str, memory: Memory, raw: RawDriver, corpus: Corpus, plan: Plan, stored: int
) -> list[Measurement]:
    """``search_messages(query, user_id, limit)`` of the seeded queries, each scoped to a
    random user among those with messages; every query runs once untimed, then once timed."""
    rng = random.Random(f"{corpus.seed}:search-users:{stored}")
    owners = owners_up_to(stored)
    queries = [Query(text, rng.choice(owners)) for text in corpus.queries(plan.search_queries)]
    hits: list[int] = []
    for query in queries:  # the warm-up: both must find the same messages, in the same order
        found = await memory.search_messages(query.text, query.user_id, plan.search_limit)
        rows = await raw.search(query.words, query.user_id, plan.search_limit)
        _check_same([m.id for m in found], [row[1] for row in rows], f"search {query}")
        hits.append(len(found))

    async def library(number: int) -> None:
        query = queries[number]
        await memory.search_messages(query.text, user_id=query.user_id, limit=plan.search_limit)

    async def driver(number: int) -> None:
        query = queries[number]
        await raw.search(query.words, query.user_id, plan.search_limit)

    samples = await interleaved({"library": library, raw.name: driver}, len(queries), warmup=0)
    matching = [await raw.count_matches(query.words) for query in queries]
    context = {
        "mean_results": round(statistics.fmean(hits), 2),
        "queries_without_results": hits.count(0),
        "median_matching_messages_all_users": statistics.median(matching),
        "mean_matching_messages_all_users": round(statistics.fmean(matching), 1),
    }
    return [
        Measurement(backend, "search_messages", subject, stored, 1, times, dict(context))
        for subject, times in samples.items()
    ]


def _check_same(library_ids: list[uuid.UUID], raw_ids: list[Any], what: str) -> None:
    """Stop the run if the raw statement does not find what the library finds."""
    if [str(i) for i in library_ids] != [str(uuid.UUID(str(i))) for i in raw_ids]:
        raise AssertionError(f"library and raw driver disagree on {what}")
