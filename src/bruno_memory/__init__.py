"""bruno-memory: the memory layer of the Bruno AI assistant."""
