"""The MCP tools mounted at /mcp of `engramdb serve`'s app, behind the same API keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.server import ServerSettings, create_app
from engramdb.server.runner import ServerThread

pytest.importorskip("mcp")

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

ADMIN = "admin-key-for-tests"


@pytest.fixture
def server(tmp_path: Path, embedder: LocalEmbedder) -> Iterator[ServerThread]:
    memory = Memory(path=tmp_path, embedder=embedder)
    app = create_app(memory, ServerSettings(admin_key=ADMIN))
    with ServerThread(app) as running:
        yield running
    memory.close()


def _key(server: ServerThread, tenant: str) -> str:
    r = httpx.post(
        f"{server.url}/v1/keys",
        json={"tenant": tenant},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


async def _call(server: ServerThread, key: str, tool: str, args: dict[str, object]) -> object:
    async with (
        create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http,
        Client(streamable_http_client(f"{server.url}/mcp/", http_client=http)) as client,
    ):
        result = await client.call_tool(tool, args)
        assert not result.is_error, result
        return json.loads(result.content[0].text)  # type: ignore[union-attr]


def test_mcp_is_mounted_behind_keys_and_tenants(server: ServerThread) -> None:
    acme, globex = _key(server, "acme"), _key(server, "globex")

    async def flow() -> None:
        added = await _call(
            server,
            acme,
            "add_memory",
            {"text": "Acme ships on Fridays", "user_id": "ops", "infer": False},
        )
        assert isinstance(added, dict) and added["results"][0]["event"] == "ADD"
        mine = await _call(
            server, acme, "search_memory", {"query": "when do we ship", "user_id": "ops"}
        )
        assert isinstance(mine, dict)
        assert [r["memory"] for r in mine["results"]] == ["Acme ships on Fridays"]
        theirs = await _call(server, globex, "list_memories", {"user_id": "ops"})
        assert isinstance(theirs, dict) and theirs["results"] == []

    anyio.run(flow)
    assert httpx.post(f"{server.url}/mcp/", json={}).status_code == 401
    bad = httpx.post(f"{server.url}/mcp/", json={}, headers={"X-API-Key": "nope"})
    assert bad.status_code == 401
