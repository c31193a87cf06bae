"""Key names. Every key starts with the configured prefix; ids are escaped so that no id can
produce another record's key or break a hash tag.

Keys of one conversation share the Redis Cluster hash tag ``{conv:<id>}``, keys of one user
``{user:<id>}`` and the store-wide search index ``{global}``: everything one Lua script
touches lives in one slot, so the scripts run unchanged on a cluster. ::

    <p>:{conv:C}:meta          hash   owner, last position (seq), message count per role (n:<role>)
    <p>:{conv:C}:messages      hash   message id -> message JSON
    <p>:{conv:C}:order         zset   message id by position
    <p>:{conv:C}:times         zset   message id by timestamp (microseconds since the epoch)
    <p>:{conv:C}:system        zset   system message ids by position
    <p>:{conv:C}:sessions      set    the keys of its session hashes
    <p>:{conv:C}:session:S     hash   session JSON (doc) and its mutable fields
    <p>:{conv:C}:refs          hash   what other slots hold about it: owner, m:<id> (terms), s:<id>
    <p>:{user:U}:profile       hash   created_at, memory counter, context (JSON) and its version
    <p>:{user:U}:conversations set    conversations the user owns (a hint)
    <p>:{user:U}:sessions      hash   session id -> conversation id (a hint)
    <p>:{user:U}:active        hash   open session id -> conversation id (a hint)
    <p>:{user:U}:memory:M      hash   memory JSON (doc), access count, index keys
    <p>:{user:U}:memories      zset   memory ids by insertion
    <p>:{user:U}:mem:<field>   zset   memory ids by importance, confidence, created, expires
    <p>:{user:U}:mem:type:T    set    memory ids (also category:C, tag:T)
    <p>:{S}:ix:<kind>:t:<term> zset   search postings of scope S ({user:U} or {global}) by weight
    <p>:{S}:ix:<kind>:n        string documents indexed in scope S (kind: msg or mem)
    <p>:{S}:tmp:<random>       zset   a script's scratch key, deleted before it returns
    <p>:session:S              string session id -> conversation id (a hint)
    <p>:ids:<kind>:<bb>        hash   message/memory id -> conversation/user (256 buckets)
    <p>:{global}:expiring      zset   conversation -> when it expires (a hint, TTL mode)
    <p>:doc:{conv:C}:M         hash   message M's search document (RediSearch engine): content
                                      (its words), user (SHA-1 of the owner); index <p>:messages
    <p>:search-engine          string the search engine the key prefix was first written with
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import unquote

_ESCAPES = str.maketrans({"%": "%25", "{": "%7B", "}": "%7D", ":": "%3A"})


def escape(value: str) -> str:
    """An id as a key part: no ':' or braces, and distinct ids stay distinct."""
    return value.translate(_ESCAPES)


def unescape(value: str) -> str:
    """Undo :func:`escape` (in an escaped key part, every '%' starts an escape)."""
    return unquote(value)


@dataclass(frozen=True)
class IndexScope:
    """The search index of one scope: a user's documents, or all of them (``{global}``)."""

    base: str

    def postings(self, kind: str, term: str) -> str:
        """The documents of ``kind`` holding ``term``, scored by term weight."""
        return f"{self.base}:ix:{kind}:t:{term}"

    def documents(self, kind: str) -> str:
        """How many documents of ``kind`` the scope indexes (for inverse document frequency)."""
        return f"{self.base}:ix:{kind}:n"

    def temporary(self) -> str:
        """A scratch key in the scope's slot (scripts delete it before they return)."""
        return f"{self.base}:tmp:{uuid.uuid4().hex}"


