"""Errors raised by the LLM layer. They subclass :class:`engramdb.errors.EngramError`, so one
``except EngramError`` catches everything engramdb raises on purpose."""

from __future__ import annotations

from engramdb.errors import EngramError

# Long replies are cut in messages: enough to see what went wrong, not a wall of text.
_SHOWN = 500


def truncate(text: str, limit: int = _SHOWN) -> str:
    """``text`` cut to ``limit`` characters, saying how much was dropped."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


class LLMError(EngramError):
    """The LLM endpoint failed: a 4xx answer, retries used up, or a reply we cannot read."""

    def __init__(self, message: str, *, provider: str | None = None, status: int | None = None):
        super().__init__(message)
        self.provider = provider
        self.status = status


class LLMTimeout(LLMError):
    """Every attempt (the first and each retry) timed out or could not connect."""


class MalformedReply(LLMError):
    """A reply that is not a valid instance of the requested model.

    ``raw`` is the reply exactly as received; ``reason`` says what was wrong with it.
    """

    def __init__(self, reason: str, raw: str) -> None:
        super().__init__(f"malformed reply: {reason}; reply: {truncate(raw)!r}")
        self.reason = reason
        self.raw = raw


class ExtractionError(LLMError):
    """The LLM gave no usable structured reply, even after one repair attempt."""

    def __init__(self, provider: str, reply: str, reason: str = "malformed reply") -> None:
        super().__init__(
            f"{provider} gave no usable structured reply after one repair attempt "
            f"({reason}); last reply: {truncate(reply)!r}",
            provider=provider,
        )
        self.reply = reply
        self.reason = reason
