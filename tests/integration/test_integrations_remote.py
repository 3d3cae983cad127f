"""The integrations work the same on a remote ``Client`` as on an embedded ``Memory``:
the LangGraph store, the tool dispatcher and ``with_memory``, over a real server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engramdb import Client, Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.integrations.chat import with_memory
from engramdb.integrations.openai_tools import handle_tool_call

pytest.importorskip("fastapi")
from engramdb.server import ServerSettings, ServerThread, create_app

ADMIN = "admin-integrations-0123456789"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder) -> Iterator[Client]:
    memory = Memory(path=tmp_path_factory.mktemp("remote"), embedder=embedder)
    app = create_app(memory, ServerSettings(admin_key=ADMIN, rate_limit=0))
    with ServerThread(app) as server:
        r = httpx.post(
            f"{server.url}/v1/keys",
            json={"tenant": "acme"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        with Client(server.url, api_key=r.json()["key"]) as c:
            yield c
    memory.close()


def test_langgraph_store_over_the_client(client: Client) -> None:
    pytest.importorskip("langgraph")
    from engramdb.integrations.langgraph import EngramStore

    store = EngramStore(client)
    store.put(("memories", "rita"), "city", {"text": "Rita lives in Oslo", "kind": "home"})
    store.put(("memories", "rita"), "pet", {"text": "Rita has a parrot", "kind": "pet"})
    item = store.get(("memories", "rita"), "city")
    assert item is not None and item.value["kind"] == "home"
    hits = store.search(("memories", "rita"), query="where does she live?")
    assert hits[0].key == "city"
    assert [h.key for h in store.search(("memories",), filter={"kind": "pet"})] == ["pet"]
    assert store.list_namespaces(prefix=("memories",)) == [("memories", "rita")]
    store.delete(("memories", "rita"), "city")
    assert store.get(("memories", "rita"), "city") is None


def test_tool_dispatcher_over_the_client(client: Client) -> None:
    def call(name: str, args: dict[str, Any]) -> Any:
        return json.loads(handle_tool_call(client, name, json.dumps(args), user_id="sam"))

    assert call("add_memory", {"text": "I work as a baker"})["results"]
    hit = call("search_memory", {"query": "job"})["results"][0]
    assert "baker" in hit["memory"]
    assert call("delete_memory", {"memory_id": hit["id"]})["event"] == "DELETE"
    assert "error" in call("delete_memory", {"memory_id": hit["id"]})


def test_with_memory_over_the_client(client: Client) -> None:
    prompts: list[list[dict[str, Any]]] = []

    def bot(messages: list[dict[str, Any]]) -> str:
        prompts.append(messages)
        return "OK"

    chat = with_memory(bot, client, user_id="tess")
    chat("My favourite color is teal.")
    chat("What color should my new bike be?")
    assert prompts[1][0]["role"] == "system" and "teal" in prompts[1][0]["content"]
