"""One contract suite for every HTTP LLM provider, run against the scripted server on
127.0.0.1: structured round trips, repair, retries and their timing, usage accounting."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel
from tests.support.scripted_llm import RecordedRequest, Reply, ScriptedLLM

from engramdb.llm.anthropic import AnthropicLLM
from engramdb.llm.base import LLM, ChatMessage, LLMSettings, Usage
from engramdb.llm.errors import ExtractionError, LLMError, LLMTimeout
from engramdb.llm.openai import OpenAILLM
from engramdb.llm.presets import PRESETS
from engramdb.llm.registry import build_llm
from engramdb.llm.structured import complete_structured
from engramdb.llm.sync import run_sync

T = TypeVar("T")
PROVIDERS = ["openai", "anthropic"]
FAST = {"timeout_s": 0.3, "max_retries": 2, "backoff_s": 0.05, "max_backoff_s": 2.0}


class City(BaseModel):
    name: str
    population: int | None = None


def make(kind: str, server: ScriptedLLM, **overrides: Any) -> LLM:
    options: dict[str, Any] = {"model": "test-model", "api_key": "sk-test", **FAST, **overrides}
    if kind == "anthropic":
        return AnthropicLLM(LLMSettings(provider="anthropic", base_url=server.url, **options))
    preset = PRESETS[overrides.pop("preset", "openai")] if "preset" in overrides else None
    options.pop("preset", None)
    return OpenAILLM(LLMSettings(provider="openai", base_url=server.openai_url, **options), preset)


def run(llm: LLM, call: Callable[[LLM], Awaitable[T]]) -> T:
    """Run one call on a fresh loop and close the provider's connections on that loop."""

    async def main() -> T:
        try:
            return await call(llm)
        finally:
            await llm.aclose()

    return asyncio.run(main())


async def ask(llm: LLM, usage: Usage | None = None) -> City:
    return await complete_structured(llm, [ChatMessage("user", "Where?")], City, usage=usage)


def gaps(requests: list[RecordedRequest]) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(requests)]


