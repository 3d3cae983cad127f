"""Tenant isolation and auth on EVERY route, with requests generated from ``/openapi.json``.

Tenant A stores memories holding a secret. Then, for each path and method in the OpenAPI
document, tenant B sends a request built from the operation's schema with A's memory id, A's
user_id and A's key id substituted wherever a parameter or body field takes one (plus Mem0 #6277
style metadata carrying A's user_id). Every answer must be a clean 2xx/403/404/409/422, never
contain A's secret, and afterwards A's memories and their history must be exactly as before.
A new route is probed without anyone writing a test for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.server import ServerSettings, ServerThread, create_app

ADMIN = "admin-tenancy-key-0123456789"
SECRET = "SECRET-acme-7f3a9c"
A_USER = "alice-acme"
GRAPH_TEXTS = (
    "Caroline: I moved from my home country, Sweden.",
    "Melanie: My sister Anna lives in New York City.",
)
#: Entities of A's graph; no answer to B may name them.
GRAPH_NAMES = ("Caroline", "Melanie", "Sweden", "New York City")
PUBLIC = {"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
#: POST routes that only read; every other non-GET route must refuse a read-only key.
READ_POSTS = {
    "/v1/search",
    "/v1/lessons",
    "/v1/context",
    "/search",
    "/v1/memories/search/",
    "/v2/memories/search/",
    "/v3/memories/search/",
    "/v2/memories/",
    "/v3/memories/",
}


class World:
    def __init__(self, server: ServerThread) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.spec: dict[str, Any] = self.http.get("/openapi.json").json()
        self.key_a, self.key_a_id = self._key("acme")
        self.key_b, _ = self._key("globex")
        self.key_ro, _ = self._key("globex", read_only=True)
        h = bearer(self.key_a)
        self.ids = []
        for text in (f"{SECRET} likes green tea", f"{SECRET} lives in Porto"):
            r = self.http.post(
                "/v1/memories",
                json={"messages": text, "user_id": A_USER, "agent_id": "a-agent", "infer": False},
                headers=h,
            )
            self.ids.append(r.json()["results"][0]["id"])
        self.http.put(f"/v1/memories/{self.ids[0]}", json={"metadata": {"v": 2}}, headers=h)
        # A graph for A: entity ids and a (undone) merge id for the graph routes' probes.
        for text in GRAPH_TEXTS:
            r = self.http.post(
                "/v1/memories",
                json={"messages": text, "user_id": A_USER, "infer": False},
                headers=h,
            )
            assert r.status_code == 200, r.text
        graph = self.http.get("/v1/graph", params={"user_id": A_USER}, headers=h).json()
        names = {n["name"]: n["id"] for n in graph["nodes"]}
        assert set(GRAPH_NAMES) <= set(names), names
        self.entity_ids = [names[n] for n in GRAPH_NAMES]
        r = self.http.post(
            "/v1/entities/merge",
            json={"source_id": self.entity_ids[0], "target_id": self.entity_ids[1]},
            headers=h,
        )
        assert r.status_code == 200, r.text
        self.merge_id = r.json()["id"]
        r = self.http.post(f"/v1/entities/merges/{self.merge_id}/undo", headers=h)
        assert r.status_code == 200, r.text

    def _key(self, tenant: str, **extra: Any) -> tuple[str, str]:
        r = self.http.post("/v1/keys", json={"tenant": tenant, **extra}, headers=bearer(ADMIN))
        assert r.status_code == 201
        return r.json()["key"], r.json()["id"]

    def snapshot(self) -> list[dict[str, Any]]:
        """Everything of tenant A: memories, history and graph, as A's own key sees them."""
        r = self.http.get("/v1/export", headers=bearer(self.key_a))
        assert r.status_code == 200
        lines = [json.loads(x) for x in r.text.splitlines()]
        graph = self.http.get(
            "/v1/graph",
            params={"user_id": A_USER, "include_invalid": "true"},
            headers=bearer(self.key_a),
        )
        assert graph.status_code == 200
        return [*(x for x in lines if x["type"] != "header"), {"type": "graph", **graph.json()}]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder) -> Iterator[World]:
    memory = Memory(path=tmp_path_factory.mktemp("tenancy"), embedder=embedder)
    settings = ServerSettings(admin_key=ADMIN, rate_limit=0)
    with ServerThread(create_app(memory, settings)) as server:
        w = World(server)
        yield w
        w.http.close()
    memory.close()


# -- request generation from the OpenAPI document -------------------------------------------


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path, item in sorted(spec["paths"].items()):
        for method, op in sorted(item.items()):
            if method in ("get", "post", "put", "delete", "patch"):
                out.append((path, method, op))
    return out


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def value_for(name: str, w: World) -> Any:
    """What an attacker in tenant B would put in a field called ``name``."""
    return {
        "memory_id": w.ids[0],
        "id": w.ids[0],
        "source_id": w.entity_ids[0],
        "target_id": w.entity_ids[1],
        "merge_id": w.merge_id,
        "entity": w.entity_ids[2],
        "key_id": w.key_a_id,
        "user_id": A_USER,
        "agent_id": "a-agent",
        "run_id": None,
        "tenant": "acme",
        "query": f"{SECRET} tea",
        "messages": [{"role": "user", "content": "I own this now"}],
        "text": "pwned by globex",
        "data": "pwned by globex",
        "memory": "pwned by globex",
        "metadata": {"user_id": A_USER, "tenant": "acme"},
        "filters": {"user_id": A_USER},
        "limit": 100,
        "top_k": 100,
        "include_history": True,
    }.get(name)


