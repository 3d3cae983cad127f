"""OpenAI-compatible endpoints as data: one entry per service, no subclasses.

``structured`` says how the endpoint is asked for JSON:

- ``json_schema``: ``response_format={"type": "json_schema", "json_schema": {...}}``
- ``json_object_schema``: ``{"type": "json_object", "schema": {...}}`` (llama.cpp, Together)
- ``json_object``: ``{"type": "json_object"}`` plus the schema in the prompt
- ``prompt``: no ``response_format`` at all, the schema in the prompt only
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engramdb.llm.base import StructuredMode


@dataclass(frozen=True)
class Preset:
    """Defaults for one OpenAI-compatible service."""

    name: str
    base_url: str | None
    api_key_env: str | None
    structured: StructuredMode = "json_schema"
    # "bearer": Authorization: Bearer <key>; "api-key": Azure's api-key header.
    auth: Literal["bearer", "api-key"] = "bearer"
    requires_key: bool = False
    default_model: str | None = None
    # Azure puts the API version in the query string.
    api_version: str | None = None


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "openai",
            "https://api.openai.com/v1",
            "OPENAI_API_KEY",
            requires_key=True,
            default_model="gpt-4o-mini",
        ),
        # base_url is the deployment URL: https://<resource>.openai.azure.com/openai/deployments/<name>
        Preset(
            "azure",
            None,
            "AZURE_OPENAI_API_KEY",
            auth="api-key",
            requires_key=True,
            api_version="2024-10-21",
        ),
        Preset("ollama", "http://localhost:11434/v1", None),
        Preset("vllm", "http://localhost:8000/v1", "VLLM_API_KEY"),
        Preset("llamacpp", "http://localhost:8080/v1", None, structured="json_object_schema"),
        Preset("lmstudio", "http://localhost:1234/v1", None),
        # Groq and DeepSeek accept json_object on every model, json_schema only on a few.
        Preset(
            "groq",
            "https://api.groq.com/openai/v1",
            "GROQ_API_KEY",
            structured="json_object",
            requires_key=True,
        ),
        Preset(
            "together",
            "https://api.together.xyz/v1",
            "TOGETHER_API_KEY",
            structured="json_object_schema",
            requires_key=True,
        ),
        Preset(
            "deepseek",
            "https://api.deepseek.com/v1",
            "DEEPSEEK_API_KEY",
            structured="json_object",
            requires_key=True,
            default_model="deepseek-chat",
        ),
        Preset(
            "openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", requires_key=True
        ),
    )
}
