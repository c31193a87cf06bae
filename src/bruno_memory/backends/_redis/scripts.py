"""The Lua scripts: each write of a conversation or a user's memories is one script, run
atomically in the slot of the keys it is given (so also on Redis Cluster).

Scripts live in ``lua/``; a script is its file prefixed by the shared files it names.
redis-py runs them with EVALSHA and loads them on first use (also after a restart).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

    from bruno_memory.adapters.redis.client import RedisClient, RedisPipeline

#: Each script and the shared files that precede it.
SCRIPTS: dict[str, tuple[str, ...]] = {
    "append_messages": ("conversation",),
    "claim_conversation": ("conversation",),
    "clear_conversation": ("conversation",),
    "drop_conversation": ("conversation",),
    "open_session": ("conversation",),
    "end_session": ("conversation",),
    "read_messages": (),
    "postings": (),
    "rank": ("ranking",),
    "put_memory": ("memory",),
    "drop_memory": ("memory",),
    "select_memories": ("ranking",),
    "touch_memories": (),
    "set_user_context": (),
    "page_members": (),
}


@cache
def source(name: str) -> str:
    """The Lua text of script ``name``, shared parts included."""
    folder = resources.files(__package__).joinpath("lua")
    parts = [*SCRIPTS[name], name]
    return "\n".join(folder.joinpath(f"{part}.lua").read_text("utf-8") for part in parts)


class Scripts:
    """The scripts, registered on one client."""

    def __init__(self, client: RedisClient) -> None:
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script(source(name)) for name in SCRIPTS
        }

    @staticmethod
    def queue(pipe: RedisPipeline, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Queue script ``name`` on a pipeline (as EVAL: a pipeline cannot reload a script
        that a restarted server forgot)."""
        pipe.eval(source(name), len(keys), *keys, *args)

    async def run(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> list[Any]:
        """Run script ``name``; its reply (a Lua table) as a list."""
        reply = await self._scripts[name](keys=list(keys), args=list(args))
        return list(reply or [])
