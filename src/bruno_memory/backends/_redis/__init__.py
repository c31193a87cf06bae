"""Parts of the Redis-only backend (:class:`bruno_memory.backends.redis.RedisStorage`),
one module per concern; see ``docs/redis.md`` for the data layout."""
