"""LangGraph's store API and LangChain tools on a real engramdb store (no network, no LLM)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import pytest

pytest.importorskip("langgraph")
pytest.importorskip("langchain_core")

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.integrations.langgraph import EngramStore, create_memory_tools


@pytest.fixture
def memory(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[Memory]:
    m = Memory(path=tmp_path, embedder=embedder)
    yield m
    m.close()


@pytest.fixture
def store(memory: Memory) -> EngramStore:
    return EngramStore(memory)


def test_put_get_roundtrip_maps_namespace_to_user(store: EngramStore, memory: Memory) -> None:
    store.put(("memories", "alice"), "diet", {"text": "Alice is vegetarian", "level": 3})
    item = store.get(("memories", "alice"), "diet")
    assert item is not None
    assert item.value == {"text": "Alice is vegetarian", "level": 3}
    assert item.key == "diet" and item.namespace == ("memories", "alice")
    assert item.created_at <= item.updated_at
    # It is an ordinary engramdb memory of user alice, under the store's agent id.
    rows = memory.get_all(user_id="alice")["results"]
    assert [r["memory"] for r in rows] == ["Alice is vegetarian"]
    assert rows[0]["agent_id"] == "langgraph"
    assert store.get(("memories", "bob"), "diet") is None
    assert store.get(("memories", "alice"), "other") is None


def test_put_again_updates_in_place_and_keeps_history(store: EngramStore, memory: Memory) -> None:
    ns = ("memories", "alice")
    store.put(ns, "city", {"text": "Lives in Berlin"})
    first = store.get(ns, "city")
    store.put(ns, "city", {"text": "Lives in Paris"})
    second = store.get(ns, "city")
    assert first is not None and second is not None
    assert second.value == {"text": "Lives in Paris"}
    assert second.created_at == first.created_at
    rows = memory.get_all(user_id="alice")["results"]
    assert len(rows) == 1
    events = [h["event"] for h in memory.history(rows[0]["id"])]
    assert events == ["ADD", "UPDATE"]


def test_search_by_query_prefix_and_filter(store: EngramStore) -> None:
    store.put(("memories", "alice"), "food", {"text": "Alice loves spicy ramen", "kind": "pref"})
    store.put(("memories", "alice"), "job", {"text": "Alice works as a nurse", "kind": "fact"})
    store.put(("memories", "bob"), "food", {"text": "Bob loves ramen too", "kind": "pref"})
    hits = store.search(("memories", "alice"), query="what food does she like?")
    assert hits[0].key == "food" and hits[0].namespace == ("memories", "alice")
    assert hits[0].score is not None
    assert {h.namespace for h in hits} == {("memories", "alice")}
    # A shorter prefix spans users; filters reach value fields.
    prefs = store.search(("memories",), filter={"kind": "pref"}, limit=10)
    assert sorted(h.namespace[1] for h in prefs) == ["alice", "bob"]
    facts = store.search(("memories",), filter={"kind": {"$ne": "pref"}})
    assert [h.key for h in facts] == ["job"]
    assert store.search(("other",)) == []
    # Memories of the same scope that the store did not write are not items.
    store.memory.add("Alice plays the violin", user_id="alice", agent_id="langgraph", infer=False)
    assert len(store.search(("memories",), limit=10)) == 3
    assert len(store.search(("memories", "alice"), query="violin", limit=10)) == 2
    assert len(store.search(("memories",), limit=2)) == 2
    assert len(store.search(("memories",), limit=10, offset=2)) == 1


def test_delete_and_list_namespaces(store: EngramStore, memory: Memory) -> None:
    store.put(("memories", "alice"), "a", {"text": "Alice plays chess"})
    store.put(("memories", "bob"), "b", {"text": "Bob plays go"})
    store.put(("notes", "bob", "work"), "c", {"data": "Bob's standup is at 9"})
    assert store.list_namespaces() == [
        ("memories", "alice"),
        ("memories", "bob"),
        ("notes", "bob", "work"),
    ]
    assert store.list_namespaces(prefix=("memories",)) == [
        ("memories", "alice"),
        ("memories", "bob"),
    ]
    assert store.list_namespaces(suffix=("work",)) == [("notes", "bob", "work")]
    assert store.list_namespaces(max_depth=1) == [("memories",), ("notes",)]
    store.delete(("memories", "alice"), "a")
    assert store.get(("memories", "alice"), "a") is None
    assert memory.get_all(user_id="alice")["results"] == []
    assert ("memories", "alice") not in store.list_namespaces()


def test_async_api(store: EngramStore) -> None:
    async def run() -> None:
        await store.aput(("memories", "carol"), "pet", {"text": "Carol has a cat named Miso"})
        item = await store.aget(("memories", "carol"), "pet")
        assert item is not None and item.value["text"].startswith("Carol")
        hits = await store.asearch(("memories", "carol"), query="pets")
        assert [h.key for h in hits] == ["pet"]
        await store.adelete(("memories", "carol"), "pet")
        assert await store.aget(("memories", "carol"), "pet") is None

    asyncio.run(run())


class State(TypedDict):
    user_id: str
    message: str
    recalled: list[str]


def test_compiled_graph_uses_the_store(store: EngramStore) -> None:
    """A two-node graph with no LLM: one node remembers, the next recalls via the store."""

    def remember(state: State, *, store: BaseStore) -> dict[str, Any]:
        store.put(("memories", state["user_id"]), "latest", {"text": state["message"]})
        return {}

    def recall(state: State, *, store: BaseStore) -> dict[str, Any]:
        hits = store.search(("memories", state["user_id"]), query=state["message"], limit=3)
        return {"recalled": [h.value["text"] for h in hits]}

    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_node("recall", recall)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    builder.add_edge("recall", END)
    graph = builder.compile(store=store)

    out = graph.invoke({"user_id": "dana", "message": "I prefer window seats", "recalled": []})
    assert out["recalled"] == ["I prefer window seats"]
    # Another run (another "session") sees what the first one stored.
    out = graph.invoke({"user_id": "dana", "message": "window seat on flights", "recalled": []})
    assert "I prefer window seats" not in out["recalled"]  # "latest" was overwritten
    assert out["recalled"] == ["window seat on flights"]
    assert store.search(("memories", "erin")) == []


def test_langchain_tools_add_and_search(memory: Memory) -> None:
    add, search = create_memory_tools(memory, user_id="frank")
    assert (add.name, search.name) == ("add_memory", "search_memory")
    assert "text" in add.args and "query" in search.args
    out = add.invoke({"text": "I'm allergic to peanuts"})
    assert "ADD" in out
    found = search.invoke({"query": "food allergies", "limit": 3})
    assert "peanut" in found.lower()
    assert memory.get_all(user_id="frank")["results"]
    other = create_memory_tools(memory, user_id="gina")[1]
    assert other.invoke({"query": "food allergies"}) == "No relevant memories."
