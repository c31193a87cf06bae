"""A redis-py asyncio client from a URL: a single server, a Redis Cluster or Sentinel.

URLs::

    redis://[user:password@]host[:port][/db]          one server (rediss:// for TLS)
    redis://host:port?cluster=true                     a cluster, reached through that node
    redis+cluster://[user:password@]host:port,host:port   a cluster (rediss+cluster:// for TLS)
    redis+sentinel://[user:password@]host:port,host:port/service_name[/db]
                                                       the master Sentinel names (failover)

Credentials in a Sentinel URL are the master's. Every client pools its connections
(``max_connections`` per node) and applies the settings' socket timeouts, so a server that
does not answer fails the call instead of hanging it. redis-py is imported only here and
only when a client is made: without the ``redis`` extra this raises
:class:`~bruno_memory.errors.MissingDependencyError`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from bruno_memory.adapters.redis.settings import RedisSettings
from bruno_memory.errors import ConfigurationError, MissingDependencyError
from bruno_memory.settings import redacted_url

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import Pipeline
    from redis.asyncio.cluster import ClusterPipeline, RedisCluster

    RedisClient: TypeAlias = Redis | RedisCluster
    RedisPipeline: TypeAlias = Pipeline | ClusterPipeline

Topology = Literal["standalone", "cluster", "sentinel"]

_SCHEMES: dict[str, tuple[Topology, bool]] = {
    "redis": ("standalone", False),
    "rediss": ("standalone", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
}
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class RedisTarget:
    """What a Redis URL points at."""

    topology: Topology
    nodes: tuple[tuple[str, int], ...]
    ssl: bool = False
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    service_name: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    def standalone_url(self) -> str:
        """The URL redis-py's ``from_url`` reads for a single server (options kept)."""
        host, port = self.nodes[0]
        credentials = ""
        if self.username or self.password:
            credentials = f"{self.username or ''}:{self.password or ''}@"
        netloc = f"{credentials}{_host(host)}:{port}"
        scheme = "rediss" if self.ssl else "redis"
        return urlunsplit((scheme, netloc, f"/{self.db}", urlencode(self.options), ""))


def parse_redis_url(url: str, *, cluster: bool = False) -> RedisTarget:
    """Read a Redis URL (see the module docs); ``cluster=True`` makes a redis:// URL a cluster.

    Raises :class:`~bruno_memory.errors.ConfigurationError` for anything it cannot use.
    """
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ConfigurationError(
            f"not a Redis URL: {redacted_url(url)!r}",
            details={"schemes": sorted(_SCHEMES)},
        )
    topology, ssl = _SCHEMES[parts.scheme]
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    options = parse_qsl(parts.query)
    wants_cluster = cluster or any(k == "cluster" and v.lower() in _TRUE for k, v in options)
    options = [(key, value) for key, value in options if key != "cluster"]
    if wants_cluster and topology == "standalone":
        topology = "cluster"
    nodes = tuple(_node(entry, url) for entry in hostlist.split(",") if entry)
    if not nodes:
        nodes = (("127.0.0.1", 26379 if topology == "sentinel" else 6379),)
    if len(nodes) > 1 and topology == "standalone":
        raise ConfigurationError("a redis:// URL names one server; use redis+cluster://")
    path = [unquote(piece) for piece in parts.path.split("/") if piece]
    service_name = None
    if topology == "sentinel":
        if not path:
            raise ConfigurationError("a redis+sentinel:// URL needs /service_name")
        service_name, path = path[0], path[1:]
    db = _database(path, url)
    if topology == "cluster" and db != 0:
        raise ConfigurationError("Redis Cluster has database 0 only")
    return RedisTarget(
        topology=topology,
        nodes=nodes,
        ssl=ssl,
        db=db,
        username=unquote(username) or None,
        password=unquote(password) or None,
        service_name=service_name,
        options=tuple(options),
    )


def create_client(settings: RedisSettings) -> RedisClient:
    """A pooled redis-py asyncio client for ``settings.url``; it connects on first use."""
    target = parse_redis_url(settings.url, cluster=settings.cluster)
    asyncio_redis = _import("redis.asyncio")
    common: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": settings.socket_timeout,
        "socket_connect_timeout": settings.socket_connect_timeout,
        "max_connections": settings.max_connections,
    }
    if target.topology == "standalone":
        return cast("RedisClient", asyncio_redis.Redis.from_url(target.standalone_url(), **common))
    credentials = {"username": target.username, "password": target.password, "ssl": target.ssl}
    if target.topology == "cluster":
        cluster = _import("redis.asyncio.cluster")
        startup = [cluster.ClusterNode(host, port) for host, port in target.nodes]
        return cast(
            "RedisClient", cluster.RedisCluster(startup_nodes=startup, **credentials, **common)
        )
    sentinel = _import("redis.asyncio.sentinel")
    timeouts = {key: common[key] for key in ("socket_timeout", "socket_connect_timeout")}
    watcher = sentinel.Sentinel(list(target.nodes), sentinel_kwargs=timeouts, **timeouts)
    master = watcher.master_for(target.service_name, db=target.db, **credentials, **common)
    return cast("RedisClient", master)


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError("redis", "redis") from exc


def _node(entry: str, url: str) -> tuple[str, int]:
    if entry.startswith("["):  # [::1]:6379
        host, _, rest = entry[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, _, port_text = entry.rpartition(":") if ":" in entry else (entry, "", "")
    try:
        port = int(port_text) if port_text else 6379
    except ValueError as exc:
        raise ConfigurationError(f"bad port in Redis URL {redacted_url(url)!r}") from exc
    return host or "127.0.0.1", port


def _database(path: list[str], url: str) -> int:
    if not path:
        return 0
    if len(path) > 1 or not path[0].isdigit():
        raise ConfigurationError(f"bad database number in Redis URL {redacted_url(url)!r}")
    return int(path[0])


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
