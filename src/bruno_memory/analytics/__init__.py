"""Analytics of a store: the typed result of ``Memory.analytics()`` (:mod:`.model`), the
in-process latency histograms (:mod:`.latency`), offline keywords (:mod:`.keywords`) and the
self-contained HTML report (:mod:`.report`)."""

from bruno_memory.analytics.model import Analytics, Window

__all__ = ["Analytics", "Window"]
