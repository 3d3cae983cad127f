"""Lifecycle routes over real HTTP: as_of search, include_invalid listing, forget with
tombstones, consolidate and restore; read-only keys cannot write, tenants stay apart."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.integration.test_server import Env, auth, error, start

from engramdb.embed.local import LocalEmbedder


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder) -> Iterator[Env]:
    server, memory = start(tmp_path_factory.mktemp("server"), embedder)
    e = Env(server)
    yield e
    e.http.close()
    server.stop()
    memory.close()


def _add(http: httpx.Client, key: str, **body: object) -> dict:  # type: ignore[type-arg]
    r = http.post("/v1/memories", json=body, headers=auth(key))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_as_of_search_and_superseded_listing(env: Env) -> None:
    h, a = env.http, auth(env.a)
    _add(h, env.a, messages="I live in Porto.", user_id="t1", timestamp="2022-02-01T00:00:00Z")
    _add(h, env.a, messages="I moved to Helsinki.", user_id="t1", timestamp="2024-05-20T00:00:00Z")
    now = h.post("/v1/search", json={"query": "where do I live", "user_id": "t1"}, headers=a)
    assert [r["memory"] for r in now.json()["results"]] == ["Moved to Helsinki"]
    then = h.post(
        "/v1/search",
        json={"query": "where do I live", "user_id": "t1", "as_of": "2023-01-01T00:00:00Z"},
        headers=a,
    )
    (porto,) = then.json()["results"]
    assert porto["memory"] == "Lives in Porto" and porto["invalid_at"].startswith("2024-05-20")
    bad = h.post("/v1/search", json={"query": "x", "user_id": "t1", "as_of": "soon"}, headers=a)
    assert "as_of" in error(bad, 422)["message"]
    listed = h.get("/v1/memories", params={"user_id": "t1", "include_invalid": True}, headers=a)
    assert [r["status"] for r in listed.json()["results"]] == ["active", "superseded"]
    assert len(h.get("/v1/memories", params={"user_id": "t1"}, headers=a).json()["results"]) == 1


def test_forget_and_tombstones(env: Env) -> None:
    h, a = env.http, auth(env.a)
    _add(h, env.a, messages="my secret is Zorblatt", user_id="t2", infer=False)
    error(h.post("/v1/forget", json={"user_id": "t2"}, headers=auth(env.ro)), 403)
    error(h.post("/v1/forget", json={}, headers=a), 422)
    error(h.post("/v1/forget", json={"memory_id": "nope"}, headers=a), 404)
    # Another tenant's forget of the same user id reaches nothing of acme's.
    other = h.post("/v1/forget", json={"user_id": "t2"}, headers=auth(env.b))
    assert other.json()["counts"]["memories"] == 0
    r = h.post("/v1/forget", json={"user_id": "t2", "reason": "user asked"}, headers=a)
    assert r.status_code == 200, r.text
    tomb = r.json()
    assert tomb["counts"]["memories"] == 1 and tomb["reason"] == "user asked"
    assert h.get("/v1/memories", params={"user_id": "t2"}, headers=a).json()["results"] == []
    listed = h.get("/v1/tombstones", params={"user_id": "t2"}, headers=auth(env.ro))
    assert [t["id"] for t in listed.json()["results"]] == [tomb["id"]]
    assert "Zorblatt" not in listed.text


def test_consolidate_and_restore(env: Env) -> None:
    h, a = env.http, auth(env.a)
    _add(h, env.a, messages="User likes green tea", user_id="t3", infer=False, importance=0.9)
    _add(h, env.a, messages="user likes green tea.", user_id="t3", infer=False)
    error(h.post("/v1/consolidate", json={"user_id": "t3"}, headers=auth(env.ro)), 403)
    dry = h.post("/v1/consolidate", json={"user_id": "t3", "dry_run": True}, headers=a).json()
    assert dry["archived"] == 1 and dry["dry_run"] is True
    done = h.post("/v1/consolidate", json={"user_id": "t3"}, headers=a).json()
    (dup,) = done["merged"][0]["archived"]
    assert len(h.get("/v1/memories", params={"user_id": "t3"}, headers=a).json()["results"]) == 1
    error(h.post(f"/v1/memories/{dup}/restore", headers=auth(env.ro)), 403)
    error(h.post(f"/v1/memories/{dup}/restore", headers=auth(env.b)), 404)
    back = h.post(f"/v1/memories/{dup}/restore", headers=a)
    assert back.status_code == 200 and back.json()["status"] == "active"
    error(h.post(f"/v1/memories/{dup}/restore", headers=a), 422)
