"""The LLM Protocol and the values that cross it: messages, completions, usage, settings.

A provider is one class with ``provider``, ``model``, ``complete`` and ``aclose``. It is
async-native; sync callers go through :func:`engramdb.llm.sync.run_sync`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from engramdb.config import LLMSettings, StructuredMode

__all__ = [
    "LLM",
    "ChatMessage",
    "ChatRole",
    "Completion",
    "LLMSettings",
    "StructuredMode",
    "Usage",
]

ChatRole = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One message sent to an LLM. ``images`` are URLs (``https:`` or ``data:``) shown with
    the text to vision-capable models."""

    role: ChatRole
    content: str
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    """One reply. For a structured call ``text`` is the JSON (Anthropic's tool input is
    serialised back to JSON text, so every provider hands the parser the same thing)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    provider: str
    # "stop", "length", "tool_use", ...: "length" means the reply was cut at max_tokens.
    finish_reason: str | None = None


@dataclass
class Usage:
    """Running totals over many calls: pass one to every call of a pipeline run."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def add(self, completion: Completion) -> None:
        """Count one completed call."""
        self.calls += 1
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens

    def merge(self, other: Usage) -> None:
        """Add another accumulator's totals to this one."""
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens


@runtime_checkable
class LLM(Protocol):
    """A chat model behind one async method.

    ``schema`` asks for a reply that is a JSON instance of that pydantic model; the
    provider uses the strongest mechanism its endpoint has (a JSON-schema response format,
    a forced tool call, a grammar) and still returns the JSON as ``Completion.text``;
    validation is the caller's job (:func:`engramdb.llm.structured.complete_structured`).

    Example::

        class Echo:
            provider = "echo"
            model = "echo-1"

            async def complete(self, messages, *, schema=None, schema_name=None,
                               temperature=None, max_tokens=None):
                return Completion(messages[-1].content, 0, 0, self.model, self.provider)

            async def aclose(self):
                pass
    """

    provider: str
    model: str

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: type[BaseModel] | None = None,
        schema_name: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        """One chat completion. ``temperature``/``max_tokens`` of None use the settings'."""
        ...

    async def aclose(self) -> None:
        """Release connections. The provider stays usable (it reconnects on demand)."""
        ...
