"""``engramdb mcp`` over stdio, driven by the official MCP SDK client in a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, TextContent

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder

TOOLS = {
    "add_memory",
    "search_memory",
    "get_context",
    "list_memories",
    "get_memory",
    "update_memory",
    "delete_memory",
    "forget_memory",
    "memory_history",
    "memory_feedback",
    "record_experience",
    "recall_lessons",
}
TIMEOUT = 90  # seconds for one whole session, model load included


def text_of(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


def data(result: CallToolResult) -> dict[str, Any]:
    """The tool's JSON answer; fails the test with the tool's message on an error."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    # The text block carries the same JSON, for clients that only read text.
    assert json.loads(text_of(result)) == result.structured_content
    return result.structured_content


def error(result: CallToolResult) -> str:
    assert result.is_error, result
    return text_of(result)


def _pythonpath() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": path} if path else {}


def run_session(
    home: Path, env: dict[str, str], body: Callable[[Client], Awaitable[None]], *args: str
) -> str:
    """Spawn the server, run ``body`` against it, and return what it wrote on stderr."""
    params = StdioServerParameters(
        command=sys.executable,
        args=list(args) or ["-m", "engramdb", "mcp"],
        # The MCP client passes a minimal environment; PYTHONPATH is kept so the server runs
        # the source under test even when another checkout is installed in the venv.
        env={"ENGRAMDB_HOME": str(home), **_pythonpath(), **env},
    )
    errlog = home.parent / "server-stderr.txt"

    async def main() -> None:
        with anyio.fail_after(TIMEOUT), open(errlog, "w") as err:
            async with Client(stdio_client(params, errlog=err)) as client:
                await body(client)

    try:
        anyio.run(main)
    finally:
        stderr = errlog.read_text() if errlog.exists() else ""
    return stderr


def test_stdio_full_flow(tmp_path: Path, embedder: LocalEmbedder) -> None:
    home = tmp_path / "home"
    ids: dict[str, str] = {}

    async def body(client: Client) -> None:
        listed = await client.list_tools()
        assert {t.name for t in listed.tools} == TOOLS
        for tool in listed.tools:
            assert tool.description and len(tool.description) > 20, tool.name
            assert tool.input_schema["type"] == "object"
        schemas = {t.name: t.input_schema for t in listed.tools}
        assert schemas["add_memory"]["required"] == ["text"]
        assert schemas["get_memory"]["required"] == ["memory_id"]
        assert "ENGRAMDB_USER" not in str(schemas)  # descriptions say the user, not the variable
        add_desc = next(t.description for t in listed.tools if t.name == "add_memory")
        assert "'alice'" in (add_desc or "")

        # add (verbatim) with no scope: the default user from ENGRAMDB_USER
        added = data(
            await client.call_tool(
                "add_memory",
                {"text": "I live in Lisbon", "infer": False, "metadata": {"topic": "home"}},
            )
        )
        assert [r["event"] for r in added["results"]] == ["ADD"]
        ids["lisbon"] = added["results"][0]["id"]
        # add with extraction (the offline heuristics distil facts)
        inferred = data(await client.call_tool("add_memory", {"text": "I am vegetarian."}))
        assert inferred["results"] and inferred["results"][0]["event"] == "ADD"
        # another user's memory, named explicitly
        oslo = data(
            await client.call_tool(
                "add_memory", {"text": "I live in Oslo", "user_id": "bob", "infer": False}
            )
        )
        ids["oslo"] = oslo["results"][0]["id"]

        found = data(await client.call_tool("search_memory", {"query": "where does alice live?"}))
        hits = found["results"]
        assert hits[0]["id"] == ids["lisbon"]
        assert {h["user_id"] for h in hits} == {"alice"}
        bob = data(await client.call_tool("search_memory", {"query": "city", "user_id": "bob"}))
        assert [h["memory"] for h in bob["results"]] == ["I live in Oslo"]
        filtered = data(
            await client.call_tool(
                "search_memory",
                {"query": "where", "filters": {"metadata.topic": "home"}, "limit": 5},
            )
        )
        assert [h["id"] for h in filtered["results"]] == [ids["lisbon"]]
        block = data(await client.call_tool("get_context", {"query": "where does alice live?"}))
        assert "I live in Lisbon" in block["text"] and "Oslo" not in block["text"]
        assert ids["lisbon"] in block["memories"] and block["tokens"] <= 400
        tiny = await client.call_tool("get_context", {"query": "home", "max_tokens": 0})
        assert tiny.is_error

        got = data(await client.call_tool("get_memory", {"memory_id": ids["lisbon"]}))
        assert got["memory"] == "I live in Lisbon"
        assert got["metadata"] == {"topic": "home"}

        listed_memories = data(await client.call_tool("list_memories", {}))
        assert ids["lisbon"] in {m["id"] for m in listed_memories["results"]}
        assert len(listed_memories["results"]) == 2  # bob's is not alice's

        updated = data(
            await client.call_tool(
                "update_memory", {"memory_id": ids["lisbon"], "text": "I live in Porto"}
            )
        )
        assert updated["memory"] == "I live in Porto"
        history = data(await client.call_tool("memory_history", {"memory_id": ids["lisbon"]}))
        events = history["history"]
        assert [e["event"] for e in events] == ["ADD", "UPDATE"]
        assert events[1]["old_memory"] == "I live in Lisbon"
        assert events[1]["new_memory"] == "I live in Porto"

        deleted = data(await client.call_tool("delete_memory", {"memory_id": ids["lisbon"]}))
        assert deleted["id"] == ids["lisbon"]
        gone = error(await client.call_tool("get_memory", {"memory_id": ids["lisbon"]}))
        assert f"no memory with id {ids['lisbon']!r}" in gone
        after = data(await client.call_tool("memory_history", {"memory_id": ids["lisbon"]}))
        assert [e["event"] for e in after["history"]] == ["ADD", "UPDATE", "DELETE"]
        erased = data(await client.call_tool("forget_memory", {"memory_id": ids["lisbon"]}))
        assert erased["memory_id"] == ids["lisbon"] and "Lisbon" not in str(erased)
        scrubbed = data(await client.call_tool("memory_history", {"memory_id": ids["lisbon"]}))
        assert all(e["old_memory"] is None for e in scrubbed["history"])

        # errors are tool errors with engramdb's message; the server keeps serving
        unknown = error(await client.call_tool("get_memory", {"memory_id": "no-such-id"}))
        assert "MemoryNotFoundError" in unknown and "'no-such-id'" in unknown
        assert "no memory with id" in error(
            await client.call_tool("delete_memory", {"memory_id": "no-such-id"})
        )
        assert "no memory with id" in error(
            await client.call_tool("update_memory", {"memory_id": "no-such-id", "text": "x"})
        )
        assert "update needs text or metadata" in error(
            await client.call_tool("update_memory", {"memory_id": ids["oslo"]})
        )
        assert "limit" in error(await client.call_tool("list_memories", {"limit": 0}))
        assert "text" in error(await client.call_tool("add_memory", {}))
        bad_filter = {"query": "x", "filters": {"a": {"zz": 1}}}
        assert "unknown filter operator 'zz'" in error(
            await client.call_tool("search_memory", bad_filter)
        )
        assert "Unknown tool" in error(await client.call_tool("forget_everything", {}))
        # still alive after all that
        assert data(await client.call_tool("list_memories", {"user_id": "bob"}))["results"]

    stderr = run_session(home, {"ENGRAMDB_USER": "alice"}, body)
    assert "Traceback" not in stderr, stderr

    # The server wrote to ENGRAMDB_HOME.
    with Memory(path=home, embedder=embedder) as memory:
        remaining = memory.get_all(user_id="alice")["results"]
        assert [m["memory"] for m in remaining] != []
        assert all(m["id"] != ids["lisbon"] for m in remaining)
        assert [m["memory"] for m in memory.get_all(user_id="bob")["results"]] == ["I live in Oslo"]


