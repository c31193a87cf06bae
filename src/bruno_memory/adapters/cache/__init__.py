"""Caches of read views (conversation windows) in front of the store.

- :class:`EntityCache` is the port; views belong to entities (a conversation) and a write
  changes the entity's version, which makes all its views stale at once.
- Views are checked against the entity's version *in the database*, which every write
  changes in its own transaction: :class:`RedisEntityCache` keeps views in Redis and
  :class:`LocalEntityCache` in process memory in front of it; neither can serve a view
  older than a committed write, whatever happened to Redis or to the writer.
"""

from bruno_memory.adapters.cache.base import CacheStats, Entity, EntityCache, read_through

__all__ = ["CacheStats", "Entity", "EntityCache", "read_through"]
