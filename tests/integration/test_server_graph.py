"""The graph routes over HTTP: ``GET /v1/entities``, ``/v1/relations``, ``/v1/graph`` and the
entity merge and undo, with auth, bad input (422), unknown ids (404) and tenant isolation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.server import ServerSettings, ServerThread, create_app

ADMIN = "admin-graph-key-0123456789"
TEXTS = (
    "Caroline: I moved from my home country, Sweden.",
    "Melanie: My sister Anna lives in New York City.",
)


class Api:
    def __init__(self, server: ServerThread) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.a = self.key("acme")
        self.b = self.key("globex")
        self.ro = self.key("acme", read_only=True)
        for text in TEXTS:
            r = self.http.post(
                "/v1/memories",
                json={"messages": text, "user_id": "grace", "infer": False},
                headers=bearer(self.a),
            )
            assert r.status_code == 200, r.text

    def key(self, tenant: str, **extra: Any) -> str:
        r = self.http.post("/v1/keys", json={"tenant": tenant, **extra}, headers=bearer(ADMIN))
        assert r.status_code == 201, r.text
        return str(r.json()["key"])

    def get(self, path: str, key: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=bearer(key))

    def post(self, path: str, key: str, body: Any = None) -> httpx.Response:
        return self.http.post(path, json=body, headers=bearer(key))

    def ids(self) -> dict[str, str]:
        found = self.get("/v1/entities", self.a, user_id="grace").json()["results"]
        return {e["name"]: e["id"] for e in found}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder) -> Iterator[Api]:
    memory = Memory(path=tmp_path_factory.mktemp("graph-routes"), embedder=embedder)
    with ServerThread(create_app(memory, ServerSettings(admin_key=ADMIN, rate_limit=0))) as srv:
        a = Api(srv)
        yield a
        a.http.close()
    memory.close()


def error(r: httpx.Response, status: int, type_: str) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()["error"]
    assert body["type"] == type_, body
    return str(body["message"])


def test_reads_return_the_scope_graph(api: Api) -> None:
    entities = api.get("/v1/entities", api.a, user_id="grace").json()["results"]
    kinds = {e["name"]: e["kind"] for e in entities}
    assert kinds == {
        "Caroline": "person",
        "Sweden": "place",
        "Melanie": "person",
        "Anna": "person",
        "New York City": "place",
    }
    assert all(e["user_id"] == "grace" and e["memories"] == 1 for e in entities)
    assert len(api.get("/v1/entities", api.a, user_id="grace", limit=2).json()["results"]) == 2
    rels = api.get("/v1/relations", api.a, user_id="grace").json()["results"]
    assert {(r["source"], r["relationship"], r["target"]) for r in rels} == {
        ("Caroline", "from", "Sweden"),
        ("Melanie", "sibling", "Anna"),
        ("Anna", "lives_in", "New York City"),
    }
    anna = api.get("/v1/relations", api.a, user_id="grace", entity="Anna").json()["results"]
    assert len(anna) == 2
    assert api.get("/v1/relations", api.a, user_id="grace", entity="Atlantis").json() == {
        "results": []
    }
    graph = api.get("/v1/graph", api.a, user_id="grace", include_invalid="true").json()
    assert len(graph["nodes"]) == 5 and len(graph["edges"]) == 3
    nodes = {n["id"] for n in graph["nodes"]}
    assert all(
        {e["source_id"], e["target_id"]} <= nodes and e["memory_ids"] for e in graph["edges"]
    )
    # A read-only key reads the graph too.
    assert api.get("/v1/graph", api.ro, user_id="grace").json() == {
        "nodes": graph["nodes"],
        "edges": graph["edges"],
    }


def test_bad_input_is_a_422(api: Api) -> None:
    for path in ("/v1/entities", "/v1/relations", "/v1/graph"):
        assert "user_id" in error(api.get(path, api.a), 422, "ScopeError")
        error(api.get(path, api.a, user_id="grace", limit=0), 422, "ValidationError")
        error(api.get(path, api.a, user_id="grace", limit="many"), 422, "ValidationError")
        error(api.get(path, api.a, user_id=""), 422, "ValidationError")
    error(api.get("/v1/relations", api.a, user_id="grace", entity=" "), 422, "ValidationError")
    error(
        api.get("/v1/graph", api.a, user_id="grace", include_invalid="maybe"),
        422,
        "ValidationError",
    )
    ids = api.ids()
    for body in (
        {"source_id": ids["Anna"]},
        {"source_id": ids["Anna"], "target_id": 5},
        {"source_id": ids["Anna"], "target_id": ids["Melanie"], "extra": 1},
        ["not", "an", "object"],
    ):
        error(api.post("/v1/entities/merge", api.a, body), 422, "ValidationError")
    same = {"source_id": ids["Anna"], "target_id": ids["Anna"]}
    assert "itself" in error(api.post("/v1/entities/merge", api.a, same), 422, "ValidationError")


def test_merge_and_undo_with_404s_and_auth(api: Api) -> None:
    ids = api.ids()
    body = {"source_id": ids["Anna"], "target_id": ids["Melanie"]}
    assert api.http.post("/v1/entities/merge", json=body).status_code == 401
    error(api.post("/v1/entities/merge", api.ro, body), 403, "AuthError")
    unknown = {"source_id": "no-such-entity", "target_id": ids["Melanie"]}
    error(api.post("/v1/entities/merge", api.a, unknown), 404, "EntityNotFoundError")
    error(api.post("/v1/entities/merges/no-such-merge/undo", api.a), 404, "EntityNotFoundError")

    r = api.post("/v1/entities/merge", api.a, body)
    assert r.status_code == 200, r.text
    merge = r.json()
    assert merge["source_id"] == ids["Anna"] and merge["undone_at"] is None
    assert "Anna" not in api.ids()
    rels = api.get("/v1/relations", api.a, user_id="grace", entity=ids["Melanie"]).json()
    assert ("Melanie", "lives_in", "New York City") in {
        (x["source"], x["relationship"], x["target"]) for x in rels["results"]
    }
    # Another tenant can neither undo it nor merge acme's entities (404: not theirs).
    undo = f"/v1/entities/merges/{merge['id']}/undo"
    error(api.post(undo, api.b), 404, "EntityNotFoundError")
    back = {"source_id": ids["Caroline"], "target_id": ids["Melanie"]}
    error(api.post("/v1/entities/merge", api.b, back), 404, "EntityNotFoundError")
    error(api.post(undo, api.ro), 403, "AuthError")
    r = api.post(undo, api.a)
    assert r.status_code == 200 and r.json()["undone_at"], r.text
    assert "Anna" in api.ids()
    assert "already undone" in error(api.post(undo, api.a), 422, "ValidationError")


def test_another_tenant_sees_an_empty_graph(api: Api) -> None:
    for path in ("/v1/entities", "/v1/relations"):
        r = api.get(path, api.b, user_id="grace")
        assert r.status_code == 200 and r.json() == {"results": []}
    assert api.get("/v1/graph", api.b, user_id="grace").json() == {"nodes": [], "edges": []}
    anna = api.ids()["Anna"]
    assert api.get("/v1/relations", api.b, user_id="grace", entity=anna).json() == {"results": []}
    for path in ("/v1/entities", "/v1/relations", "/v1/graph"):
        assert api.http.get(path, params={"user_id": "grace"}).status_code == 401


def test_export_and_import_carry_the_graph_over_http(api: Api) -> None:
    relations = api.get("/v1/relations", api.a, user_id="grace", include_invalid=True)
    before = relations.json()["results"]
    entities = api.get("/v1/entities", api.a, user_id="grace").json()["results"]
    dump = api.get("/v1/export", api.a, user_id="grace")
    kinds = {line.split('"type": "', 1)[1].split('"', 1)[0] for line in dump.text.splitlines()}
    assert {"entity", "entity_links", "relation"} <= kinds
    gone = api.http.delete("/v1/memories", params={"user_id": "grace"}, headers=bearer(api.a))
    assert gone.status_code == 200, gone.text
    assert api.get("/v1/relations", api.a, user_id="grace").json()["results"] == []
    r = api.http.post("/v1/import", content=dump.content, headers=bearer(api.a))
    assert r.status_code == 200, r.text
    assert r.json()["graph"]["relations"] == len(before)
    after = api.get("/v1/relations", api.a, user_id="grace", include_invalid=True)
    assert after.json()["results"] == before
    assert api.get("/v1/entities", api.a, user_id="grace").json()["results"] == entities
