"""Parts of the Redis-only backend (:class:`bruno_memory.backends.redis.RedisMemoryBackend`),
one module per concern; see ``docs/redis.md`` for the data layout."""
