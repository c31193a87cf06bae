"""Redis plumbing shared by the Redis features: clients from URLs (single server, Cluster,
Sentinel), key names with cluster hash tags, JSON codecs, settings and error translation."""

from bruno_memory.adapters.redis.client import RedisTarget, create_client, parse_redis_url
from bruno_memory.adapters.redis.keys import KeySpace
from bruno_memory.adapters.redis.settings import RedisSettings

__all__ = ["KeySpace", "RedisSettings", "RedisTarget", "create_client", "parse_redis_url"]
