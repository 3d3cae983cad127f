"""The REST server over real HTTP on 127.0.0.1: every route, auth, keys, errors and limits.

One uvicorn server per module (in a thread) over a real SQLite store in a temporary home.
Tenant isolation probes generated from the OpenAPI document live in test_server_tenancy.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engramdb import Memory
from engramdb.client import Client
from engramdb.embed.local import LocalEmbedder
from engramdb.errors import AuthError
from engramdb.server import ServerSettings, ServerThread, create_app

ADMIN = "admin-test-key-0123456789"


class Env:
    """A running server, an HTTP client and keys for tenants ``acme`` and ``globex``."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.a = self.make_key("acme")
        self.b = self.make_key("globex")
        self.ro = self.make_key("acme", read_only=True)

    def make_key(self, tenant: str, **extra: Any) -> str:
        r = self.http.post("/v1/keys", json={"tenant": tenant, **extra}, headers=auth(ADMIN))
        assert r.status_code == 201, r.text
        return str(r.json()["key"])


def auth(key: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {key}"}


def error(r: httpx.Response, status: int, type_: str | None = None) -> dict[str, Any]:
    """Assert an error answer: the status and the JSON shape {"error": {"type", "message"}}."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["type"], str) and isinstance(body["error"]["message"], str)
    if type_ is not None:
        assert body["error"]["type"] == type_, body
    return dict(body["error"])


def start(home: Path, embedder: LocalEmbedder, **settings: Any) -> tuple[ServerThread, Memory]:
    memory = Memory(path=home, embedder=embedder)
    merged: dict[str, Any] = {
        "admin_key": ADMIN,
        "rate_limit": 0,
        "max_messages": 5,
        "max_query_chars": 300,
        "max_body_bytes": 64_000,
        "max_import_bytes": 2_000_000,
        **settings,
    }
    server = ServerThread(create_app(memory, ServerSettings(**merged))).start()
    return server, memory


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder) -> Iterator[Env]:
    server, memory = start(tmp_path_factory.mktemp("server"), embedder)
    e = Env(server)
    yield e
    e.http.close()
    server.stop()
    memory.close()


def add(env: Env, key: str, text: str, user: str = "alice", **extra: Any) -> str:
    body = {"messages": text, "user_id": user, "infer": False, **extra}
    r = env.http.post("/v1/memories", json=body, headers=auth(key))
    assert r.status_code == 200, r.text
    return str(r.json()["results"][0]["id"])


# -- meta ---------------------------------------------------------------------------------


def test_health_needs_no_key_and_docs_are_served(env: Env) -> None:
    r = env.http.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    spec = env.http.get("/openapi.json").json()
    for path, method in [
        ("/v1/memories", "post"),
        ("/v1/memories", "get"),
        ("/v1/memories", "delete"),
        ("/v1/memories/{memory_id}", "get"),
        ("/v1/memories/{memory_id}", "put"),
        ("/v1/memories/{memory_id}", "delete"),
        ("/v1/memories/{memory_id}/history", "get"),
        ("/v1/search", "post"),
        ("/v1/export", "get"),
        ("/v1/import", "post"),
        ("/v1/keys", "post"),
        ("/v1/keys", "get"),
        ("/v1/keys/{key_id}", "delete"),
        ("/health", "get"),
    ]:
        assert method in spec["paths"][path], (path, method)
    add_schema = spec["paths"]["/v1/memories"]["post"]["requestBody"]["content"]
    assert "$ref" in add_schema["application/json"]["schema"]
    assert "AddRequest" in spec["components"]["schemas"]
    docs = env.http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


# -- auth ---------------------------------------------------------------------------------


def test_missing_and_wrong_keys_answer_401(env: Env) -> None:
    error(env.http.get("/v1/memories", params={"user_id": "x"}), 401, "AuthError")
    error(env.http.get("/v1/memories", params={"user_id": "x"}, headers=auth("nope")), 401)
    error(env.http.get("/v1/memories", params={"user_id": "x"}, headers=auth(env.a, "Basic")), 401)
    error(env.http.get("/v1/memories", params={"user_id": "x"}, headers={"X-API-Key": "bad"}), 401)


@pytest.mark.parametrize(
    "headers",
    [
        lambda k: {"Authorization": f"Bearer {k}"},
        lambda k: {"Authorization": f"bearer {k}"},
        lambda k: {"Authorization": f"Token {k}"},
        lambda k: {"X-API-Key": k},
    ],
    ids=["bearer", "bearer-lowercase", "token", "x-api-key"],
)
def test_every_key_header_form_is_accepted(env: Env, headers: Any) -> None:
    r = env.http.get("/v1/memories", params={"user_id": "nobody"}, headers=headers(env.a))
    assert r.status_code == 200 and r.json() == {"results": []}


def test_read_only_key_reads_but_cannot_write(env: Env) -> None:
    mid = add(env, env.a, "read only keys can see this", user="ro-user")
    h = auth(env.ro)
    assert env.http.get(f"/v1/memories/{mid}", headers=h).status_code == 200
    r = env.http.post("/v1/search", json={"query": "see", "user_id": "ro-user"}, headers=h)
    assert r.status_code == 200 and r.json()["results"]
    writes = [
        ("POST", "/v1/memories", {"json": {"messages": "x", "user_id": "ro-user"}}),
        ("PUT", f"/v1/memories/{mid}", {"json": {"text": "changed"}}),
        ("DELETE", f"/v1/memories/{mid}", {}),
        ("DELETE", "/v1/memories", {"params": {"user_id": "ro-user"}}),
        ("POST", "/v1/import", {"content": b'{"role": "user", "content": "x"}\n'}),
        ("POST", "/reset", {}),
    ]
    for method, path, kw in writes:
        error(env.http.request(method, path, headers=h, **kw), 403, "AuthError")
    assert env.http.get(f"/v1/memories/{mid}", headers=auth(env.a)).json()["memory"] == (
        "read only keys can see this"
    )


def test_client_raises_auth_error(env: Env) -> None:
    with Client(env.server.url, api_key="wrong") as c, pytest.raises(AuthError):
        c.get_all(user_id="alice")
    with Client(env.server.url, api_key=env.ro) as c, pytest.raises(AuthError):
        c.add("nope", user_id="alice", infer=False)


# -- keys ---------------------------------------------------------------------------------


def test_key_lifecycle(env: Env) -> None:
    h = auth(ADMIN)
    r = env.http.post("/v1/keys", json={"tenant": "initech", "name": "ci"}, headers=h)
    assert r.status_code == 201
    created = r.json()
    assert {"id", "key", "tenant"} <= set(created) and created["tenant"] == "initech"
    assert created["key"].startswith("edb_") and len(created["key"]) > 40
    listed = env.http.get("/v1/keys", headers=h).json()["results"]
    mine = [k for k in listed if k["id"] == created["id"]]
    assert mine and mine[0]["name"] == "ci" and "key" not in mine[0]
    assert created["key"] not in json.dumps(listed)
    only = env.http.get("/v1/keys", params={"tenant": "initech"}, headers=h).json()["results"]
    assert {k["tenant"] for k in only} == {"initech"}
    key = created["key"]
    assert env.http.get("/v1/memories", params={"user_id": "u"}, headers=auth(key)).is_success
    r = env.http.delete(f"/v1/keys/{created['id']}", headers=h)
    assert r.status_code == 200
    error(env.http.get("/v1/memories", params={"user_id": "u"}, headers=auth(key)), 401)
    error(env.http.delete(f"/v1/keys/{created['id']}", headers=h), 404, "KeyNotFound")


def test_keys_need_the_admin_key_and_valid_input(env: Env) -> None:
    error(env.http.post("/v1/keys", json={"tenant": "x"}, headers=auth(env.a)), 403)
    error(env.http.get("/v1/keys", headers=auth(env.a)), 403)
    error(env.http.delete("/v1/keys/key_123", headers=auth(env.a)), 403)
    h = auth(ADMIN)
    for bad in [{}, {"tenant": ""}, {"tenant": "a b"}, {"tenant": "x" * 200}, {"tenant": 3}]:
        error(env.http.post("/v1/keys", json=bad, headers=h), 422)
    error(env.http.post("/v1/keys", json={"tenant": "ok", "role": "root"}, headers=h), 422)


def test_admin_acts_on_the_tenant_header_or_default(env: Env) -> None:
    mid = add(env, env.a, "acme memory for the admin", user="adm-user")
    h = auth(ADMIN)
    error(env.http.get(f"/v1/memories/{mid}", headers=h), 404)
    r = env.http.get(f"/v1/memories/{mid}", headers={**h, "X-Engramdb-Tenant": "acme"})
    assert r.status_code == 200 and r.json()["id"] == mid
    error(env.http.get("/v1/memories/x", headers={**h, "X-Engramdb-Tenant": "bad tenant"}), 422)
    default_id = add(env, ADMIN, "lives in the default tenant", user="adm-user")
    assert env.http.get(f"/v1/memories/{default_id}", headers=h).status_code == 200
    error(env.http.get(f"/v1/memories/{default_id}", headers=auth(env.a)), 404)
    # A tenant key may not switch tenants with the header.
    r = env.http.get(f"/v1/memories/{mid}", headers={**auth(env.b), "X-Engramdb-Tenant": "acme"})
    error(r, 403)


# -- the /v1 API --------------------------------------------------------------------------


def test_memory_lifecycle_over_v1(env: Env) -> None:
    h = auth(env.a)
    r = env.http.post(
        "/v1/memories",
        json={
            "messages": [
                {"role": "user", "content": "I keep bees on the roof"},
                {"role": "assistant", "content": "Lovely, how many hives?"},
            ],
            "user_id": "life",
            "agent_id": "helper",
            "metadata": {"topic": "hobby"},
            "infer": False,
            "timestamp": "2024-05-01T10:00:00+02:00",
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["event"] for x in results] == ["ADD", "ADD"]
    mid = results[0]["id"]
    got = env.http.get(f"/v1/memories/{mid}", headers=h).json()
    assert got["memory"] == "I keep bees on the roof"
    assert got["user_id"] == "life" and got["agent_id"] == "helper"
    assert got["metadata"] == {"topic": "hobby"}
    assert got["created_at"].startswith("2024-05-01T08:00:00")

    listed = env.http.get("/v1/memories", params={"user_id": "life"}, headers=h).json()
    assert {x["id"] for x in listed["results"]} == {x["id"] for x in results}
    one = env.http.get("/v1/memories", params={"user_id": "life", "limit": 1}, headers=h).json()
    assert len(one["results"]) == 1
    by_agent = env.http.get("/v1/memories", params={"agent_id": "helper"}, headers=h).json()
    assert len(by_agent["results"]) == 2
    filtered = env.http.get(
        "/v1/memories",
        params={"user_id": "life", "filters": json.dumps({"role": "assistant"})},
        headers=h,
    ).json()
    assert [x["memory"] for x in filtered["results"]] == ["Lovely, how many hives?"]

    hits = env.http.post(
        "/v1/search", json={"query": "beekeeping hives", "user_id": "life", "limit": 5}, headers=h
    ).json()["results"]
    assert hits and {"score", "similarity", "memory", "id"} <= set(hits[0])

    r = env.http.put(
        f"/v1/memories/{mid}", json={"text": "I keep three hives", "metadata": {"n": 3}}, headers=h
    )
    assert r.status_code == 200
    assert r.json()["memory"] == "I keep three hives" and r.json()["metadata"] == {"n": 3}
    history = env.http.get(f"/v1/memories/{mid}/history", headers=h).json()
    assert [e["event"] for e in history] == ["ADD", "UPDATE"]
    assert history[1]["old_memory"] == "I keep bees on the roof"

    r = env.http.delete(f"/v1/memories/{mid}", headers=h)
    assert r.status_code == 200 and r.json()["id"] == mid
    error(env.http.get(f"/v1/memories/{mid}", headers=h), 404, "MemoryNotFoundError")
    assert [e["event"] for e in env.http.get(f"/v1/memories/{mid}/history", headers=h).json()] == [
        "ADD",
        "UPDATE",
        "DELETE",
    ]
    r = env.http.delete("/v1/memories", params={"user_id": "life"}, headers=h)
    assert r.status_code == 200 and r.json()["deleted"] >= 1
    assert env.http.get("/v1/memories", params={"user_id": "life"}, headers=h).json() == {
        "results": []
    }


def test_v1_input_errors_are_422_never_500(env: Env) -> None:
    h = auth(env.a)
    error(env.http.delete("/v1/memories", headers=h), 422, "ScopeError")
    error(env.http.get("/v1/memories", headers=h), 422, "ScopeError")
    error(env.http.post("/v1/search", json={"query": "x"}, headers=h), 422, "ScopeError")
    error(env.http.post("/v1/memories", json={"messages": "x"}, headers=h), 422, "ScopeError")
    bad_filter = {"query": "x", "user_id": "u", "filters": {"a": {"regex": 1}}}
    error(env.http.post("/v1/search", json=bad_filter, headers=h), 422, "FilterError")
    error(env.http.get("/v1/memories", params={"user_id": "u", "filters": "{nope"}, headers=h), 422)
    error(env.http.post("/v1/search", json={"query": " ", "user_id": "u"}, headers=h), 422)
    error(
        env.http.post("/v1/search", json={"query": "x", "user_id": "u", "limit": 0}, headers=h), 422
    )
    error(
        env.http.post("/v1/search", json={"query": "x", "user_id": "u", "lim": 1}, headers=h), 422
    )
    error(env.http.post("/v1/search", content=b"{not json", headers=h), 422)
    error(env.http.post("/v1/search", json=[1, 2], headers=h), 422)
    error(env.http.post("/v1/memories", json={"messages": [], "user_id": "u"}, headers=h), 422)
    error(env.http.post("/v1/memories", json={"messages": 5, "user_id": "u"}, headers=h), 422)
    r = env.http.post(
        "/v1/memories",
        json={"messages": "x", "user_id": "u", "timestamp": "tomorrowish"},
        headers=h,
    )
    error(r, 422)
    error(env.http.put("/v1/memories/nope", json={"text": "x"}, headers=h), 404)
    error(env.http.put("/v1/memories/nope", json={}, headers=h), 404)
    error(env.http.delete("/v1/memories/nope", headers=h), 404, "MemoryNotFoundError")
    error(env.http.get("/v1/memories/nope/history", headers=h), 404, "MemoryNotFoundError")
    error(env.http.get("/v1/nothing-here", headers=h), 404, "NotFound")
    error(env.http.patch("/v1/search", headers=h), 405, "MethodNotAllowed")


def test_export_then_import_into_another_tenant(env: Env) -> None:
    h = auth(env.a)
    ids = {add(env, env.a, f"exported fact number {i}", user="exp") for i in range(3)}
    r = env.http.get("/v1/export", params={"user_id": "exp"}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines[0]["type"] == "header"
    assert {x["id"] for x in lines if x["type"] == "memory"} == ids

    other = env.make_key("importer")
    hi = auth(other)
    # The same ids cannot be taken in another tenant: the import is refused whole (409) ...
    r = env.http.post("/v1/import", content=r.content, headers=hi)
    error(r, 409, "ImportWriteError")
    assert "already taken" in r.json()["error"]["message"]
    # ... and chat lines always import.
    chat = "\n".join(
        json.dumps({"role": "user", "content": f"chat line {i}", "user_id": "imp"})
        for i in range(4)
    )
    r = env.http.post("/v1/import", content=chat.encode(), headers=hi)
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 4
    assert (
        len(env.http.get("/v1/memories", params={"user_id": "imp"}, headers=hi).json()["results"])
        == 4
    )
    # Re-importing an export into its own tenant skips every id.
    again = env.http.get("/v1/export", params={"user_id": "exp"}, headers=h)
    r = env.http.post("/v1/import", content=again.content, headers=h)
    assert r.status_code == 200 and r.json()["skipped_existing"] == 3
    bad = env.http.post("/v1/import", content=b'{"type": "memory"}\nnot json\n', headers=hi)
    err = error(bad, 422, "ImportValidationError")
    assert err["report"]["invalid_count"] == 2
    error(env.http.post("/v1/import", content=b"\xff\xfe\x00", headers=hi), 422)


# -- limits -------------------------------------------------------------------------------


def test_body_too_large_is_413(env: Env) -> None:
    h = auth(env.a)
    big = {"messages": "x" * 70_000, "user_id": "u"}
    error(env.http.post("/v1/memories", json=big, headers=h), 413, "PayloadTooLarge")

    def chunks() -> Iterator[bytes]:
        yield b'{"messages": "'
        for _ in range(80):
            yield b"y" * 1000
        yield b'", "user_id": "u"}'

    r = env.http.post("/v1/memories", content=chunks(), headers=h)
    error(r, 413, "PayloadTooLarge")
    # /v1/import has its own, larger limit.
    lines = "\n".join(
        json.dumps({"role": "user", "content": f"line {i} " + "z" * 900, "user_id": "bulk"})
        for i in range(100)
    )
    assert len(lines) > 64_000
    r = env.http.post("/v1/import", content=lines.encode(), headers=h)
    assert r.status_code == 200, r.text


def test_too_many_messages_and_too_long_queries_are_422(env: Env) -> None:
    h = auth(env.a)
    six = [{"role": "user", "content": f"m{i}"} for i in range(6)]
    err = error(
        env.http.post("/v1/memories", json={"messages": six, "user_id": "u"}, headers=h), 422
    )
    assert "limit is 5" in err["message"]
    r = env.http.post("/v1/search", json={"query": "q" * 301, "user_id": "u"}, headers=h)
    assert "limit is 300" in error(r, 422)["message"]
    r = env.http.post("/search", json={"query": "q" * 301, "user_id": "u"}, headers=h)
    error(r, 422)


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path, embedder: LocalEmbedder) -> None:
    server, memory = start(tmp_path, embedder, rate_limit=0.5, rate_burst=3)
    try:
        with httpx.Client(base_url=server.url) as http:
            key = http.post("/v1/keys", json={"tenant": "t"}, headers=auth(ADMIN)).json()["key"]
            other = http.post("/v1/keys", json={"tenant": "t"}, headers=auth(ADMIN)).json()["key"]
            statuses = [
                http.get("/v1/memories", params={"user_id": "u"}, headers=auth(key)).status_code
                for _ in range(4)
            ]
            assert statuses == [200, 200, 200, 429]
            r = http.get("/v1/memories", params={"user_id": "u"}, headers=auth(key))
            error(r, 429, "RateLimited")
            assert int(r.headers["Retry-After"]) >= 1
            # Buckets are per key.
            r = http.get("/v1/memories", params={"user_id": "u"}, headers=auth(other))
            assert r.status_code == 200
    finally:
        server.stop()
        memory.close()


# -- Mem0 OSS server routes ---------------------------------------------------------------


def test_mem0_oss_routes(env: Env) -> None:
    h = auth(env.a)
    r = env.http.post(
        "/memories",
        json={
            "messages": [{"role": "user", "content": "My dog is called Pixel"}],
            "user_id": "oss",
            "metadata": {"src": "oss"},
            "infer": False,
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    mid = r.json()["results"][0]["id"]
    listed = env.http.get("/memories", params={"user_id": "oss"}, headers=h).json()["results"]
    assert [x["id"] for x in listed] == [mid]
    assert env.http.get(f"/memories/{mid}", headers=h).json()["memory"] == "My dog is called Pixel"
    r = env.http.put(f"/memories/{mid}", json={"data": "My dog Pixel is a corgi"}, headers=h)
    assert r.status_code == 200 and r.json()["memory"] == "My dog Pixel is a corgi"
    r = env.http.put(f"/memories/{mid}", json={"text": "Pixel the corgi"}, headers=h)
    assert r.json()["memory"] == "Pixel the corgi"
    error(env.http.put(f"/memories/{mid}", json={"text": 5}, headers=h), 422)
    assert len(env.http.get(f"/memories/{mid}/history", headers=h).json()) == 3
    hits = env.http.post("/search", json={"query": "corgi", "user_id": "oss"}, headers=h).json()
    assert hits["results"][0]["id"] == mid
    assert env.http.delete(f"/memories/{mid}", headers=h).json()["message"]
    error(env.http.get(f"/memories/{mid}", headers=h), 404)
    add(env, env.a, "another oss memory", user="oss")
    error(env.http.delete("/memories", headers=h), 422, "ScopeError")
    assert env.http.delete("/memories", params={"user_id": "oss"}, headers=h).status_code == 200
    assert env.http.get("/memories", params={"user_id": "oss"}, headers=h).json()["results"] == []


def test_mem0_oss_reset_only_touches_the_callers_tenant(env: Env) -> None:
    keep = add(env, env.a, "acme survives globex's reset", user="reset")
    gone = add(env, env.b, "globex memory", user="reset")
    r = env.http.post("/reset", headers=auth(env.b))
    assert r.status_code == 200
    error(env.http.get(f"/v1/memories/{gone}", headers=auth(env.b)), 404)
    assert env.http.get(f"/v1/memories/{keep}", headers=auth(env.a)).status_code == 200


# -- Mem0 platform routes (as mem0ai's MemoryClient sends them) ----------------------------


def test_mem0_platform_routes(env: Env) -> None:
    h = auth(env.a, "Token")
    ping = env.http.get("/v1/ping/", headers=h)
    assert ping.status_code == 200 and ping.json()["status"] == "ok"
    error(env.http.get("/v1/ping/", headers=auth("wrong", "Token")), 401)

    r = env.http.post(
        "/v3/memories/add/",
        json={
            "messages": [{"role": "user", "content": "I am training for a marathon"}],
            "filters": {"user_id": "plat"},
            "metadata": {"user_id": "someone-else"},
            "infer": False,
            "timestamp": 1714550400,
            "output_format": "v1.1",
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    mid = r.json()["results"][0]["id"]
    got = env.http.get(f"/v1/memories/{mid}/", headers=h).json()
    # Metadata never moves a memory to another user (Mem0 #6277).
    assert got["user_id"] == "plat" and got["metadata"] == {"user_id": "someone-else"}
    r = env.http.post(
        "/v1/memories/",
        json={
            "messages": [{"role": "user", "content": "I run every morning"}],
            "user_id": "plat",
            "infer": False,
            "version": "v2",
        },
        headers=h,
    )
    assert r.status_code == 200

    page = env.http.post(
        "/v3/memories/",
        json={"filters": {"AND": [{"user_id": "plat"}]}},
        params={"page": 1, "page_size": 1},
        headers=h,
    ).json()
    assert len(page["results"]) == 1 and page["next"] and page["previous"] is None
    page2 = env.http.post(
        "/v3/memories/",
        json={"filters": {"user_id": "plat"}},
        params={"page": 2, "page_size": 1},
        headers=h,
    ).json()
    assert len(page2["results"]) == 1 and page2["next"] is None and page2["previous"]
    v2 = env.http.post("/v2/memories/", json={"filters": {"user_id": "plat"}}, headers=h).json()
    assert v2["count"] == 2
    v1 = env.http.get("/v1/memories/", params={"user_id": "plat"}, headers=h).json()
    assert len(v1["results"]) == 2
    error(env.http.post("/v3/memories/", json={}, headers=h), 422, "ScopeError")

    for path in ("/v1/memories/search/", "/v2/memories/search/", "/v3/memories/search/"):
        body: dict[str, Any] = {"query": "marathon training", "top_k": 1}
        body.update(
            {"user_id": "plat"} if path.startswith("/v1") else {"filters": {"user_id": "plat"}}
        )
        hits = env.http.post(path, json=body, headers=h).json()["results"]
        assert len(hits) == 1 and hits[0]["id"] == mid, path

    r = env.http.put(f"/v1/memories/{mid}/", json={"text": "I ran a marathon"}, headers=h)
    assert r.status_code == 200 and r.json()["memory"] == "I ran a marathon"
    hist = env.http.get(f"/v1/memories/{mid}/history/", headers=h).json()
    assert [e["event"] for e in hist] == ["ADD", "UPDATE"]
    assert env.http.delete(f"/v1/memories/{mid}/", headers=h).status_code == 200
    error(env.http.get(f"/v1/memories/{mid}/", headers=h), 404)
    # httpx sends a dict query value as its Python repr; both that and JSON are understood.
    r = env.http.delete("/v1/memories/", params={"filters": str({"user_id": "plat"})}, headers=h)
    assert r.status_code == 200
    assert (
        env.http.get("/v1/memories/", params={"user_id": "plat"}, headers=h).json()["results"] == []
    )
    error(env.http.delete("/v1/memories/", params={"filters": "__import__('os')"}, headers=h), 422)
    error(env.http.delete("/v1/memories/", headers=h), 422, "ScopeError")


# -- pieces -------------------------------------------------------------------------------


def test_token_bucket() -> None:
    from engramdb.server.limits import RateLimiter

    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0], max_keys=2)
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    assert limiter.acquire("a") == pytest.approx(0.5)
    now[0] = 0.5
    assert limiter.acquire("a") is None
    assert limiter.acquire("b") is None and limiter.acquire("c") is None
    assert len(limiter._buckets) == 2  # bounded: the least recently used bucket went
    assert RateLimiter(rate=0, burst=1).acquire("x") is None


def test_key_header_parsing() -> None:
    from engramdb.server.auth import key_from

    assert key_from("Bearer abc", None) == "abc"
    assert key_from("token  abc ", None) == "abc"
    assert key_from("Basic abc", None) is None
    assert key_from("Bearer", "k") == "k"
    assert key_from(None, " k ") == "k"
    assert key_from(None, None) is None


def test_settings_from_env() -> None:
    from engramdb.errors import ConfigError

    s = ServerSettings.from_env({"ENGRAMDB_RATE_LIMIT": "0", "ENGRAMDB_MAX_MESSAGES": "7"})
    assert s.rate_limit == 0 and s.max_messages == 7 and s.admin_key is None
    assert ServerSettings.from_env({}, max_messages=3).max_messages == 3
    with pytest.raises(ConfigError):
        ServerSettings.from_env({"ENGRAMDB_MAX_BODY_BYTES": "lots"})


def test_admin_key_is_read_when_the_app_is_created(
    tmp_path: Path, embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGRAMDB_ADMIN_KEY", "from-the-env")
    with Memory(path=tmp_path, embedder=embedder) as memory:
        app = create_app(memory, ServerSettings(rate_limit=0))
        monkeypatch.delenv("ENGRAMDB_ADMIN_KEY")
        with ServerThread(app) as server, httpx.Client(base_url=server.url) as http:
            r = http.post("/v1/keys", json={"tenant": "t"}, headers=auth("from-the-env"))
            assert r.status_code == 201
        assert [k.tenant for k in memory.store.list_keys()] == ["t"]
