"""LLM config names → provider instances. The only place in the LLM layer that maps names
to classes; adding a provider is one module and one line here.

Names: ``openai``, ``anthropic``, ``litellm``, ``local``, and every OpenAI-compatible preset
(``azure``, ``ollama``, ``vllm``, ``llamacpp``, ``lmstudio``, ``groq``, ``together``,
``deepseek``, ``openrouter``), which all use :class:`~engramdb.llm.openai.OpenAILLM`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from engramdb.errors import ConfigError
from engramdb.llm.base import LLM, LLMSettings
from engramdb.llm.presets import PRESETS


def _openai_compatible(name: str) -> Callable[[LLMSettings], LLM]:
    def build(settings: LLMSettings) -> LLM:
        from engramdb.llm.openai import OpenAILLM

        return OpenAILLM(settings, PRESETS[name])

    return build


def _anthropic(settings: LLMSettings) -> LLM:
    from engramdb.llm.anthropic import AnthropicLLM

    return AnthropicLLM(settings)


def _litellm(settings: LLMSettings) -> LLM:
    from engramdb.llm.litellm import LiteLLM

    return LiteLLM(settings)


def _local(settings: LLMSettings) -> LLM:
    from engramdb.llm.local import LocalLLM

    return LocalLLM(settings)


LLMS: dict[str, Callable[[LLMSettings], LLM]] = {
    **{name: _openai_compatible(name) for name in PRESETS},
    "anthropic": _anthropic,
    "litellm": _litellm,
    "local": _local,
}


def build_llm(settings: LLMSettings | Mapping[str, Any]) -> LLM:
    """The provider ``settings`` names, ready to use.

    >>> build_llm({"provider": "ollama", "model": "qwen2.5:7b"}).provider
    'ollama'
    """
    if not isinstance(settings, LLMSettings):
        try:
            settings = LLMSettings.model_validate(dict(settings))
        except PydanticValidationError as exc:
            raise ConfigError(f"invalid LLM settings: {exc}") from exc
    try:
        factory = LLMS[settings.provider]
    except KeyError:
        raise ConfigError(
            f"unknown LLM provider {settings.provider!r}; use one of {sorted(LLMS)}"
        ) from None
    return factory(settings)
