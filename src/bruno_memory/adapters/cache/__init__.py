"""Caches of read views (conversation windows) in front of the store.

- :class:`~bruno_memory.ports.cache.EntityCache` is the port; views belong to entities (a
  conversation) and a write changes the entity's version, which makes all its views stale
  at once.
- Views are checked against the entity's version *in the database*, which every write
  changes in its own transaction: :class:`~bruno_memory.adapters.cache.redis.RedisEntityCache`
  keeps views in Redis and :class:`~bruno_memory.adapters.cache.local.LocalEntityCache` in
  process memory in front of it; neither can serve a view older than a committed write,
  whatever happened to Redis or to the writer.
"""
