"""The MCP tools over streamable HTTP (uvicorn on 127.0.0.1), driven by the SDK's HTTP client.

Keys are resolved by a dict, the way the REST server's key store will: each key maps to a
tenant-scoped ``Memory`` over one shared store.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult, TextContent

from engramdb import Memory, MemoryNotFoundError
from engramdb.embed.local import LocalEmbedder
from engramdb.mcp import McpAccess, mcp_http_app
from engramdb.server.runner import ServerThread

TIMEOUT = 60


@dataclass
class Site:
    url: str
    base: Memory


KEYS = {"key-acme": "acme", "key-globex": "globex"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: LocalEmbedder) -> Iterator[Site]:
    base = Memory(path=tmp_path_factory.mktemp("mcp-http"), embedder=embedder)
    tenants = {tenant: base.for_tenant(tenant) for tenant in set(KEYS.values())}
    resolved: dict[str, Memory | McpAccess] = {key: tenants[t] for key, t in KEYS.items()}
    resolved["key-acme-readonly"] = McpAccess(tenants["acme"], read_only=True)
    resolved["key-acme-carol"] = McpAccess(tenants["acme"], default_user="carol")

    app = mcp_http_app(resolved.get, default_user="alice")
    try:
        with ServerThread(app) as server:
            yield Site(url=server.url + "/mcp", base=base)
    finally:
        for memory in tenants.values():
            memory.close()
        base.close()


def text_of(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


def data(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert json.loads(text_of(result)) == result.structured_content
    return result.structured_content


def error(result: CallToolResult) -> str:
    assert result.is_error, result
    return text_of(result)


@asynccontextmanager
async def client_for(
    url: str, key: str | None, *, header: str = "bearer", mode: str = "auto"
) -> AsyncIterator[Client]:
    """An SDK client sending ``key`` (the SDK does not close an http client it was given)."""
    headers: dict[str, str] = {}
    if key is not None:
        headers = (
            {"X-API-Key": key} if header == "x-api-key" else {"Authorization": f"Bearer {key}"}
        )
    async with (
        create_mcp_http_client(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


def run(body: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        with anyio.fail_after(TIMEOUT):
            await body()

    anyio.run(main)


@pytest.mark.parametrize(("header", "mode"), [("bearer", "auto"), ("x-api-key", "legacy")])
def test_http_full_flow(site: Site, header: str, mode: str) -> None:
    user = f"user-{header}-{mode}"
    ids: dict[str, str] = {}

    async def body() -> None:
        async with client_for(site.url, "key-acme", header=header, mode=mode) as client:
            tools = await client.list_tools()
            assert len(tools.tools) == 12
            added = data(
                await client.call_tool(
                    "add_memory", {"text": "I live in Lisbon", "user_id": user, "infer": False}
                )
            )
            memory_id = ids["memory"] = added["results"][0]["id"]
            hits = data(
                await client.call_tool("search_memory", {"query": "where", "user_id": user})
            )["results"]
            assert [h["id"] for h in hits] == [memory_id]
            got = data(await client.call_tool("get_memory", {"memory_id": memory_id}))
            assert got["memory"] == "I live in Lisbon" and got["user_id"] == user
            listed = data(await client.call_tool("list_memories", {"user_id": user}))
            assert [m["id"] for m in listed["results"]] == [memory_id]
            data(await client.call_tool("update_memory", {"memory_id": memory_id, "text": "Porto"}))
            history = data(await client.call_tool("memory_history", {"memory_id": memory_id}))
            assert [e["event"] for e in history["history"]] == ["ADD", "UPDATE"]
            data(await client.call_tool("delete_memory", {"memory_id": memory_id}))
            message = error(await client.call_tool("get_memory", {"memory_id": memory_id}))
            assert f"no memory with id {memory_id!r}" in message

    run(body)
    # It happened in tenant acme's part of the store, and nowhere else.
    acme, globex = site.base.for_tenant("acme"), site.base.for_tenant("globex")
    events = [e["event"] for e in acme.history(ids["memory"])]
    assert events == ["ADD", "UPDATE", "DELETE"]
    assert globex.get(ids["memory"]) is None
    with pytest.raises(MemoryNotFoundError):
        globex.history(ids["memory"])


def test_no_key_or_wrong_key_is_401(site: Site) -> None:
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
    cases: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer nope"},
        {"X-API-Key": "nope"},
        {"Authorization": "Basic a2V5LWFjbWU6"},
        {"Authorization": "Bearer"},
    ]
    with httpx.Client(timeout=10) as http:
        for headers in cases:
            response = http.post(site.url, json=init, headers={**accept, **headers})
            assert response.status_code == 401, (headers, response.text)
            assert response.json()["error"]["type"] == "AuthError"
            assert response.headers["www-authenticate"].startswith("Bearer")
        for method in ("GET", "DELETE"):
            assert http.request(method, site.url, headers=accept).status_code == 401
        # the same request with a good key (Mem0 clients send "Token <key>") succeeds
        ok = http.post(site.url, json=init, headers={**accept, "Authorization": "Token key-acme"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["result"]["serverInfo"]["name"] == "engramdb"

    async def body() -> None:
        with pytest.raises(Exception):  # noqa: B017 - the SDK's error type is its business
            async with client_for(site.url, None) as client:
                await client.list_tools()

    run(body)


def test_tenants_cannot_see_each_other(site: Site) -> None:
    """Same user_id in two tenants: every tool of one key misses the other's memory."""

    async def body() -> None:
        async with (
            client_for(site.url, "key-acme") as acme,
            client_for(site.url, "key-globex") as globex,
        ):
            secret = data(
                await acme.call_tool(
                    "add_memory",
                    {"text": "acme secret: launch on Friday", "user_id": "shared", "infer": False},
                )
            )["results"][0]["id"]
            mine = data(
                await globex.call_tool(
                    "add_memory",
                    {"text": "globex plan: launch on Monday", "user_id": "shared", "infer": False},
                )
            )["results"][0]["id"]

            hits = data(
                await globex.call_tool("search_memory", {"query": "launch", "user_id": "shared"})
            )["results"]
            assert [h["id"] for h in hits] == [mine]
            by_filter = data(
                await globex.call_tool(
                    "search_memory", {"query": "launch", "filters": {"user_id": "shared"}}
                )
            )["results"]
            assert [h["id"] for h in by_filter] == [mine]
            listed = data(await globex.call_tool("list_memories", {"user_id": "shared"}))
            assert [m["id"] for m in listed["results"]] == [mine]
            for tool, args in [
                ("get_memory", {"memory_id": secret}),
                ("update_memory", {"memory_id": secret, "text": "pwned"}),
                ("update_memory", {"memory_id": secret, "metadata": {"user_id": "x"}}),
                ("memory_history", {"memory_id": secret}),
                ("delete_memory", {"memory_id": secret}),
            ]:
                message = error(await globex.call_tool(tool, args))
                assert f"no memory with id {secret!r}" in message, (tool, message)

            # acme's memory is untouched
            got = data(await acme.call_tool("get_memory", {"memory_id": secret}))
            assert got["memory"] == "acme secret: launch on Friday"
            history = data(await acme.call_tool("memory_history", {"memory_id": secret}))
            assert [e["event"] for e in history["history"]] == ["ADD"]

    run(body)


