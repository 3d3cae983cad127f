"""Feedback and lessons on every surface over real HTTP on 127.0.0.1: the REST routes (auth,
tenants, read-only keys, errors), Client and AsyncClient, and the MCP tools."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from tests.integration.test_server import ADMIN, auth, error, start

from engramdb import Memory
from engramdb.client import AsyncClient, Client
from engramdb.embed.local import LocalEmbedder
from engramdb.errors import AuthError, MemoryNotFoundError, ValidationError

RUN = [
    {"role": "user", "content": "Deploy the billing service to staging"},
    {"role": "assistant", "content": "Running deploy.sh billing staging"},
    {"role": "tool", "content": "ERROR: environment variable DATABASE_URL is not set"},
]


class Env:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

        def key(tenant: str, **extra: Any) -> str:
            r = self.http.post("/v1/keys", json={"tenant": tenant, **extra}, headers=auth(ADMIN))
            assert r.status_code == 201, r.text
            return str(r.json()["key"])

        self.a = key("acme")
        self.b = key("globex")
        self.ro = key("acme", read_only=True)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder) -> Iterator[Env]:
    server, memory = start(tmp_path_factory.mktemp("learning-server"), embedder)
    e = Env(server.url)
    yield e
    e.http.close()
    server.stop()
    memory.close()


def test_rest_experience_lessons_and_feedback(env: Env) -> None:
    r = env.http.post(
        "/v1/memories",
        json={
            "messages": RUN,
            "agent_id": "ops",
            "memory_type": "experience",
            "outcome": "failure",
        },
        headers=auth(env.a),
    )
    assert r.status_code == 200, r.text
    [row] = r.json()["results"]
    assert row["event"] == "ADD" and row["failures"] == 1

    r = env.http.post(
        "/v1/lessons", json={"task": "deploy billing", "agent_id": "ops"}, headers=auth(env.ro)
    )
    assert r.status_code == 200, r.text
    [lesson] = r.json()["results"]
    assert lesson["id"] == row["id"]
    assert lesson["cause"] == "environment variable DATABASE_URL is not set"
    assert lesson["evidence"]["failures"] == 1
    # Another tenant sees no lesson and cannot judge this one.
    r = env.http.post(
        "/v1/lessons", json={"task": "deploy billing", "agent_id": "ops"}, headers=auth(env.b)
    )
    assert r.json()["results"] == []
    path = f"/v1/memories/{row['id']}/feedback"
    error(env.http.post(path, json={"signal": "useful"}, headers=auth(env.b)), 404)

    r = env.http.post(
        path,
        json={"signal": "useful", "note": "saved a deploy", "query": "deploy billing"},
        headers=auth(env.a),
    )
    assert r.status_code == 200, r.text
    assert r.json()["importance"] == pytest.approx(0.55) and r.json()["signal"] == "useful"
    history = env.http.get(f"/v1/memories/{row['id']}/history", headers=auth(env.a)).json()
    assert history[-1]["event"] == "FEEDBACK"
    assert history[-1]["reason"] == "useful: saved a deploy (query: deploy billing)"

    error(env.http.post(path, json={"signal": "useful"}, headers=auth(env.ro)), 403)
    error(env.http.post(path, json={"signal": "meh"}, headers=auth(env.a)), 422, "ValidationError")
    error(env.http.post(path, json={"signal": "useful", "x": 1}, headers=auth(env.a)), 422)
    error(env.http.post(path, json={"signal": "useful"}), 401)
    error(
        env.http.post(path, json={"signal": "useful", "query": "q" * 301}, headers=auth(env.a)),
        422,
    )
    error(
        env.http.post(
            "/v1/memories",
            json={"messages": RUN, "agent_id": "ops", "memory_type": "experience"},
            headers=auth(env.a),
        ),
        422,
        "ValidationError",
    )
    error(env.http.post("/v1/lessons", json={"task": "deploy"}, headers=auth(env.a)), 422)


def test_client_and_async_client(env: Env) -> None:
    with Client(env.url, api_key=env.a) as c:
        [row] = c.add(RUN, agent_id="cli-bot", memory_type="experience", outcome="failure")[
            "results"
        ]
        [lesson] = c.lessons("deploy the billing service", agent_id="cli-bot")["results"]
        assert lesson["id"] == row["id"]
        out = c.feedback(row["id"], "wrong", note="the variable is set by CI now")
        assert out["status"] == "flagged"
        assert c.lessons("deploy the billing service", agent_id="cli-bot")["results"] == []
        with pytest.raises(ValidationError, match="signal must be one of"):
            c.feedback(row["id"], "meh")
        with pytest.raises(MemoryNotFoundError):
            c.feedback("nope", "useful")
    with Client(env.url, api_key=env.ro) as c, pytest.raises(AuthError):
        c.feedback(row["id"], "useful")

    async def main() -> None:
        async with AsyncClient(env.url, api_key=env.a) as ac:
            [r] = (
                await ac.add(RUN, agent_id="async-bot", memory_type="experience", outcome="partial")
            )["results"]
            got = await ac.lessons("deploy billing", agent_id="async-bot")
            assert [x["id"] for x in got["results"]] == [r["id"]]
            fb = await ac.feedback(r["id"], "not_useful", query="deploy billing")
            assert fb["importance"] == pytest.approx(0.45)

    anyio.run(main)


def test_mcp_learning_tools(tmp_path: Path, embedder: LocalEmbedder) -> None:
    pytest.importorskip("mcp")
    from mcp import Client as McpClient
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
    from mcp.types import CallToolResult, TextContent

    from engramdb.mcp import McpAccess, mcp_http_app
    from engramdb.server.runner import ServerThread

    def data(result: CallToolResult) -> dict[str, Any]:
        text = "".join(c.text for c in result.content if isinstance(c, TextContent))
        assert not result.is_error, text
        assert result.structured_content is not None
        return json.loads(text)  # type: ignore[no-any-return]

    base = Memory(path=tmp_path, embedder=embedder)
    keys: dict[str, Memory | McpAccess] = {"rw": base, "ro": McpAccess(base, read_only=True)}
    app = mcp_http_app(keys.get, default_user="alice")

    async def main(url: str) -> None:
        async with (
            create_mcp_http_client(headers={"Authorization": "Bearer rw"}) as http,
            McpClient(streamable_http_client(url, http_client=http)) as client,
        ):
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"memory_feedback", "record_experience", "recall_lessons"} <= names
            episode = "\n".join(f"{m['role']}: {m['content']}" for m in RUN)
            added = data(
                await client.call_tool(
                    "record_experience",
                    {"episode": episode, "agent_id": "mcp-bot", "outcome": "failure"},
                )
            )
            memory_id = added["results"][0]["id"]
            got = data(
                await client.call_tool(
                    "recall_lessons", {"task": "deploy billing", "agent_id": "mcp-bot"}
                )
            )
            assert [x["id"] for x in got["results"]] == [memory_id]
            fb = data(
                await client.call_tool(
                    "memory_feedback",
                    {"memory_id": memory_id, "signal": "useful", "query": "deploy billing"},
                )
            )
            assert fb["signal"] == "useful"
            bad = await client.call_tool(
                "memory_feedback", {"memory_id": memory_id, "signal": "meh"}
            )
            assert bad.is_error
        async with (
            create_mcp_http_client(headers={"Authorization": "Bearer ro"}) as http,
            McpClient(streamable_http_client(url, http_client=http)) as client,
        ):
            refused = await client.call_tool(
                "memory_feedback", {"memory_id": memory_id, "signal": "useful"}
            )
            assert refused.is_error

    try:
        with ServerThread(app) as server:
            anyio.run(main, server.url + "/mcp")
    finally:
        base.close()
    history = Memory(path=tmp_path, embedder=embedder)
    try:
        assert [e["event"] for e in history.history(memory_id_of(history))] == [
            "ADD",
            "FEEDBACK",
        ]
    finally:
        history.close()


def memory_id_of(m: Memory) -> str:
    [row] = m.get_all(agent_id="mcp-bot")["results"]
    return str(row["id"])
