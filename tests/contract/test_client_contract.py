"""The same behaviour checks against embedded ``Memory`` and remote ``Client``/``AsyncClient``.

Code moves between embedded and remote by changing one line, so results, return shapes and
error classes must match. The remote variants talk to a real server on 127.0.0.1; each test
gets its own tenant there (a fresh key), as the embedded variant gets a fresh store.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engramdb import (
    EntityNotFoundError,
    FilterError,
    Memory,
    MemoryNotFoundError,
    ScopeError,
    ValidationError,
)
from engramdb.client import AsyncClient, Client
from engramdb.embed.local import LocalEmbedder
from engramdb.server import ServerSettings, ServerThread, create_app

ADMIN = "admin-contract-key-0123456789"
_tenants = itertools.count()


class SyncAsync:
    """An :class:`AsyncClient` driven from sync test code on its own event loop."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(method(*args, **kwargs))

        return call

    def close(self) -> None:
        self._loop.run_until_complete(self._client.close())
        self._loop.close()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder
) -> Iterator[ServerThread]:
    memory = Memory(path=tmp_path_factory.mktemp("contract-server"), embedder=embedder)
    settings = ServerSettings(admin_key=ADMIN, rate_limit=0)
    with ServerThread(create_app(memory, settings)) as srv:
        yield srv
    memory.close()