@pytest.fixture(params=PROVIDERS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- the contract -------------------------------------------------------------------------


def test_plain_completion(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(Reply("Hello there", prompt_tokens=12, completion_tokens=3))
    llm = make(kind, scripted_llm)
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi")]
    completion = run(llm, lambda m: m.complete(messages, temperature=0.5, max_tokens=50))
    assert completion.text == "Hello there"
    assert (completion.prompt_tokens, completion.completion_tokens) == (12, 3)
    assert completion.provider == kind and completion.model == "test-model"
    (req,) = scripted_llm.requests
    assert req.body["model"] == "test-model"
    assert req.body["temperature"] == 0.5 and req.body["max_tokens"] == 50
    if kind == "openai":
        assert req.path == "/v1/chat/completions"
        assert req.headers["authorization"] == "Bearer sk-test"
        assert req.body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert "response_format" not in req.body
    else:
        assert req.path == "/v1/messages"
        assert req.headers["x-api-key"] == "sk-test"
        assert req.headers["anthropic-version"] == "2023-06-01"
        assert req.body["system"] == "Be brief."
        assert req.body["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]}
        ]
        assert "tools" not in req.body


def test_structured_round_trip(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push('{"name": "Oslo", "population": 709000}')
    usage = Usage()
    city = run(make(kind, scripted_llm), lambda m: ask(m, usage))
    assert city == City(name="Oslo", population=709000)
    assert usage == Usage(calls=1, prompt_tokens=11, completion_tokens=7)
    body = scripted_llm.requests[0].body
    if kind == "openai":
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        assert fmt["json_schema"]["name"] == "City" and fmt["json_schema"]["strict"] is True
        schema = fmt["json_schema"]["schema"]
        assert schema["required"] == ["name", "population"]
        assert schema["additionalProperties"] is False
    else:
        (tool,) = body["tools"]
        assert tool["name"] == "City"
        assert tool["input_schema"]["properties"]["name"]["type"] == "string"
        assert body["tool_choice"] == {"type": "tool", "name": "City"}


def test_malformed_then_repaired(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push('{"name": ["not", "a", "string"]}', '{"name": "Bergen"}')
    usage = Usage()
    assert run(make(kind, scripted_llm), lambda m: ask(m, usage)) == City(name="Bergen")
    assert usage.calls == 2
    first, second = scripted_llm.requests
    sent = second.messages()
    assert len(sent) == len(first.messages()) + 2
    assert [m["role"] for m in sent[-3:]] == ["user", "assistant", "user"]
    assert "not" in str(sent[-2]["content"]) and "name" in str(sent[-1]["content"])


def test_malformed_twice_raises_extraction_error(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push("I cannot answer that.", "<html>still no</html>")
    with pytest.raises(ExtractionError) as info:
        run(make(kind, scripted_llm), ask)
    assert info.value.provider == kind
    assert str(info.value).startswith(f"{kind} gave no usable structured reply")
    assert "still no" in str(info.value)
    assert len(scripted_llm.requests) == 2


def test_timeouts_retry_with_backoff_then_raise(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(*[Reply("late", delay_s=2.0)] * 3)
    started = time.monotonic()
    with pytest.raises(LLMTimeout) as info:
        run(make(kind, scripted_llm), ask)
    assert "3 attempts" in str(info.value)
    assert len(scripted_llm.requests) == 3  # the first try and max_retries=2 retries
    first_gap, second_gap = gaps(scripted_llm.requests)
    assert first_gap >= 0.3 + 0.05 and second_gap >= 0.3 + 0.1  # timeout + doubling backoff
    assert time.monotonic() - started < 2.0


def test_timeout_then_success(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(Reply("late", delay_s=2.0), '{"name": "Tromsø"}')
    assert run(make(kind, scripted_llm), ask).name == "Tromsø"
    assert len(scripted_llm.requests) == 2


def test_429_honours_retry_after(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(
        Reply("slow down", status=429, headers={"retry-after": "0.4"}), '{"name": "Oslo"}'
    )
    assert run(make(kind, scripted_llm, backoff_s=0.01), ask).name == "Oslo"
    (gap,) = gaps(scripted_llm.requests)
    assert gap >= 0.4


def test_500_is_retried(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(Reply("boom", status=500), Reply("busy", status=503), '{"name": "Oslo"}')
    assert run(make(kind, scripted_llm), ask).name == "Oslo"
    assert len(scripted_llm.requests) == 3


def test_5xx_every_time_raises_with_status(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(*[Reply("overloaded", status=529)] * 3)
    with pytest.raises(LLMError) as info:
        run(make(kind, scripted_llm), ask)
    assert info.value.status == 529 and not isinstance(info.value, LLMTimeout)
    assert "overloaded" in str(info.value) and len(scripted_llm.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_4xx_is_not_retried(kind: str, scripted_llm: ScriptedLLM, status: int) -> None:
    scripted_llm.push(Reply("bad request: unknown field", status=status), '{"name": "x"}')
    with pytest.raises(LLMError) as info:
        run(make(kind, scripted_llm), ask)
    assert info.value.status == status and "unknown field" in str(info.value)
    assert len(scripted_llm.requests) == 1


def test_usage_accounting_is_exact(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(
        Reply("nope", prompt_tokens=100, completion_tokens=20),
        Reply('{"name": "Oslo"}', prompt_tokens=130, completion_tokens=9),
        Reply("busy", status=500),  # failed attempts are not calls and cost nothing
        Reply('{"name": "Bergen"}', prompt_tokens=40, completion_tokens=5),
    )
    usage = Usage()

    async def twice(llm: LLM) -> None:
        await ask(llm, usage)
        await ask(llm, usage)

    run(make(kind, scripted_llm), twice)
    assert usage == Usage(calls=3, prompt_tokens=270, completion_tokens=34)
    assert usage.total_tokens == 304
    total = Usage()
    total.merge(usage)
    total.merge(usage)
    assert total == Usage(calls=6, prompt_tokens=540, completion_tokens=68)


def test_non_json_200_is_an_llm_error(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(Reply(body="<html><body>Gateway says hi</body></html>"))
    with pytest.raises(LLMError, match="unexpected reply") as info:
        run(make(kind, scripted_llm), lambda m: m.complete([ChatMessage("user", "x")]))
    assert "Gateway says hi" in str(info.value)


def test_unreachable_endpoint_is_a_timeout(kind: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = LLMSettings(
        provider=kind, model="m", api_key="k", base_url=f"http://127.0.0.1:{port}", **FAST
    )
    llm = build_llm(settings)
    with pytest.raises(LLMTimeout, match="could not reach"):
        run(llm, lambda m: m.complete([ChatMessage("user", "x")]))


def test_run_sync_inside_a_running_loop(kind: str, scripted_llm: ScriptedLLM) -> None:
    """The sync facade's path: a sync call made while the caller's loop is running."""
    scripted_llm.push('{"name": "Oslo"}', '{"name": "Bergen"}', '{"name": "Narvik"}')
    llm = make(kind, scripted_llm)
    assert run_sync(ask(llm)).name == "Oslo"

    async def caller() -> str:
        return run_sync(ask(llm)).name  # blocking on purpose, as sync user code would

    assert asyncio.run(caller()) == "Bergen"
    # The same provider, now from a different loop: it opens a client for that loop.
    assert run(llm, ask).name == "Narvik"
    run_sync(llm.aclose())


def test_images_are_sent(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push("A cat.")
    msg = ChatMessage(
        "user", "What is this?", images=("data:image/png;base64,AAAA", "https://x/y.png")
    )
    run(make(kind, scripted_llm), lambda m: m.complete([msg]))
    content = scripted_llm.requests[0].messages()[0]["content"]
    if kind == "openai":
        assert content == [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        ]
    else:
        assert content == [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
            },
            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
            {"type": "text", "text": "What is this?"},
        ]


# -- provider specifics -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "fmt"),
    [("groq", {"type": "json_object"}), ("deepseek", {"type": "json_object"})],
)
def test_json_object_presets_put_schema_in_prompt(
    scripted_llm: ScriptedLLM, preset: str, fmt: dict[str, Any]
) -> None:
    scripted_llm.push('{"name": "Oslo"}')
    llm = build_llm({"provider": preset, "model": "m", "base_url": scripted_llm.openai_url, **FAST})
    sent = [ChatMessage("system", "Rules."), ChatMessage("user", "Where?")]
    assert run(llm, lambda m: complete_structured(m, sent, City)).name == "Oslo"
    body = scripted_llm.requests[0].body
    assert body["response_format"] == fmt
    system = body["messages"][0]
    assert system["role"] == "system" and system["content"].startswith("Rules.\n\n")
    assert '"population"' in system["content"] and "JSON Schema" in system["content"]
    assert "authorization" not in scripted_llm.requests[0].headers


def test_json_object_schema_and_prompt_modes(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push('{"name": "A"}', '{"name": "B"}')
    llamacpp = build_llm(
        {"provider": "llamacpp", "model": "m", "base_url": scripted_llm.openai_url}
    )
    plain = build_llm(
        {"provider": "vllm", "model": "m", "base_url": scripted_llm.openai_url,
         "structured_output": "prompt"}
    )  # fmt: skip
    run(llamacpp, lambda m: complete_structured(m, [ChatMessage("user", "x")], City))
    run(plain, lambda m: complete_structured(m, [ChatMessage("user", "x")], City))
    first, second = (r.body for r in scripted_llm.requests)
    assert first["response_format"]["type"] == "json_object"
    assert first["response_format"]["schema"]["title"] == "City"
    assert first["messages"][0]["role"] == "system"  # schema text added as a system message
    assert "response_format" not in second and "JSON Schema" in second["messages"][0]["content"]


def test_azure_uses_api_key_header_and_version(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push("ok")
    llm = build_llm(
        {"provider": "azure", "model": "gpt-4o", "api_key": "az-key",
         "base_url": f"{scripted_llm.openai_url}/deployments/gpt4o"}
    )  # fmt: skip
    run(llm, lambda m: m.complete([ChatMessage("user", "x")]))
    req = scripted_llm.requests[0]
    assert req.path == "/v1/deployments/gpt4o/chat/completions"
    assert req.query == {"api-version": PRESETS["azure"].api_version}
    assert req.headers["api-key"] == "az-key" and "authorization" not in req.headers


def test_extra_headers_and_free_form_schema(scripted_llm: ScriptedLLM) -> None:
    class Free(BaseModel):
        data: dict[str, int]

    scripted_llm.push('{"data": {"a": 1}}')
    llm = make("openai", scripted_llm, headers={"X-Title": "engramdb"})
    assert run(llm, lambda m: complete_structured(m, [ChatMessage("user", "x")], Free)).data == {
        "a": 1
    }
    req = scripted_llm.requests[0]
    assert req.headers["x-title"] == "engramdb"
    assert req.body["response_format"]["json_schema"]["strict"] is False


def test_anthropic_merges_turns_and_counts_cached_tokens(scripted_llm: ScriptedLLM) -> None:
    usage_body = {
        "input_tokens": 5,
        "output_tokens": 2,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 10,
    }
    scripted_llm.push(
        Reply(
            body={
                "model": "claude-x",
                "content": [{"type": "text", "text": "hi"}],
                "stop_reason": "end_turn",
                "usage": usage_body,
            }
        )
    )
    llm = make("anthropic", scripted_llm)
    sent = [
        ChatMessage("system", "A"),
        ChatMessage("user", "one"),
        ChatMessage("user", "two"),
        ChatMessage("system", "B"),
        ChatMessage("assistant", "three"),
    ]
    completion = run(llm, lambda m: m.complete(sent))
    assert completion.prompt_tokens == 115 and completion.model == "claude-x"
    body = scripted_llm.requests[0].body
    assert body["system"] == "A\n\nB"
    assert [t["role"] for t in body["messages"]] == ["user", "assistant"]
    assert len(body["messages"][0]["content"]) == 2
    assert body["max_tokens"] == 4096


def test_scripted_server_script_function(scripted_llm: ScriptedLLM) -> None:
    def script(req: RecordedRequest) -> str:
        last = req.messages()[-1]["content"]
        return json.dumps({"name": last.upper()})

    scripted_llm.script = script
    llm = make("openai", scripted_llm)

    async def two(m: LLM) -> list[str]:
        out = []
        for q in ("oslo", "bergen"):
            city = await complete_structured(m, [ChatMessage("user", q)], City)
            out.append(city.name)
        return out

    assert run(llm, two) == ["OSLO", "BERGEN"]


def test_options_are_merged_and_none_drops_keys(kind: str, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push("ok")
    options = {"temperature": None, "top_p": 0.9}
    run(make(kind, scripted_llm, options=options), lambda m: m.complete([ChatMessage("user", "x")]))
    body = scripted_llm.requests[0].body
    assert "temperature" not in body and body["top_p"] == 0.9
