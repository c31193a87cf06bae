"""Benchmarks of bruno-memory, each measured beside the raw database driver doing the same work.

Run from the repository root, e.g. ``python -m benchmarks.foundation --quick``.
"""
