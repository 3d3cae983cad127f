"""engramdb as an MCP server (extra ``engramdb[mcp]``): the same eight tools over stdio or HTTP.

Over stdio, for a desktop client (``engramdb mcp``, or in Python)::

    from engramdb import Memory
    from engramdb.mcp import run_stdio

    run_stdio(Memory(path="./data"), default_user="alice")

Over streamable HTTP, inside a server that owns API keys::

    from engramdb.mcp import mcp_http_app

    app.mount("/mcp", mcp_http_app(lambda key: memories_by_key.get(key)))

Tools: ``add_memory``, ``search_memory``, ``list_memories``, ``get_memory``, ``update_memory``,
``delete_memory``, ``memory_history``. A call that names no user_id/agent_id/run_id acts on the
default user (``ENGRAMDB_USER`` for stdio, read when the server is built). Errors come back as
tool errors (``isError``) carrying engramdb's message.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from engramdb.mcp_http import KeyResolver, McpHttpApp, key_from_headers
from engramdb.mcp_tools import McpAccess, register_tools
from engramdb.memory import Memory

__all__ = [
    "McpAccess",
    "McpHttpApp",
    "build_mcp_server",
    "client_config",
    "key_from_headers",
    "main",
    "mcp_http_app",
    "run_stdio",
]

USER_ENV = "ENGRAMDB_USER"
HOME_ENV = "ENGRAMDB_HOME"

INSTRUCTIONS = """\
Long-term memory for this user, kept across conversations.
- Before answering anything that may depend on the user's past, preferences or plans,
  call search_memory with a short natural-language query.
- When the user shares a durable fact, preference or decision, call add_memory with it in
  plain text (one topic per call). Existing memories are updated, not duplicated.
- Use update_memory / delete_memory with an id from search_memory or list_memories when the
  user corrects or retracts something.
"""


def _server(fixed: McpAccess | None, default_user: str | None) -> MCPServer:
    from engramdb import __version__

    server: MCPServer = MCPServer(
        "engramdb",
        title="engramdb memory",
        instructions=INSTRUCTIONS,
        version=__version__,
        # MCPServer calls logging.basicConfig(level=...): keep a host's root logger quiet.
        log_level="WARNING",
    )
    register_tools(server, fixed=fixed, default_user=default_user)
    return server


def build_mcp_server(memory: Memory, *, default_user: str | None) -> MCPServer:
    """An MCP server whose tools act on ``memory``.

    ``default_user`` is the user_id of calls that name no scope; with ``None`` such calls
    fail with a message asking for one. Serve it with :func:`run_stdio`, or connect to it
    in-process with ``mcp.Client(server)``.
    """
    return _server(McpAccess(memory), default_user)


def run_stdio(memory: Memory, *, default_user: str | None = None) -> None:
    """Serve the tools over stdin/stdout until the client disconnects (blocks).

    ``default_user=None`` takes ``$ENGRAMDB_USER`` (read now, not at import).
    """
    if default_user is None:
        default_user = os.environ.get(USER_ENV) or None
    server = build_mcp_server(memory, default_user=default_user)
    anyio.run(server.run_stdio_async)


def mcp_http_app(
    memory_for_key: KeyResolver,
    *,
    default_user: str | None = None,
    json_response: bool = True,
    transport_security: TransportSecuritySettings | None = None,
) -> McpHttpApp:
    """An ASGI app serving the tools over streamable HTTP; every request needs an API key.

    ``memory_for_key(key)`` (called in a worker thread) returns the tenant-scoped ``Memory``
    the key may use, an :class:`McpAccess` (to make it read-only or give it its own default
    user), or ``None``: then the request is answered 401, as is one without a key. Each
    request's tools act on its own key's memory only.

    ``default_user`` applies to calls naming no scope when the key's access sets none (the
    environment is not read: on a shared server the default is the operator's choice).
    ``transport_security`` enables the SDK's Host/Origin checks (off by default: the key
    check is the gate). Mount it at any path; it needs no lifespan.
    """
    return McpHttpApp(
        _server(None, default_user),
        memory_for_key,
        json_response=json_response,
        transport_security=transport_security,
    )


# -- desktop client configuration ------------------------------------------------------------

CONFIG_FILES: dict[str, str] = {
    "claude": (
        "Claude Desktop: claude_desktop_config.json (macOS: ~/Library/Application Support/"
        "Claude/, Windows: %APPDATA%\\Claude\\)"
    ),
    "cursor": "Cursor: ~/.cursor/mcp.json (all projects) or .cursor/mcp.json (one project)",
}


def _command() -> list[str]:
    """How to start this very installation's ``engramdb`` (absolute paths)."""
    scripts = Path(sys.executable).parent
    for name in ("engramdb", "engramdb.exe"):
        if (scripts / name).is_file():
            return [str(scripts / name)]
    found = shutil.which("engramdb")
    if found:
        return [found]
    return [sys.executable, "-m", "engramdb"]


def client_config(
    client: str = "claude",
    *,
    home: str | Path | None = None,
    user: str | None = None,
    config: str | Path | None = None,
    name: str = "engramdb",
) -> dict[str, Any]:
    """The ``mcpServers`` JSON snippet that makes ``client`` run ``engramdb mcp``.

    Claude Desktop and Cursor read the same shape. ``home`` defaults to ``$ENGRAMDB_HOME`` or
    ``~/.engramdb`` and ``user`` to ``$ENGRAMDB_USER`` (left out when neither is set);
    ``config`` is passed on as ``--config``. Paths are made absolute: desktop clients start
    the server from an unknown directory.
    """
    if client not in CONFIG_FILES:
        raise ValueError(f"client must be one of {', '.join(CONFIG_FILES)}, not {client!r}")
    home_dir = Path(home or os.environ.get(HOME_ENV) or Path.home() / ".engramdb")
    env = {HOME_ENV: str(home_dir.expanduser().resolve())}
    user = user or os.environ.get(USER_ENV)
    if user:
        env[USER_ENV] = user
    command, *args = _command()
    if config is not None:
        args += ["--config", str(Path(config).expanduser().resolve())]
    args.append("mcp")
    return {"mcpServers": {name: {"command": command, "args": args, "env": env}}}


def main() -> None:
    """``python -c 'from engramdb.mcp import main; main()'``: stdio, configured from the env."""
    with Memory() as memory:
        run_stdio(memory)
