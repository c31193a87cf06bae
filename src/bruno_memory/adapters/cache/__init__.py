"""Caches of read views (conversation windows, sessions, user context) in front of the store.

- :class:`EntityCache` is the port; views belong to entities (a conversation, a session, a
  user) and a write invalidates an entity, which invalidates all its views at once.
- :class:`RedisEntityCache` versions entities in Redis; :class:`LocalEntityCache` is an
  in-process LRU+TTL level in front of it, checked against the Redis version on every read
  (keyspace versioning: no process ever serves a view another process invalidated).
"""

from bruno_memory.adapters.cache.base import CacheStats, Entity, EntityCache, Lookup, read_through

__all__ = ["CacheStats", "Entity", "EntityCache", "Lookup", "read_through"]
