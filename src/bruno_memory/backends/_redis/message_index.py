"""Keeping message search in step with writes, for the engine in use (see :mod:`.engine`).

:class:`Postings` (the ``index`` engine): a message's terms are posted, weighted, in the
global scope and in its owner's scope. Those live outside the conversation's slot, so they
are hints: written before the commit script, removed when it refuses, after a delete, and
verified when read (:mod:`.message_search`).

:class:`Documents` (RediSearch): the conversation's scripts write, tag and delete its
messages' search documents in the same atomic step as the messages, so nothing is posted
before a commit nor undone after a refusal; only the documents of a conversation that
expired (Redis dropped its keys, not its documents) are deleted here, by the sweeper.

Both receive messages as ``(message id, {term: weight})`` entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from bruno_memory.adapters.redis.keys import IndexScope
from bruno_memory.backends._redis.context import RedisContext
from bruno_memory.backends._redis.redisearch import document_text
from bruno_memory.backends._redis.textindex import (
    member,
    queue_postings,
    unweighted,
)
from bruno_memory.terms import document_terms

if TYPE_CHECKING:
    from bruno_memory.adapters.redis.client import RedisPipeline

#: Index kind of messages.
MESSAGES = "msg"

Entry = tuple[str, Mapping[str, float]]


class MessageIndex(Protocol):
    #: Whether messages are indexed by the writer, before their commit script (so claiming
    #: a conversation needs its messages).
    posts: bool

    def describe(self, content: str) -> tuple[dict[str, float], str]:
        """A message's term weights, and what the commit script records of it (its index
        terms, or the words of its search document)."""
        ...

    def queue(
        self,
        pipe: RedisPipeline,
        conversation_id: str,
        entries: Sequence[Entry],
        owner: str | None,
        *,
        everywhere: bool,
    ) -> None:
        """Queue indexing uncommitted messages for ``owner`` (and globally: ``everywhere``)."""
        ...

    async def remove(
        self, conversation_id: str, entries: Sequence[Entry], owner: str | None, *, everywhere: bool
    ) -> None:
        """Unindex uncommitted messages (their commit was refused, or their owner moved)."""
        ...

    async def cleared(
        self, conversation_id: str, owner: str | None, messages: Sequence[tuple[str, list[str]]]
    ) -> None:
        """Unindex ``(message id, terms)`` that ``clear_conversation.lua`` deleted."""
        ...

    async def forget(
        self, conversation_id: str, owner: str | None, messages: Sequence[tuple[str, list[str]]]
    ) -> None:
        """Unindex ``(message id, terms)`` of a conversation that is gone (expired or
        dropped)."""
        ...


class Postings:
    """The inverted index's postings of messages (the ``index`` engine)."""

    posts = True

    def __init__(self, context: RedisContext) -> None:
        self._context = context

    def describe(self, content: str) -> tuple[dict[str, float], str]:
        weights = document_terms(content)
        return weights, " ".join(weights)

    def _scopes(self, owner: str | None, *, everywhere: bool) -> list[IndexScope]:
        """The global scope (``everywhere``) and the owner's (if any)."""
        keys = self._context.keys
        return [keys.global_index] * everywhere + ([keys.user(owner)] if owner else [])

    def queue(
        self,
        pipe: RedisPipeline,
        conversation_id: str,
        entries: Sequence[Entry],
        owner: str | None,
        *,
        everywhere: bool,
        add: bool = True,
    ) -> None:
        documents = [(member(message_id, conversation_id), w) for message_id, w in entries]
        for scope in self._scopes(owner, everywhere=everywhere):
            queue_postings(pipe, scope, MESSAGES, documents, add=add)

    async def remove(
        self, conversation_id: str, entries: Sequence[Entry], owner: str | None, *, everywhere: bool
    ) -> None:
        if not entries or not self._scopes(owner, everywhere=everywhere):
            return
        pipe = self._context.pipeline()
        self.queue(pipe, conversation_id, entries, owner, everywhere=everywhere, add=False)
        await pipe.execute()

    async def cleared(
        self, conversation_id: str, owner: str | None, messages: Sequence[tuple[str, list[str]]]
    ) -> None:
        await self.remove(conversation_id, _unweighted(messages), owner, everywhere=True)

    async def forget(
        self, conversation_id: str, owner: str | None, messages: Sequence[tuple[str, list[str]]]
    ) -> None:
        await self.remove(conversation_id, _unweighted(messages), owner, everywhere=True)


class Documents:
    """The messages' RediSearch search documents, kept by the conversation's scripts."""

    posts = False

    def __init__(self, context: RedisContext) -> None:
        self._context = context

    def describe(self, content: str) -> tuple[dict[str, float], str]:
        return {}, document_text(content)

    def queue(
        self,
        pipe: RedisPipeline,
        conversation_id: str,
        entries: Sequence[Entry],
        owner: str | None,
        *,
        everywhere: bool,
    ) -> None:
        return  # the commit script writes the documents

    async def remove(
        self, conversation_id: str, entries: Sequence[Entry], owner: str | None, *, everywhere: bool
    ) -> None:
        return  # nothing was written before the commit

    async def cleared(
        self, conversation_id: str, owner: str | None, messages: Sequence[tuple[str, list[str]]]
    ) -> None:
        return  # the clear script deleted the documents

    async def forget(
        self, conversation_id: str, owner: str | None, messages: Sequence[tuple[str, list[str]]]
    ) -> None:
        await self.delete((conversation_id, message_id) for message_id, _ in messages)

    async def delete(self, messages: Iterable[tuple[str, str]]) -> None:
        """Delete the search documents of ``(conversation id, message id)`` that are gone."""
        keys = [self._context.keys.message_document(*message) for message in messages]
        if keys:
            await self._context.client.delete(*keys)


def message_index(context: RedisContext) -> MessageIndex:
    """The message index of the engine the context uses."""
    return Postings(context) if context.redisearch is None else Documents(context)


def _unweighted(messages: Sequence[tuple[str, list[str]]]) -> list[Entry]:
    return [(message_id, unweighted(terms)) for message_id, terms in messages]
