"""Adapters behind small ports: vector indexes, embedders (and, later, caches and event sinks)."""
