"""Any OpenAI-compatible ``/chat/completions`` endpoint, chosen by ``base_url``: OpenAI, Azure
OpenAI, Ollama, vLLM, llama.cpp server, LM Studio, Groq, Together, DeepSeek, OpenRouter.

Service differences are data (:mod:`engramdb.llm.presets`), not subclasses.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from engramdb.errors import ConfigError
from engramdb.llm.base import ChatMessage, Completion, LLMSettings
from engramdb.llm.clients import HttpProvider, LoopClients, merge_options
from engramdb.llm.presets import PRESETS, Preset
from engramdb.llm.retry import RetryPolicy
from engramdb.llm.structured import schema_instructions, schema_name_for, strict_schema


def _message(msg: ChatMessage) -> dict[str, Any]:
    if not msg.images:
        return {"role": msg.role, "content": msg.content}
    parts: list[dict[str, Any]] = [{"type": "text", "text": msg.content}] if msg.content else []
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in msg.images]
    return {"role": msg.role, "content": parts}


def with_instructions(messages: list[ChatMessage], extra: str) -> list[ChatMessage]:
    """``messages`` with ``extra`` appended to the first system message (or a new one first:
    many chat templates accept a system message only at the start)."""
    for i, msg in enumerate(messages):
        if msg.role == "system":
            merged = ChatMessage("system", f"{msg.content}\n\n{extra}", msg.images)
            return [*messages[:i], merged, *messages[i + 1 :]]
    return [ChatMessage("system", extra), *messages]


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some servers return content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    refusal = message.get("refusal")
    return refusal if isinstance(refusal, str) else ""


class OpenAILLM(HttpProvider):
    """Chat completions over HTTP with retries and structured output.

    Example (Ollama)::

        llm = OpenAILLM(LLMSettings(provider="ollama", model="qwen2.5:7b"), PRESETS["ollama"])
        completion = await llm.complete([ChatMessage("user", "Hi")])

    ``transport`` replaces the network (``httpx.MockTransport``) in tests.
    """

    def __init__(
        self,
        settings: LLMSettings,
        preset: Preset | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        preset = preset or PRESETS["openai"]
        base_url = settings.base_url or preset.base_url
        if not base_url:
            raise ConfigError(f"LLM provider {settings.provider!r} needs base_url")
        model = settings.model or preset.default_model
        if not model:
            raise ConfigError(f"LLM provider {settings.provider!r} needs model")
        key = settings.resolve_api_key(preset.api_key_env)
        # A key is only demanded for the service's own URL: the same preset pointed at a
        # local proxy or test server commonly has none.
        if preset.requires_key and not key and not settings.base_url:
            env = settings.api_key_env or preset.api_key_env
            raise ConfigError(f"LLM provider {settings.provider!r} needs api_key (or ${env})")
        self.provider = settings.provider
        self.model = model
        self._path = "/chat/completions"
        self._settings = settings
        self._structured = settings.structured_output or preset.structured
        self._policy = RetryPolicy.from_settings(settings)
        headers = {"content-type": "application/json"}
        if key:
            if preset.auth == "api-key":
                headers["api-key"] = key
            else:
                headers["authorization"] = f"Bearer {key}"
        headers.update(settings.headers)
        version = settings.api_version or preset.api_version
        params = {"api-version": version} if version and preset.auth == "api-key" else {}
        self._clients = LoopClients(
            lambda: httpx.AsyncClient(
                base_url=base_url.rstrip("/"),
                headers=headers,
                params=params,
                timeout=settings.timeout_s,
                transport=transport,
            )
        )

    def request_body(
        self,
        messages: list[ChatMessage],
        *,
        schema: type[BaseModel] | None = None,
        schema_name: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        """The JSON sent for one call (pure; exposed for tests and debugging)."""
        body: dict[str, Any] = {
            "model": self.model,
            "temperature": self._settings.temperature if temperature is None else temperature,
        }
        limit = max_tokens or self._settings.max_tokens
        if limit:
            body["max_tokens"] = limit
        if schema is not None:
            json_schema = schema.model_json_schema()
            if self._structured == "json_schema":
                strict = strict_schema(json_schema)
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": schema_name_for(schema, schema_name),
                        "schema": strict if strict is not None else json_schema,
                        "strict": strict is not None,
                    },
                }
            else:
                # The endpoint cannot hold the model to the schema, so the prompt states it.
                messages = with_instructions(messages, schema_instructions(json_schema))
                if self._structured == "json_object":
                    body["response_format"] = {"type": "json_object"}
                elif self._structured == "json_object_schema":
                    body["response_format"] = {"type": "json_object", "schema": json_schema}
        body["messages"] = [_message(m) for m in messages]
        return merge_options(body, self._settings.options)

    def parse(self, data: Any) -> Completion:
        """The first choice's message and the usage counts."""
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        return Completion(
            text=_text(choice["message"]),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            model=str(data.get("model") or self.model),
            provider=self.provider,
            finish_reason=choice.get("finish_reason"),
        )