def test_concurrent_tenants_do_not_mix(site: Site) -> None:
    """Many interleaved calls from two keys: each sees exactly its own writes."""
    per_tenant = 12
    written: dict[str, set[str]] = {"key-acme": set(), "key-globex": set()}
    seen: dict[str, set[str]] = {"key-acme": set(), "key-globex": set()}

    async def worker(key: str, n: int) -> None:
        async with client_for(site.url, key) as client:
            added = data(
                await client.call_tool(
                    "add_memory",
                    {"text": f"note {n} from {key}", "user_id": "race", "infer": False},
                )
            )
            written[key].add(added["results"][0]["id"])
            hits = data(
                await client.call_tool(
                    "search_memory", {"query": "note from", "user_id": "race", "limit": 100}
                )
            )["results"]
            seen[key].update(h["id"] for h in hits)
            assert all(key in h["memory"] for h in hits), hits

    async def body() -> None:
        async with anyio.create_task_group() as tg:
            for n in range(per_tenant):
                for key in written:
                    tg.start_soon(worker, key, n)
        for key in written:
            async with client_for(site.url, key) as client:
                listed = data(
                    await client.call_tool("list_memories", {"user_id": "race", "limit": 1000})
                )
                assert {m["id"] for m in listed["results"]} == written[key]

    run(body)
    assert len(written["key-acme"]) == len(written["key-globex"]) == per_tenant
    assert not seen["key-acme"] & written["key-globex"]
    assert not seen["key-globex"] & written["key-acme"]


def test_read_only_key_and_default_users(site: Site) -> None:
    async def body() -> None:
        async with client_for(site.url, "key-acme") as acme:
            added = data(
                await acme.call_tool("add_memory", {"text": "default user note", "infer": False})
            )["results"][0]
            assert (
                data(await acme.call_tool("get_memory", {"memory_id": added["id"]}))["user_id"]
                == "alice"
            )  # the app-wide default
        async with client_for(site.url, "key-acme-carol") as carol:
            mine = data(
                await carol.call_tool("add_memory", {"text": "carol's note", "infer": False})
            )["results"][0]
            got = data(await carol.call_tool("get_memory", {"memory_id": mine["id"]}))
            assert got["user_id"] == "carol"  # the key's own default wins
        async with client_for(site.url, "key-acme-readonly") as reader:
            # reads work, on the same tenant
            got = data(await reader.call_tool("get_memory", {"memory_id": added["id"]}))
            assert got["memory"] == "default user note"
            assert data(await reader.call_tool("search_memory", {"query": "note"}))["results"]
            for tool, args in [
                ("add_memory", {"text": "x"}),
                ("update_memory", {"memory_id": added["id"], "text": "x"}),
                ("delete_memory", {"memory_id": added["id"]}),
                ("forget_memory", {"memory_id": added["id"]}),
            ]:
                assert "read-only" in error(await reader.call_tool(tool, args)), tool
        async with client_for(site.url, "key-acme") as acme:
            got = data(await acme.call_tool("get_memory", {"memory_id": added["id"]}))
            assert got["memory"] == "default user note"

    run(body)


def test_mounted_under_a_parent_app(site: Site, embedder: LocalEmbedder, tmp_path: Path) -> None:
    """Mounted at /mcp in a Starlette app (no lifespan reaches it): still serves."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    memory = Memory(path=tmp_path, embedder=embedder)
    inner = mcp_http_app({"k": memory}.get, default_user="dana")
    parent = Starlette(routes=[Mount("/mcp", app=inner)])
    try:
        with ServerThread(parent) as server:

            async def body() -> None:
                async with client_for(server.url + "/mcp/", "k") as client:
                    data(await client.call_tool("add_memory", {"text": "hi", "infer": False}))
                    hits = data(await client.call_tool("search_memory", {"query": "hi"}))
                    assert hits["results"][0]["user_id"] == "dana"

            run(body)
            with httpx.Client(timeout=10) as http:
                assert http.post(server.url + "/mcp/", json={}).status_code == 401
    finally:
        memory.close()