@dataclass(frozen=True)
class ConversationKeys:
    """The keys of one conversation (one slot)."""

    base: str

    @property
    def meta(self) -> str:
        return f"{self.base}:meta"

    @property
    def messages(self) -> str:
        return f"{self.base}:messages"

    @property
    def order(self) -> str:
        return f"{self.base}:order"

    @property
    def times(self) -> str:
        return f"{self.base}:times"

    @property
    def system(self) -> str:
        return f"{self.base}:system"

    @property
    def sessions(self) -> str:
        return f"{self.base}:sessions"

    @property
    def refs(self) -> str:
        return f"{self.base}:refs"

    def session(self, session_id: str) -> str:
        """The hash of one session."""
        return f"{self.base}:session:{escape(session_id)}"

    def fixed(self) -> list[str]:
        """Every key of the conversation but its sessions' hashes, in the scripts' KEYS order."""
        return [self.meta, self.messages, self.order, self.times, self.system, self.sessions]


@dataclass(frozen=True)
class UserKeys(IndexScope):
    """The keys of one user (one slot); the user's search index is part of it."""

    @property
    def profile(self) -> str:
        return f"{self.base}:profile"

    @property
    def conversations(self) -> str:
        return f"{self.base}:conversations"

    @property
    def sessions(self) -> str:
        return f"{self.base}:sessions"

    @property
    def active(self) -> str:
        return f"{self.base}:active"

    @property
    def memories(self) -> str:
        return f"{self.base}:memories"

    @property
    def memory_prefix(self) -> str:
        """What every memory hash key of the user starts with (the id follows)."""
        return f"{self.base}:memory:"

    def memory(self, memory_id: uuid.UUID) -> str:
        return f"{self.memory_prefix}{memory_id}"

    def memory_order(self, field: str) -> str:
        """Memory ids scored by ``importance``, ``confidence``, ``created`` or ``expires``."""
        return f"{self.base}:mem:{field}"

    def memory_set(self, field: str, value: str) -> str:
        """Memory ids whose ``type``, ``category`` or ``tag`` is ``value``."""
        return f"{self.base}:mem:{field}:{escape(value)}"


class KeySpace:
    """All key names under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.global_index = IndexScope(f"{prefix}:{{global}}")

    def conversation(self, conversation_id: str) -> ConversationKeys:
        return ConversationKeys(f"{self.prefix}:{{conv:{escape(conversation_id)}}}")

    def user(self, user_id: str) -> UserKeys:
        return UserKeys(f"{self.prefix}:{{user:{escape(user_id)}}}")

    def session_locator(self, session_id: str) -> str:
        return f"{self.prefix}:session:{escape(session_id)}"

    def registry(self, kind: str, item_id: uuid.UUID) -> str:
        """The bucket (one of 256 hashes) recording where the message or memory lives."""
        return f"{self.prefix}:ids:{kind}:{item_id.hex[:2]}"

    @property
    def expiring(self) -> str:
        return f"{self.global_index.base}:expiring"

    # -- the RediSearch engine ---------------------------------------------------------------

    @property
    def search_engine(self) -> str:
        """The engine (``redisearch`` or ``index``) the key prefix was first written with."""
        return f"{self.prefix}:search-engine"

    @property
    def message_index(self) -> str:
        """The name of the RediSearch index of the messages' search documents."""
        return f"{self.prefix}:messages"

    @property
    def message_documents(self) -> str:
        """What every message search document key starts with (the index's PREFIX)."""
        return f"{self.prefix}:doc:"

    def message_document_prefix(self, conversation_id: str) -> str:
        """What the search document keys of a conversation's messages start with (the
        message id follows); they share the conversation's slot (its hash tag)."""
        return f"{self.message_documents}{{conv:{escape(conversation_id)}}}:"

    def message_document(self, conversation_id: str, message_id: object) -> str:
        return f"{self.message_document_prefix(conversation_id)}{message_id}"

    def document_ids(self, key: str) -> tuple[str, str]:
        """``(conversation id, message id)`` of a :meth:`message_document` key."""
        tagged, _, message_id = key[len(self.message_documents) :].rpartition(":")
        return unescape(tagged[len("{conv:") : -1]), message_id
