"""Building providers from settings, presets as data, optional providers, the sync runner."""

from __future__ import annotations

import asyncio
import importlib.util
import threading

import pytest

from engramdb.errors import ConfigError, EngramError
from engramdb.llm import LLM, LLMSettings, build_llm
from engramdb.llm.anthropic import AnthropicLLM
from engramdb.llm.errors import ExtractionError, LLMError, LLMTimeout, MalformedReply
from engramdb.llm.openai import OpenAILLM
from engramdb.llm.presets import PRESETS
from engramdb.llm.registry import LLMS
from engramdb.llm.sync import run_sync


def test_every_preset_is_a_registry_name() -> None:
    assert set(PRESETS) <= set(LLMS)
    expected = {
        "openai", "azure", "ollama", "vllm", "llamacpp", "lmstudio", "groq", "together",
        "deepseek", "openrouter", "anthropic", "litellm", "local",
    }  # fmt: skip
    assert set(LLMS) == expected


@pytest.mark.parametrize("name", ["ollama", "vllm", "llamacpp", "lmstudio"])
def test_local_servers_need_no_key(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    llm = build_llm({"provider": name, "model": "m"})
    assert isinstance(llm, OpenAILLM) and isinstance(llm, LLM)
    assert llm.provider == name and llm.model == "m"


def test_keys_come_from_settings_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"GROQ_API_KEY"):
        build_llm({"provider": "groq", "model": "llama"})
    monkeypatch.setenv("GROQ_API_KEY", "g")
    assert build_llm({"provider": "groq", "model": "llama"}).provider == "groq"
    monkeypatch.setenv("MY_KEY", "x")
    settings = LLMSettings(provider="deepseek", api_key_env="MY_KEY")
    assert settings.resolve_api_key() == "x"
    assert build_llm(settings).model == "deepseek-chat"
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        build_llm({"provider": "anthropic"})
    assert isinstance(build_llm({"provider": "anthropic", "api_key": "a"}), AnthropicLLM)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown LLM provider 'nope'"):
        build_llm({"provider": "nope"})
    with pytest.raises(ConfigError, match="invalid LLM settings"):
        build_llm({"provider": "openai", "timeout": 3})
    with pytest.raises(ConfigError, match="needs base_url"):
        build_llm({"provider": "azure", "api_key": "k", "model": "m"})
    with pytest.raises(ConfigError, match="needs model"):
        build_llm({"provider": "ollama"})


def test_api_key_is_not_in_repr() -> None:
    assert "secret" not in repr(LLMSettings(api_key="secret"))


@pytest.mark.skipif(importlib.util.find_spec("litellm") is not None, reason="litellm installed")
def test_litellm_missing_says_how_to_install() -> None:
    with pytest.raises(ConfigError, match=r"pip install 'engramdb\[llm\]'"):
        build_llm({"provider": "litellm", "model": "gemini/x"})


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is not None, reason="installed")
def test_local_missing_says_how_to_install() -> None:
    with pytest.raises(ConfigError, match=r"pip install 'engramdb\[local\]'"):
        build_llm({"provider": "local", "model": "/models/x.gguf"})


def test_error_hierarchy() -> None:
    for cls in (LLMTimeout, MalformedReply, ExtractionError):
        assert issubclass(cls, LLMError)
    assert issubclass(LLMError, EngramError)


def test_run_sync_results_errors_and_threads() -> None:
    async def value() -> str:
        return threading.current_thread().name

    async def fail() -> None:
        raise ValueError("boom")

    assert run_sync(value()) == "engramdb-llm-loop"
    with pytest.raises(ValueError, match="boom"):
        run_sync(fail())
    with pytest.raises(TimeoutError):
        run_sync(asyncio.sleep(5), timeout=0.05)

    async def nested() -> None:
        run_sync(value())

    with pytest.raises(RuntimeError, match="await instead"):
        run_sync(nested())
