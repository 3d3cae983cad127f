"""LiteLLM as a provider: one more way to reach the 100+ services LiteLLM knows.

Optional: ``litellm`` is imported on first use, and a clear error says how to install it.
Retries are left to LiteLLM (``num_retries``); its timeout errors become :class:`LLMTimeout`.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from pydantic import BaseModel

from engramdb.errors import ConfigError
from engramdb.llm.base import ChatMessage, Completion, LLMSettings
from engramdb.llm.errors import LLMError, LLMTimeout
from engramdb.llm.openai import _message, with_instructions
from engramdb.llm.structured import schema_instructions, schema_name_for, strict_schema

INSTALL_HINT = "pip install 'engramdb[llm]' (or: pip install litellm)"


class LiteLLM:
    """Calls ``litellm.acompletion``; ``model`` is a LiteLLM model string such as
    ``"bedrock/anthropic.claude-3-haiku"`` or ``"gemini/gemini-2.0-flash"``."""

    def __init__(self, settings: LLMSettings) -> None:
        if importlib.util.find_spec("litellm") is None:
            raise ConfigError(f"LLM provider 'litellm' needs the litellm package: {INSTALL_HINT}")
        if not settings.model:
            raise ConfigError("LLM provider 'litellm' needs model (e.g. 'gemini/gemini-2.0-flash')")
        self.provider = "litellm"
        self.model = settings.model
        self._settings = settings
        self._module: Any = None

    def _litellm(self) -> Any:
        if self._module is None:
            self._module = importlib.import_module("litellm")
        return self._module

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: type[BaseModel] | None = None,
        schema_name: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        """One completion through LiteLLM (see :class:`engramdb.llm.base.LLM`)."""
        s = self._settings
        kwargs: dict[str, Any] = {
            "model": self.model,
            "temperature": s.temperature if temperature is None else temperature,
            "timeout": s.timeout_s,
            "num_retries": s.max_retries,
            **s.options,
        }
        if max_tokens or s.max_tokens:
            kwargs["max_tokens"] = max_tokens or s.max_tokens
        if s.base_url:
            kwargs["api_base"] = s.base_url
        key = s.resolve_api_key()
        if key:
            kwargs["api_key"] = key
        if s.headers:
            kwargs["extra_headers"] = s.headers
        if schema is not None:
            json_schema = schema.model_json_schema()
            strict = strict_schema(json_schema)
            # LiteLLM translates json_schema for each backend; the prompt copy helps the
            # backends where it can only ask for JSON.
            messages = with_instructions(messages, schema_instructions(json_schema))
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": schema_name_for(schema, schema_name),
                    "schema": strict if strict is not None else json_schema,
                    "strict": strict is not None,
                },
            }
        lib = self._litellm()
        try:
            response = await lib.acompletion(messages=[_message(m) for m in messages], **kwargs)
        except Exception as exc:
            # LiteLLM raises its own exception tree; map by class to our two kinds.
            if isinstance(exc, lib.Timeout | lib.APIConnectionError):
                raise LLMTimeout(f"litellm: {exc}", provider=self.provider) from exc
            raise LLMError(
                f"litellm: {exc}", provider=self.provider, status=getattr(exc, "status_code", None)
            ) from exc
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        return Completion(
            text=choice.message.content or "",
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            model=str(getattr(response, "model", None) or self.model),
            provider=self.provider,
            finish_reason=getattr(choice, "finish_reason", None),
        )

    async def aclose(self) -> None:
        """Nothing to close: LiteLLM owns its clients."""
