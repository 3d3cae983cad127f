"""Request metrics per tenant over time: counted by the real server, kept in the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.scripted_llm import Reply, ScriptedLLM

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.server import ServerSettings, ServerThread, create_app
from engramdb.server.metrics import Meter, kind_of, minute_of
from engramdb.timeutil import to_datetime

ADMIN = "admin-metrics"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def llm_config(server: ScriptedLLM) -> dict[str, Any]:
    return {
        "llm": {
            "provider": "openai",
            "base_url": server.openai_url,
            "api_key": "x",
            "model": "m",
            "max_retries": 1,
            "backoff_s": 0.01,
            "timeout_s": 5,
        }
    }


def totals(series: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("add", "search", "read", "change", "error", "llm_calls", "tokens")
    return {k: sum(p[k] for p in series) for k in keys}


def test_requests_latency_and_llm_use_are_counted_per_tenant(
    tmp_path: Path, embedder: LocalEmbedder, scripted_llm: ScriptedLLM
) -> None:
    facts = json.dumps({"facts": [{"text": "User lives in Oslo"}]})
    scripted_llm.push(Reply(text=facts, prompt_tokens=40, completion_tokens=6))
    memory = Memory(path=tmp_path, embedder=embedder, config=llm_config(scripted_llm))
    app = create_app(memory, ServerSettings(admin_key=ADMIN, rate_limit=0))
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        keys = {}
        for tenant in ("acme", "globex"):
            r = http.post("/v1/keys", json={"tenant": tenant}, headers=auth(ADMIN))
            keys[tenant] = r.json()["key"]
        a, b = auth(keys["acme"]), auth(keys["globex"])
        r = http.post(
            "/v1/memories", json={"messages": "I live in Oslo", "user_id": "u"}, headers=a
        )
        assert r.status_code == 200, r.text
        body = {"messages": "plain note", "user_id": "u", "infer": False}
        assert http.post("/v1/memories", json=body, headers=a).status_code == 200
        for q in ("where do I live", "notes"):
            assert http.post("/v1/search", json={"query": q, "user_id": "u"}, headers=a).is_success
        assert http.get("/v1/memories", params={"user_id": "u"}, headers=a).is_success
        assert http.get("/v1/memories/nope", headers=a).status_code == 404
        assert http.post("/search", json={"query": "x", "user_id": "v"}, headers=b).is_success
        assert http.get("/v1/memories", headers=auth("wrong")).status_code == 401  # not counted

        got = http.get("/v1/metrics", params={"bucket": "minute"}, headers=a).json()
        assert got["bucket"] == "minute"
        mine = totals(got["series"])
        # The metrics request itself is counted after it answers, so it is not in its own body.
        assert mine == {
            "add": 2,
            "search": 2,
            "read": 1,
            "change": 0,
            "error": 1,
            "llm_calls": 1,
            "tokens": 46,
        }
        assert all(p["search_ms"] is None or p["search_ms"] > 0 for p in got["series"])
        assert any(p["search_ms"] for p in got["series"])

        theirs = http.get("/v1/metrics", params={"bucket": "day"}, headers=b).json()
        assert totals(theirs["series"])["search"] == 1
        assert totals(theirs["series"])["add"] == 0

        r = http.get("/v1/metrics", params={"bucket": "week"}, headers=a)
        assert r.status_code == 422 and "bucket" in r.text
        assert http.get("/v1/metrics", params={"since": "soon"}, headers=a).status_code == 422
        later = http.get("/v1/metrics", params={"since": "2999-01-01T00:00:00Z"}, headers=a)
        assert later.json()["series"] == []
    # Counts were written to the store: a second server on it (another host) sees them.
    app2 = create_app(memory, ServerSettings(admin_key=ADMIN, rate_limit=0))
    with ServerThread(app2) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        again = http.get("/v1/metrics", headers=auth(keys["acme"])).json()
        assert totals(again["series"])["search"] == 2
    memory.close()


def test_meter_buckets_and_keeps_counts_when_the_store_fails(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    with Memory(path=tmp_path, embedder=embedder) as memory:
        meter = Meter(memory.store)
        meter.record("t", "search", ms=4.0)
        meter.record("t", "search", ms=6.0)
        meter.record_llm("t", 2, 30)
        meter.record_llm("t", 0, 0)  # nothing to count

        real = memory.store.record_metrics

        def broken(rows: Any) -> None:
            raise RuntimeError("disk full")

        memory.store.record_metrics = broken  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            meter.flush()
        memory.store.record_metrics = real  # type: ignore[method-assign]
        [point] = meter.series("t", bucket="hour")["series"]
        assert (point["search"], point["search_ms"], point["llm_calls"], point["tokens"]) == (
            2,
            5.0,
            2,
            30,
        )
        assert to_datetime(point["at"]).minute == 0
        assert meter.series("other")["series"] == []


def test_kinds_and_minutes() -> None:
    def oss_search() -> None: ...
    def hosted_add_v3() -> None: ...
    def get_memory() -> None: ...

    assert kind_of("POST", oss_search) == "search"
    assert kind_of("POST", hosted_add_v3) == "add"
    assert kind_of("GET", get_memory) == "read"
    assert kind_of("DELETE", get_memory) == "change"
    assert kind_of("GET", None) == "read"
    assert minute_of(to_datetime("2024-05-01T10:11:12.5+02:00")).startswith("2024-05-01T08:11:00")


def test_mcp_shares_the_keys_rate_limit(tmp_path: Path, embedder: LocalEmbedder) -> None:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "0"},
        },
    }
    accept = {"Accept": "application/json, text/event-stream"}
    settings = ServerSettings(admin_key=ADMIN, rate_limit=0.01, rate_burst=3)
    with (
        Memory(path=tmp_path, embedder=embedder) as memory,
        ServerThread(create_app(memory, settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        key = http.post("/v1/keys", json={"tenant": "t"}, headers=auth(ADMIN)).json()["key"]
        h = {**accept, **auth(key)}
        assert http.post("/mcp/", json=init, headers=h).status_code == 200
        assert http.get("/v1/memories", params={"user_id": "u"}, headers=h).status_code == 200
        assert http.post("/mcp/", json=init, headers=h).status_code == 200
        # The burst of 3 is spent across REST and MCP: both refuse now, with Retry-After.
        for r in (http.post("/mcp/", json=init, headers=h), http.get("/v1/memories", headers=h)):
            assert r.status_code == 429, r.text
            assert r.json()["error"]["type"] == "RateLimited"
            assert int(r.headers["retry-after"]) >= 1
        # A wrong key is still 401, not 429.
        assert http.post("/mcp/", json=init, headers={**accept, **auth("nope")}).status_code == 401
