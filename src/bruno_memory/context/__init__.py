"""The context engine: what an LLM sees on each turn, within its token budget."""
