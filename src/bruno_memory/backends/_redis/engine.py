"""Choosing the message search engine when the backend opens.

``redisearch``: the server's RediSearch module (:mod:`.redisearch`). ``index``: inverted
indexes kept by the backend's own scripts (:mod:`.textindex`), on any Redis. With the
``search_engine`` setting ``auto``, RediSearch is used when the server has it and is not a
cluster: open-source RediSearch indexes only the keys of its own node, so on a cluster a
search would see one node's messages.

The engine a key prefix is first written with is recorded (``<p>:search-engine``) and kept:
messages written for one engine are not indexed for the other, so a server that gains (or
loses) the module, or a setting that names the other engine, must not switch a prefix
silently. A prefix holding messages from before the record existed is an ``index`` one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.backends._redis.context import logger
from bruno_memory.backends._redis.message_index import MESSAGES
from bruno_memory.backends._redis.redisearch import RediSearch, create_message_index, find_module
from bruno_memory.errors import ConfigurationError

if TYPE_CHECKING:
    from bruno_memory.adapters.redis.client import RedisClient

Engine = Literal["redisearch", "index"]
ENGINES: tuple[Engine, ...] = ("redisearch", "index")


def decide(
    wanted: str, recorded: str | None, module: RediSearch | None, *, cluster: bool
) -> Engine:
    """The engine for a prefix: ``wanted`` (a setting: ``auto``, ``redisearch`` or
    ``index``), ``recorded`` for the prefix (or None), the server's ``module``.

    Raises :class:`ConfigurationError` when the setting contradicts the record, or names
    RediSearch where it cannot serve (no module, or a cluster).
    """
    if recorded is not None and recorded not in ENGINES:
        raise ConfigurationError(f"unknown search engine {recorded!r} recorded for the prefix")
    if wanted != "auto" and recorded is not None and wanted != recorded:
        raise ConfigurationError(
            f"the key prefix was written with the {recorded!r} search engine; "
            f"search_engine={wanted!r} cannot read it (use 'auto', or a new key prefix)",
            details={"recorded": recorded, "wanted": wanted},
        )
    available = module is not None and not cluster
    engine: Engine
    if recorded is not None:
        engine = "redisearch" if recorded == "redisearch" else "index"
    elif wanted == "auto":
        engine = "redisearch" if available else "index"
    else:
        engine = "redisearch" if wanted == "redisearch" else "index"
    if engine == "redisearch" and not available:
        where = "a Redis Cluster" if cluster else "a server without the RediSearch module"
        raise ConfigurationError(
            f"the RediSearch search engine cannot run on {where}"
            + (" (the key prefix was written with it)" if recorded else ""),
            details={"cluster": cluster},
        )
    return engine


async def open_search(
    client: RedisClient, keys: KeySpace, wanted: str, *, cluster: bool
) -> RediSearch | None:
    """Choose the engine for ``keys``' prefix (recording it on first use) and, for
    RediSearch, create the index if needed. Returns the module, or None for the index."""
    module = None if cluster else await find_module(client)
    pipe = client.pipeline(transaction=False)
    pipe.get(keys.search_engine)
    pipe.exists(keys.global_index.documents(MESSAGES))
    recorded, legacy = await pipe.execute()  # the client decodes replies: str
    if recorded is None and legacy:
        recorded = "index"
    engine = decide(wanted, recorded, module, cluster=cluster)
    if recorded is None and not await client.set(keys.search_engine, engine, nx=True):
        recorded = cast("str | None", await client.get(keys.search_engine))  # recorded meanwhile
        engine = decide(wanted, recorded, module, cluster=cluster)
    if engine == "index":
        logger.info("prefix %r: messages are searched with the inverted index", keys.prefix)
        return None
    assert module is not None
    created = await create_message_index(client, keys)
    logger.info(
        "prefix %r: messages are searched with RediSearch %s (index %r, %s)",
        keys.prefix,
        module.version or "(version unknown)",
        keys.message_index,
        "created" if created else "exists",
    )
    return module
