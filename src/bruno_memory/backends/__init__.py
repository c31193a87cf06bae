"""Storages: implementations of the storage port (:mod:`bruno_memory.ports.storage`).

- :mod:`bruno_memory.backends.sql`: SQLite and PostgreSQL, the system of record.
- :mod:`bruno_memory.backends.redis`: Redis alone (Lua scripts over keys).
- :mod:`bruno_memory.backends.memory`: plain Python dicts (``memory://``), the reference.

- :mod:`bruno_memory.backends.fallback`: a fallback chain over several of them, the first
  that answers when it opens.

:mod:`bruno_memory.bootstrap` chooses one by the URL's scheme.
"""