def _new_key(server: ServerThread) -> str:
    r = httpx.post(
        server.url + "/v1/keys",
        json={"tenant": f"contract-{next(_tenants)}"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 201
    return str(r.json()["key"])


@pytest.fixture(params=["memory", "client", "async_client"])
def mem(request: pytest.FixtureRequest, tmp_path: Path, embedder: LocalEmbedder) -> Iterator[Any]:
    if request.param == "memory":
        m = Memory(path=tmp_path, embedder=embedder)
        yield m
        m.close()
        return
    server = request.getfixturevalue("server")
    key = _new_key(server)
    if request.param == "client":
        with Client(server.url, api_key=key) as c:
            yield c
        return
    wrapped = SyncAsync(AsyncClient(server.url, api_key=key))
    yield wrapped
    wrapped.close()


RECORD_KEYS = {
    "id",
    "memory",
    "hash",
    "metadata",
    "user_id",
    "agent_id",
    "run_id",
    "memory_type",
    "role",
    "categories",
    "created_at",
    "updated_at",
    "valid_at",
    "invalid_at",
    "status",
}


def test_add_get_get_all(mem: Any) -> None:
    out = mem.add("I play the cello", user_id="u1", metadata={"k": 1}, infer=False)
    # Every add reports LLM usage, zero when nothing was inferred.
    assert set(out) == {"results", "usage"}
    assert out["usage"] == {"llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
    (item,) = out["results"]
    assert item["event"] == "ADD" and item["memory"] == "I play the cello"
    got = mem.get(item["id"])
    assert set(got) >= RECORD_KEYS
    assert got["metadata"] == {"k": 1} and got["user_id"] == "u1"
    assert mem.get("no-such-id") is None
    mem.add(["first", "second"], user_id="u1", agent_id="a", infer=False)
    listed = mem.get_all(user_id="u1")
    assert len(listed["results"]) == 3
    assert len(mem.get_all(user_id="u1", limit=2)["results"]) == 2
    assert len(mem.get_all(user_id="u1", limit=2, offset=2)["results"]) == 1
    assert len(mem.get_all(agent_id="a")["results"]) == 2
    assert len(mem.get_all(user_id="u1", filters={"k": 1})["results"]) == 1
    assert mem.get_all(user_id="nobody") == {"results": []}


def test_add_with_timestamp(mem: Any) -> None:
    out = mem.add("old news", user_id="u", infer=False, timestamp="2020-01-02T03:04:05Z")
    assert mem.get(out["results"][0]["id"])["created_at"].startswith("2020-01-02T03:04:05")


def test_search_shape_and_order(mem: Any) -> None:
    mem.add(["I love hiking in the Alps", "My laptop is a ThinkPad"], user_id="s", infer=False)
    res = mem.search("mountain hiking", user_id="s", limit=2)
    assert set(res) == {"results", "relations"}
    assert res["relations"] == []
    hits = res["results"]
    assert hits[0]["memory"] == "I love hiking in the Alps"
    assert RECORD_KEYS | {"score", "similarity"} <= set(hits[0])
    assert mem.search("hiking", user_id="s", threshold=0.99)["results"] == []
    assert mem.search("hiking", user_id="nobody")["results"] == []


def test_update_history_delete(mem: Any) -> None:
    mid = mem.add("I live in Rome", user_id="h", infer=False)["results"][0]["id"]
    updated = mem.update(mid, text="I live in Milan", metadata={"moved": True})
    assert updated["memory"] == "I live in Milan" and updated["metadata"] == {"moved": True}
    assert "message" in updated
    history = mem.history(mid)
    assert [e["event"] for e in history] == ["ADD", "UPDATE"]
    assert history[1]["old_memory"] == "I live in Rome"
    deleted = mem.delete(mid)
    assert deleted["id"] == mid and "message" in deleted
    assert mem.get(mid) is None
    assert [e["event"] for e in mem.history(mid)] == ["ADD", "UPDATE", "DELETE"]


def test_delete_all_and_reset(mem: Any) -> None:
    mem.add(["a1", "a2"], user_id="d1", infer=False)
    mem.add("b1", user_id="d2", infer=False)
    out = mem.delete_all(user_id="d1")
    assert out["deleted"] == 2 and "message" in out
    assert mem.get_all(user_id="d1")["results"] == []
    assert len(mem.get_all(user_id="d2")["results"]) == 1
    assert mem.reset() is None
    assert mem.get_all(user_id="d2")["results"] == []


def test_errors_are_the_same_classes(mem: Any) -> None:
    with pytest.raises(MemoryNotFoundError):
        mem.update("missing", text="x")
    with pytest.raises(MemoryNotFoundError):
        mem.delete("missing")
    with pytest.raises(MemoryNotFoundError):
        mem.history("missing")
    with pytest.raises(ScopeError):
        mem.delete_all()
    with pytest.raises(ScopeError):
        mem.search("x")
    with pytest.raises(ScopeError):
        mem.add("x", infer=False)
    with pytest.raises(FilterError):
        mem.search("x", user_id="u", filters={"a": {"regex": "b"}})
    with pytest.raises(ValidationError):
        mem.search("   ", user_id="u")
    with pytest.raises(ValidationError):
        mem.search("x", user_id="u", limit=0)
    with pytest.raises(ValidationError):
        mem.add([], user_id="u", infer=False)
    with pytest.raises(ValidationError):
        mem.add("x", user_id="u", metadata={"bad": float("nan")}, infer=False)
    mid = mem.add("kept", user_id="u", infer=False)["results"][0]["id"]
    with pytest.raises(ValidationError):
        mem.update(mid)
    with pytest.raises(ValidationError):
        mem.get("")
    assert mem.get(mid)["memory"] == "kept"


def test_time_lifecycle_and_forget_behave_the_same(mem: Any) -> None:
    mem.add("I live in Porto.", user_id="lc", timestamp="2022-02-01T00:00:00Z")
    mem.add("I moved to Helsinki.", user_id="lc", timestamp="2024-05-20T00:00:00Z")
    then = mem.search("where do I live", user_id="lc", as_of="2023-01-01")["results"]
    assert [h["memory"] for h in then] == ["Lives in Porto"]
    listed = mem.get_all(user_id="lc", include_invalid=True)["results"]
    assert [r["status"] for r in listed] == ["active", "superseded"]
    for text in ("User likes green tea", "user likes green tea."):
        mem.add(text, user_id="lc2", infer=False, importance=0.7)
    report = mem.consolidate(user_id="lc2", dry_run=False)
    (dup,) = report["merged"][0]["archived"]
    assert [r["id"] for r in mem.get_all(user_id="lc2", include_archived=True)["results"]]
    assert mem.restore(dup)["status"] == "active"
    with pytest.raises(ValidationError):
        mem.restore(dup)
    tomb = mem.forget(user_id="lc", reason="asked")
    assert tomb["counts"]["memories"] == 2
    assert [t["id"] for t in mem.tombstones(user_id="lc")] == [tomb["id"]]
    with pytest.raises(ScopeError):
        mem.forget()
    with pytest.raises(MemoryNotFoundError):
        mem.forget(memory_id="missing")


def test_context_block(mem: Any) -> None:
    mem.add("I am allergic to peanuts", user_id="c", infer=False, timestamp="2024-02-01")
    mem.add("My sister lives in Madrid", user_id="c", infer=False, timestamp="2024-01-01")
    block = mem.context("food allergy", user_id="c", max_tokens=200)
    assert set(block) == {"text", "tokens", "memories", "relations"}
    lines = block["text"].splitlines()
    assert lines[1:] == [
        "- [2024-01-01] My sister lives in Madrid",
        "- [2024-02-01] I am allergic to peanuts",
    ]
    assert 0 < block["tokens"] <= 200 and len(block["memories"]) == 2
    assert block["relations"] == []
    small = mem.context("food allergy", user_id="c", max_tokens=36)
    assert small["text"].splitlines()[1:] == ["- [2024-02-01] I am allergic to peanuts"]
    assert mem.context("food allergy", user_id="c", max_tokens=3) == {
        "text": "",
        "tokens": 0,
        "memories": [],
        "relations": [],
    }
    assert mem.context("anything", user_id="nobody")["text"] == ""
    with pytest.raises(ValidationError):
        mem.context("x", user_id="c", max_tokens=0)
    with pytest.raises(ValidationError):
        mem.context("   ", user_id="c")
    with pytest.raises(ScopeError):
        mem.context("x")


def test_graph_entities_relations_merge(mem: Any) -> None:
    mem.add("Caroline: I moved from my home country, Sweden.", user_id="g", infer=False)
    mem.add("Melanie: My sister Anna lives in New York City.", user_id="g", infer=False)
    names = {e["name"]: e for e in mem.entities(user_id="g")}
    assert {"Caroline", "Sweden", "Melanie", "Anna", "New York City"} <= set(names)
    assert names["Sweden"]["kind"] == "place" and names["Anna"]["kind"] == "person"
    assert len(mem.entities(user_id="g", limit=2)) == 2
    triples = {(r["source"], r["relationship"], r["target"]) for r in mem.relations(user_id="g")}
    assert ("Anna", "lives_in", "New York City") in triples
    (swe,) = mem.relations(user_id="g", entity="Sweden")
    assert (swe["source"], swe["target"]) == ("Caroline", "Sweden") and swe["id"]
    assert mem.relations(user_id="g", entity=names["Sweden"]["id"]) == [swe]
    assert mem.relations(user_id="g", entity="Atlantis") == []
    graph = mem.graph(user_id="g")
    assert set(graph) == {"nodes", "edges"}
    ids = {n["id"] for n in graph["nodes"]}
    assert all(e["source_id"] in ids and e["target_id"] in ids for e in graph["edges"])
    assert len(graph["edges"]) == len(triples)
    assert mem.graph(user_id="nobody") == {"nodes": [], "edges": []}
    # Merge Anna into Melanie and back: the merge record, then the graph as it was.
    merged = mem.merge_entities(names["Anna"]["id"], names["Melanie"]["id"])
    assert merged["source_id"] == names["Anna"]["id"] and merged["undone_at"] is None
    assert "Anna" not in {e["name"] for e in mem.entities(user_id="g")}
    assert mem.unmerge(merged["id"])["undone_at"]
    assert mem.graph(user_id="g") == graph
    with pytest.raises(EntityNotFoundError):
        mem.unmerge("no-such-merge")
    with pytest.raises(EntityNotFoundError):
        mem.merge_entities("no-such-entity", names["Anna"]["id"])
    with pytest.raises(ValidationError):
        mem.unmerge(merged["id"])  # already undone
    with pytest.raises(ValidationError):
        mem.merge_entities(names["Anna"]["id"], names["Anna"]["id"])
    with pytest.raises(ValidationError):
        mem.relations(user_id="g", entity="  ")
    with pytest.raises(ValidationError):
        mem.graph(user_id="g", limit=0)
    with pytest.raises(ScopeError):
        mem.graph()
