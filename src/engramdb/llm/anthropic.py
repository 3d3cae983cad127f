"""Anthropic's Messages API over plain httpx (no SDK). Structured output is one forced tool
call whose ``input_schema`` is the pydantic schema; its input comes back as JSON text."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import BaseModel

from engramdb.errors import ConfigError
from engramdb.llm.base import ChatMessage, Completion, LLMSettings
from engramdb.llm.clients import HttpProvider, LoopClients, merge_options
from engramdb.llm.retry import RetryPolicy
from engramdb.llm.structured import inline_refs, schema_name_for

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_VERSION = "2023-06-01"
DEFAULT_MODEL = "claude-haiku-4-5"
# The Messages API requires max_tokens; extraction replies for long chats need room.
DEFAULT_MAX_TOKENS = 4096


def _image(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        media_type, data = url[5:].split(";base64,", 1)
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _blocks(msg: ChatMessage) -> list[dict[str, Any]]:
    blocks = [_image(url) for url in msg.images]
    if msg.content:
        blocks.append({"type": "text", "text": msg.content})
    return blocks


def split_messages(messages: list[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """System text, and the other messages as alternating turns (runs of one role merged,
    since the API wants user and assistant to alternate)."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    turns: list[dict[str, Any]] = []
    for msg in messages:
        if msg.role == "system":
            continue
        if turns and turns[-1]["role"] == msg.role:
            turns[-1]["content"].extend(_blocks(msg))
        else:
            turns.append({"role": msg.role, "content": _blocks(msg)})
    return system, turns


class AnthropicLLM(HttpProvider):
    """Claude over ``POST /v1/messages``.

    Example::

        llm = AnthropicLLM(LLMSettings(provider="anthropic", model="claude-haiku-4-5"))

    The key comes from ``api_key`` or ``$ANTHROPIC_API_KEY``; ``api_version`` sets the
    ``anthropic-version`` header.
    """

    def __init__(
        self, settings: LLMSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        key = settings.resolve_api_key("ANTHROPIC_API_KEY")
        if not key and not settings.base_url:
            raise ConfigError("LLM provider 'anthropic' needs api_key (or $ANTHROPIC_API_KEY)")
        base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        # Accept both "https://api.anthropic.com" and ".../v1" as base_url.
        self._path = "/messages" if base_url.endswith("/v1") else "/v1/messages"
        self.provider = settings.provider
        self.model = settings.model or DEFAULT_MODEL
        self._settings = settings
        self._policy = RetryPolicy.from_settings(settings)
        headers = {
            "content-type": "application/json",
            "anthropic-version": settings.api_version or DEFAULT_VERSION,
        }
        if key:
            headers["x-api-key"] = key
        headers.update(settings.headers)
        self._clients = LoopClients(
            lambda: httpx.AsyncClient(
                base_url=base_url, headers=headers, timeout=settings.timeout_s, transport=transport
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
        system, turns = split_messages(messages)
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens or self._settings.max_tokens or DEFAULT_MAX_TOKENS,
            "temperature": self._settings.temperature if temperature is None else temperature,
            "messages": turns,
        }
        if system:
            body["system"] = system
        if schema is not None:
            name = schema_name_for(schema, schema_name)
            body["tools"] = [
                {
                    "name": name,
                    "description": "Record the reply. Call this exactly once.",
                    "input_schema": inline_refs(schema.model_json_schema()),
                }
            ]
            body["tool_choice"] = {"type": "tool", "name": name}
        return merge_options(body, self._settings.options)

    def parse(self, data: Any) -> Completion:
        """The forced tool call's input as JSON text (or the text blocks), and the usage."""
        blocks = data["content"]
        tool_inputs = [b["input"] for b in blocks if b.get("type") == "tool_use"]
        if tool_inputs:
            text = json.dumps(tool_inputs[0], ensure_ascii=False)
        else:
            text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        usage = data.get("usage") or {}
        return Completion(
            text=text,
            # Cached prompt tokens are reported apart from input_tokens; all were sent.
            prompt_tokens=sum(
                int(usage.get(k) or 0)
                for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
            ),
            completion_tokens=int(usage.get("output_tokens") or 0),
            model=str(data.get("model") or self.model),
            provider=self.provider,
            finish_reason=data.get("stop_reason"),
        )
