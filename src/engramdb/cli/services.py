"""Commands that run something: the demo, the REST server and the MCP stdio server."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from engramdb.cli.app import JsonOpt, app, emit, state_of
from engramdb.errors import EngramError


@app.command()
def demo(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="hits per search")] = 3,
    json_: JsonOpt = False,
) -> None:
    """Store a short three-session chat and search it (a fresh temporary home unless --home)."""
    from engramdb.demo import render, run_demo
    from engramdb.memory import Memory

    state = state_of(ctx)
    with tempfile.TemporaryDirectory(prefix="engramdb-demo-") as tmp:
        home = state.home if state.home is not None else Path(tmp)
        with Memory(path=home, config=state.config) as memory:
            result = run_demo(memory, limit=limit)
        if not emit(ctx, json_, {"home": str(home), **result}):
            render(state.out, result, home=str(home) if state.home is not None else None)


# -- server -------------------------------------------------------------------------------


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535)] = 8000,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="data directory (same as the global --home)", file_okay=False),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level")] = "info",
) -> None:
    """Serve the REST API over HTTP (needs the 'server' extra of engramdb).

    Set ENGRAMDB_ADMIN_KEY, then create tenant keys with POST /v1/keys. Limits come from
    ENGRAMDB_MAX_BODY_BYTES, ENGRAMDB_RATE_LIMIT, ... (see engramdb.server.ServerSettings).
    """
    try:
        from engramdb.server import ServerSettings, create_app
        from engramdb.server import serve as run_server
    except ImportError as exc:
        raise EngramError(
            f"engramdb serve needs the server extra: pip install 'engramdb[server]' ({exc})"
        ) from None
    state = state_of(ctx)
    if home is not None:
        state.home = home
    settings = ServerSettings.from_env()
    if not settings.admin_key:
        state.err.print("[yellow]ENGRAMDB_ADMIN_KEY is not set: no API keys can be created[/]")
    run_server(create_app(state.memory(), settings), host=host, port=port, log_level=log_level)


# -- mcp ------------------------------------------------------------------------------------


@app.command("mcp")
def mcp_(
    ctx: typer.Context,
    user: Annotated[
        str | None,
        typer.Option("--user", "-u", help="default user_id (default: $ENGRAMDB_USER)"),
    ] = None,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="print an MCP client config snippet and exit")
    ] = False,
    client: Annotated[
        str, typer.Option("--client", help="config for: claude (Desktop) or cursor")
    ] = "claude",
) -> None:
    """Serve the memory tools over stdio to an MCP client (needs the 'mcp' extra of engramdb).

    Tool calls that name no user_id act on --user, else $ENGRAMDB_USER.

    Set up Claude Desktop or Cursor with: engramdb mcp --print-config --client claude|cursor
    """
    try:
        from engramdb.mcp import CONFIG_FILES, client_config, run_stdio
    except ImportError as exc:
        raise EngramError(
            f"engramdb mcp needs the mcp extra: pip install 'engramdb[mcp]' ({exc})"
        ) from None
    state = state_of(ctx)
    if print_config:
        if client not in CONFIG_FILES:
            raise typer.BadParameter(f"one of {', '.join(CONFIG_FILES)}", param_hint="--client")
        snippet = client_config(client, home=state.home, user=user, config=state.config)
        sys.stdout.write(json.dumps(snippet, indent=2) + "\n")
        state.err.print(f"add it to the mcpServers of {CONFIG_FILES[client]}", highlight=False)
        return
    run_stdio(state.memory(), default_user=user)
