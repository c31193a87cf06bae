"""Parts of the in-memory storage (:mod:`bruno_memory.backends.memory`)."""
