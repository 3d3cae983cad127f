"""Commands that write memories: add, update, delete."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from engramdb.cli.app import (
    AgentOpt,
    JsonOpt,
    RunOpt,
    UserOpt,
    app,
    emit,
    json_object,
    kv_table,
    state_of,
)


def _read_messages(file: str) -> Any:
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc}", param_hint="--file") from None
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            return text
        if isinstance(data, list | dict):
            return data
    return text


def _timestamp(value: str | None) -> str | float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return value


@app.command()
def add(
    ctx: typer.Context,
    text: Annotated[str | None, typer.Argument(metavar="TEXT", help="what to remember")] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file", "-f", help="read the text, or a JSON message list, from a file ('-': stdin)"
        ),
    ] = None,
    user: UserOpt = None,
    agent: AgentOpt = None,
    run: RunOpt = None,
    metadata: Annotated[str | None, typer.Option("--metadata", "-m", help="JSON object")] = None,
    infer: Annotated[
        bool, typer.Option("--infer/--no-infer", help="extract facts, or store verbatim")
    ] = True,
    timestamp: Annotated[
        str | None, typer.Option("--timestamp", "-t", help="when it was said: ISO-8601 or epoch")
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome",
            help="record an agent's episode as lessons: success, failure or partial (--agent)",
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Remember a text or a conversation (or, with --outcome, an agent's episode)."""
    if (text is None) == (file is None):
        raise typer.BadParameter("give either TEXT or --file, not both or neither")
    messages = text if file is None else _read_messages(file)
    meta = json_object(metadata, "--metadata")
    result = (
        state_of(ctx)
        .memory()
        .add(
            messages,
            user_id=user,
            agent_id=agent,
            run_id=run,
            metadata=meta,
            infer=infer,
            timestamp=_timestamp(timestamp),
            memory_type=None if outcome is None else "experience",
            outcome=outcome,
        )
    )
    if emit(ctx, json_, result):
        return
    table = Table(title=f"{len(result['results'])} change(s)", title_justify="left")
    table.add_column("event", no_wrap=True)
    table.add_column("id", no_wrap=True, style="dim")
    table.add_column("memory")
    for item in result["results"]:
        table.add_row(item.get("event", ""), item["id"], escape(item["memory"]))
    state_of(ctx).out.print(table)


@app.command()
def update(
    ctx: typer.Context,
    memory_id: Annotated[str, typer.Argument(metavar="ID")],
    text: Annotated[str | None, typer.Option("--text", help="new text")] = None,
    metadata: Annotated[
        str | None, typer.Option("--metadata", "-m", help="new metadata (JSON object, replaces)")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Change a memory's text and/or metadata (the old text stays in its history)."""
    meta = json_object(metadata, "--metadata")
    result = state_of(ctx).memory().update(memory_id, text=text, metadata=meta)
    if not emit(ctx, json_, result):
        state_of(ctx).out.print(kv_table(result))


@app.command()
def delete(
    ctx: typer.Context,
    memory_id: Annotated[str | None, typer.Argument(metavar="ID")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="delete every memory in the given scope")
    ] = False,
    user: UserOpt = None,
    agent: AgentOpt = None,
    run: RunOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Delete one memory by id, or every memory of a scope with --all (never without one)."""
    scoped = any(v is not None for v in (user, agent, run))
    memory = state_of(ctx).memory
    if all_:
        if memory_id is not None:
            raise typer.BadParameter("give an ID or --all, not both")
        result = memory().delete_all(user_id=user, agent_id=agent, run_id=run)
    elif memory_id is None:
        raise typer.BadParameter("give the ID of a memory, or --all with --user/--agent/--run")
    elif scoped:
        raise typer.BadParameter("--user/--agent/--run only go with --all")
    else:
        result = memory().delete(memory_id)
    if not emit(ctx, json_, result):
        state_of(ctx).out.print(
            f"deleted {result['deleted']} memories" if all_ else f"deleted {result['id']}"
        )
