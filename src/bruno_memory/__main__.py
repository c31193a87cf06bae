"""``python -m bruno_memory``: the ``bruno-memory`` command line."""

from bruno_memory.cli import main

main()