def test_stdio_without_default_user_asks_for_a_scope(tmp_path: Path) -> None:
    async def body(client: Client) -> None:
        message = error(await client.call_tool("add_memory", {"text": "hello", "infer": False}))
        assert "user_id" in message and "ENGRAMDB_USER" in message
        assert "user_id" in error(await client.call_tool("search_memory", {"query": "hello"}))
        added = data(
            await client.call_tool(
                "add_memory", {"text": "hello", "agent_id": "helper", "infer": False}
            )
        )
        assert added["results"][0]["event"] == "ADD"
        tools = await client.list_tools()
        add_desc = next(t.description for t in tools.tools if t.name == "add_memory")
        assert "at least one of user_id" in (add_desc or "")

    stderr = run_session(
        tmp_path / "home",
        {"ENGRAMDB_USER": ""},
        body,
        "-c",
        "from engramdb.mcp import main; main()",
    )
    assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize("client", ["claude", "cursor"])
def test_print_config_snippet_starts_a_working_server(tmp_path: Path, client: str) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("ENGRAMDB_USER", "ENGRAMDB_HOME")}
    command = [sys.executable, "-m", "engramdb", "--home", str(home), "mcp", "--print-config"]
    proc = subprocess.run(
        [*command, "--client", client, "--user", "erin"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    snippet = json.loads(proc.stdout)
    entry = snippet["mcpServers"]["engramdb"]
    assert entry["args"][-1] == "mcp"
    assert Path(entry["command"]).is_absolute()
    assert entry["env"] == {"ENGRAMDB_HOME": str(home.resolve()), "ENGRAMDB_USER": "erin"}
    assert "mcp.json" in proc.stderr if client == "cursor" else "claude_desktop" in proc.stderr

    # What the desktop client would run, run: it serves, as erin, in that home.
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=entry["env"])

    async def main() -> None:
        with anyio.fail_after(TIMEOUT), open(tmp_path / "stderr.txt", "w") as err:
            async with Client(stdio_client(params, errlog=err)) as session:
                added = data(
                    await session.call_tool("add_memory", {"text": "hi there", "infer": False})
                )
                got = data(
                    await session.call_tool("get_memory", {"memory_id": added["results"][0]["id"]})
                )
                assert got["user_id"] == "erin"

    anyio.run(main)
    assert (home / "memories.db").exists()


def test_print_config_rejects_an_unknown_client(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "engramdb", "mcp", "--print-config", "--client", "vim"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "claude, cursor" in proc.stderr
