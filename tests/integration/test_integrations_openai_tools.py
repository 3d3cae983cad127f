"""Function-calling tools: schemas are valid JSON Schema, the dispatcher runs on a real store,
and a scripted OpenAI-compatible server plays a tool-calling model end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from tests.support.scripted_llm import RecordedRequest, Reply, ScriptedLLM

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.integrations.openai_tools import (
    TOOL_NAMES,
    TOOLS,
    agents_tool_functions,
    handle_tool_call,
    tool_definitions,
)


@pytest.fixture
def memory(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[Memory]:
    m = Memory(path=tmp_path, embedder=embedder)
    yield m
    m.close()


def call(memory: Memory, name: str, args: Any, user: str = "alice") -> dict[str, Any]:
    raw = args if isinstance(args, str) else json.dumps(args)
    out: dict[str, Any] = json.loads(handle_tool_call(memory, name, raw, user_id=user))
    return out


def test_definitions_are_valid_openai_tools() -> None:
    assert [t["function"]["name"] for t in TOOLS] == list(TOOL_NAMES)
    assert set(TOOL_NAMES) == {"add_memory", "search_memory", "update_memory", "delete_memory"}
    for tool in TOOLS:
        assert tool["type"] == "function"
        fn = tool["function"]
        assert fn["description"]
        schema = fn["parameters"]
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert set(schema["required"]) <= set(schema["properties"])
    search = jsonschema.Draft202012Validator(TOOLS[1]["function"]["parameters"])
    assert search.is_valid({"query": "diet", "limit": 3})
    assert not search.is_valid({"limit": 3})
    assert not search.is_valid({"query": "diet", "extra": 1})
    assert [t["function"]["name"] for t in tool_definitions(["search_memory"])] == ["search_memory"]


def test_dispatcher_add_search_update_delete(memory: Memory) -> None:
    added = call(memory, "add_memory", {"text": "I'm vegetarian and I live in Lisbon"})
    assert added["results"] and all(r["event"] == "ADD" for r in added["results"])
    hits = call(memory, "search_memory", {"query": "where does the user live?", "limit": 3})
    assert hits["results"] and "Lisbon" in hits["results"][0]["memory"]
    mid = hits["results"][0]["id"]

    updated = call(memory, "update_memory", {"memory_id": mid, "text": "Lives in Porto"})
    assert updated == {"id": mid, "memory": "Lives in Porto", "event": "UPDATE"}
    assert memory.get(mid)["memory"] == "Lives in Porto"  # type: ignore[index]

    assert call(memory, "delete_memory", {"memory_id": mid}) == {"id": mid, "event": "DELETE"}
    assert memory.get(mid) is None


def test_dispatcher_keeps_the_model_inside_its_scope(memory: Memory) -> None:
    secret = memory.add("Bob's PIN is 4321", user_id="bob", infer=False)["results"][0]["id"]
    assert call(memory, "search_memory", {"query": "PIN"})["results"] == []
    for name, args in (
        ("update_memory", {"memory_id": secret, "text": "hacked"}),
        ("delete_memory", {"memory_id": secret}),
    ):
        assert "no memory" in call(memory, name, args)["error"]
    assert memory.get(secret)["memory"] == "Bob's PIN is 4321"  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "args", "error"),
    [
        ("add_memory", "{not json", "not valid JSON"),
        ("add_memory", "[1, 2]", "JSON object"),
        ("add_memory", {"text": ""}, "text must be"),
        ("search_memory", {"query": "x", "limit": 0}, "limit"),
        ("update_memory", {"memory_id": "nope", "text": "x"}, "no memory"),
        ("forget_everything", {}, "unknown tool"),
    ],
)
def test_dispatcher_errors_are_results(memory: Memory, name: str, args: Any, error: str) -> None:
    assert error in call(memory, name, args)["error"]
    assert memory.get_all(user_id="alice")["results"] == []


def test_agents_sdk_style_functions(memory: Memory) -> None:
    add, search, update, delete = agents_tool_functions(memory, user_id="carol")
    assert [f.__name__ for f in (add, search, update, delete)] == list(TOOL_NAMES)
    assert all(f.__doc__ for f in (add, search, update, delete))
    json.loads(add("My dog is called Rex"))
    found = json.loads(search("pets"))["results"]
    assert "Rex" in found[0]["memory"]
    assert json.loads(delete(found[0]["id"]))["event"] == "DELETE"


def _tool_call_reply(name: str, arguments: dict[str, Any]) -> Reply:
    return Reply(
        body={
            "id": "chatcmpl-tools",
            "object": "chat.completion",
            "created": 0,
            "model": "scripted",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": f"call_{name}",
                                "type": "function",
                                "function": {"name": name, "arguments": json.dumps(arguments)},
                            }
                        ],
                    },
                }
            ],
        }
    )


def test_scripted_model_drives_the_tools(memory: Memory) -> None:
    """A tool-calling loop over HTTP, as with any OpenAI-compatible client."""
    memory.add("I'm allergic to shellfish", user_id="dana")

    def script(req: RecordedRequest) -> Reply | str:
        last = req.messages()[-1]
        if last["role"] == "user":
            return _tool_call_reply("search_memory", {"query": "food allergies"})
        assert last["role"] == "tool"
        found = json.loads(last["content"])["results"]
        return "Noted: avoid " + ("shellfish" if "shellfish" in found[0]["memory"] else "?")

    with ScriptedLLM(script) as llm:
        http = httpx.Client(base_url=llm.openai_url, timeout=10)
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Plan my dinner."}]
        for _ in range(3):
            body = {"model": "scripted", "messages": messages, "tools": TOOLS}
            reply = http.post("/chat/completions", json=body).json()
            message = reply["choices"][0]["message"]
            messages.append(message)
            if not message.get("tool_calls"):
                break
            for tc in message["tool_calls"]:
                result = handle_tool_call(
                    memory, tc["function"]["name"], tc["function"]["arguments"], user_id="dana"
                )
                messages.append({"role": "tool", "tool_call_id": tc["id"], "content": result})
        http.close()
        assert messages[-1]["content"] == "Noted: avoid shellfish"
        assert llm.requests[0].body["tools"] == TOOLS
