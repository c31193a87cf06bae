"""Ports: the small protocols the facade and the rules talk to, implemented by adapters."""
