"""An in-process GGUF model through llama-cpp-python: no server, no network.

Optional (``pip install engramdb[local]``); ``llama_cpp`` is imported when the model is
first used. Structured output uses llama.cpp's JSON-schema grammar, so the reply is
constrained token by token. Generation is blocking C++ work, so it runs in a worker thread,
one call at a time (a ``Llama`` object is not thread-safe).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from engramdb.errors import ConfigError
from engramdb.llm.base import ChatMessage, Completion, LLMSettings
from engramdb.llm.errors import LLMError
from engramdb.llm.openai import _message

INSTALL_HINT = "pip install 'engramdb[local]' (or: pip install llama-cpp-python)"


class LocalLLM:
    """``model`` is the path of a ``.gguf`` file; ``options`` go to ``llama_cpp.Llama``
    (``n_ctx`` defaults to 8192, ``verbose`` to False)."""

    def __init__(self, settings: LLMSettings) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(f"LLM provider 'local' needs llama-cpp-python: {INSTALL_HINT}")
        if not settings.model:
            raise ConfigError("LLM provider 'local' needs model: the path of a .gguf file")
        self.provider = "local"
        self.model = settings.model
        self._settings = settings
        self._llama: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llama is None:
            path = Path(self.model).expanduser()
            if not path.is_file():
                raise ConfigError(f"LLM provider 'local': no model file at {path}")
            llama_cpp = importlib.import_module("llama_cpp")
            options = {"n_ctx": 8192, "verbose": False, **self._settings.options}
            self._llama = llama_cpp.Llama(model_path=str(path), **options)
        return self._llama

    def _run(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            result: dict[str, Any] = self._load().create_chat_completion(**kwargs)
            return result

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: type[BaseModel] | None = None,
        schema_name: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        """One completion in a worker thread (see :class:`engramdb.llm.base.LLM`)."""
        s = self._settings
        kwargs: dict[str, Any] = {
            "messages": [_message(m) for m in messages],
            "temperature": s.temperature if temperature is None else temperature,
            "max_tokens": max_tokens or s.max_tokens,
        }
        if schema is not None:
            kwargs["response_format"] = {
                "type": "json_object",
                "schema": schema.model_json_schema(),
            }
        try:
            data = await asyncio.to_thread(self._run, kwargs)
        except ConfigError:
            raise
        except Exception as exc:  # llama_cpp raises plain ValueError/RuntimeError
            raise LLMError(f"local: {exc}", provider=self.provider) from exc
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            model=self.model,
            provider=self.provider,
            finish_reason=choice.get("finish_reason"),
        )

    async def aclose(self) -> None:
        """Free the model's memory; it is loaded again on the next call."""
        with self._lock:
            self._llama = None