def fill(schema: dict[str, Any], spec: dict[str, Any], w: World) -> Any:
    schema = resolve(spec, schema)
    if schema.get("type") == "object" or "properties" in schema:
        body = {}
        for name in schema.get("properties", {}):
            value = value_for(name, w)
            if value is not None:
                body[name] = value
        if not schema.get("properties"):  # a free-form object (Mem0 OSS PUT)
            body = {"text": "pwned by globex", "metadata": {"user_id": A_USER}}
        return body
    return None


def build(path: str, method: str, op: dict[str, Any], w: World) -> dict[str, Any]:
    url = path
    params: dict[str, Any] = {}
    for p in op.get("parameters", []):
        value = value_for(p["name"], w)
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", str(value or w.ids[0]))
        elif p["in"] == "query" and value is not None:
            params[p["name"]] = json.dumps(value) if isinstance(value, dict) else value
    request: dict[str, Any] = {"method": method.upper(), "url": url, "params": params}
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        request["json"] = fill(content["application/json"]["schema"], w.spec, w)
    elif content:
        # JSON Lines import: A's id and user in an export line, and a chat line for A's user.
        lines = [
            {"type": "memory", "id": w.ids[0], "memory": "pwned by globex", "user_id": A_USER},
            {"role": "user", "content": "pwned by globex", "user_id": A_USER},
        ]
        request["content"] = "\n".join(json.dumps(x) for x in lines).encode()
    return request


def probes(w: World) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p, m, build(p, m, op, w)) for p, m, op in operations(w.spec) if p not in PUBLIC]


# -- the tests --------------------------------------------------------------------------------


def test_the_spec_covers_the_api(world: World) -> None:
    paths = {p for p, _, _ in operations(world.spec)}
    assert len(paths) >= 20
    assert {"/v1/memories/{memory_id}", "/v3/memories/add/", "/memories/{memory_id}"} <= paths
    graph = {"/v1/entities", "/v1/relations", "/v1/graph", "/v1/entities/merge"}
    assert graph | {"/v1/entities/merges/{merge_id}/undo"} <= paths


def test_every_route_but_health_needs_a_valid_key(world: World) -> None:
    checked = 0
    for path, method, req in probes(world):
        for headers in ({}, bearer("edb_wrong"), {"X-API-Key": "nope"}, bearer(ADMIN + "x")):
            r = world.http.request(**req, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.status_code, r.text)
            assert r.json()["error"]["type"] == "AuthError"
        checked += 1
    assert checked >= 25


def test_read_only_keys_cannot_write_on_any_route(world: World) -> None:
    before = world.snapshot()
    for path, method, req in probes(world):
        r = world.http.request(**req, headers=bearer(world.key_ro))
        write = method != "get" and path not in READ_POSTS
        if write:
            assert r.status_code == 403, (method, path, r.status_code, r.text)
        else:
            assert r.status_code != 403 or path.startswith("/v1/keys"), (method, path, r.text)
        assert r.status_code < 500, (method, path, r.text)
    assert world.snapshot() == before


def test_no_route_lets_another_tenant_see_or_change_memories(world: World) -> None:
    before = world.snapshot()
    assert len([x for x in before if x["type"] == "memory"]) == 2 + len(GRAPH_TEXTS)
    seen = []
    for path, method, req in probes(world):
        switching = {**bearer(world.key_b), "X-Engramdb-Tenant": "acme"}
        r = world.http.request(**req, headers=switching)
        assert r.status_code == 403 and SECRET not in r.text, (method, path, r.text)
        for headers in (bearer(world.key_b), {"Authorization": f"Token {world.key_b}"}):
            r = world.http.request(**req, headers=headers)
            seen.append((method, path, r.status_code))
            assert r.status_code in (200, 201, 403, 404, 409, 422), (method, path, r.text)
            assert SECRET not in r.text, (method, path, r.text)
            leaked = [n for n in GRAPH_NAMES if n in r.text]
            assert not leaked, (method, path, leaked, r.text)
            if r.status_code == 200 and path.startswith("/v1/memories/{"):
                raise AssertionError(f"{method} {path} answered 200 for another tenant's id")
        # A's data is unchanged after each probe, not only at the end.
        assert world.snapshot() == before, (method, path)
    # Memory-id routes answered 404 (not 403/422): the id simply does not exist for B.
    by_id = [s for m, p, s in seen if "{memory_id}" in p]
    assert by_id and set(by_id) <= {404, 422}, seen
    # So did A's entity ids and merge id: B may not merge or unmerge A's graph.
    graph_ids = [s for m, p, s in seen if p.startswith("/v1/entities/merge")]
    assert len(graph_ids) == 4 and set(graph_ids) == {404}, seen
    # The graph reads answered, empty: B's tenant has no entities under A's user id.
    empty = {"results": []}
    for path, want in (("/v1/entities", empty), ("/v1/relations", empty)):
        r = world.http.get(path, params={"user_id": A_USER}, headers=bearer(world.key_b))
        assert r.status_code == 200 and r.json() == want, (path, r.text)
    r = world.http.get("/v1/graph", params={"user_id": A_USER}, headers=bearer(world.key_b))
    assert r.json() == {"nodes": [], "edges": []}
    # And A still sees everything, through the same routes.
    for mid in world.ids:
        r = world.http.get(f"/v1/memories/{mid}", headers=bearer(world.key_a))
        assert r.status_code == 200 and SECRET in r.json()["memory"]


def test_admin_without_tenant_header_does_not_see_tenant_data(world: World) -> None:
    for mid in world.ids:
        assert world.http.get(f"/v1/memories/{mid}", headers=bearer(ADMIN)).status_code == 404
    r = world.http.get(
        f"/v1/memories/{world.ids[0]}", headers={**bearer(ADMIN), "X-Engramdb-Tenant": "acme"}
    )
    assert r.status_code == 200
