"""Commands that read memories: search, context, list, get, history."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from engramdb.cli.app import (
    AgentOpt,
    FiltersOpt,
    JsonOpt,
    LimitOpt,
    RunOpt,
    UserOpt,
    app,
    emit,
    json_object,
    kv_table,
    records_table,
    short_time,
    state_of,
)
from engramdb.errors import MemoryNotFoundError


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="what to look for")],
    user: UserOpt = None,
    agent: AgentOpt = None,
    run: RunOpt = None,
    limit: LimitOpt = 10,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="drop hits below this similarity")
    ] = None,
    filters: FiltersOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="answer as memory stood then (ISO-8601 time)")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """The memories most relevant to QUERY in a scope, best first."""
    where = json_object(filters, "--filters")
    memory = state_of(ctx).memory()
    started = time.perf_counter()
    result = memory.search(
        query,
        user_id=user,
        agent_id=agent,
        run_id=run,
        filters=where,
        limit=limit,
        threshold=threshold,
        as_of=as_of,
    )
    ms = (time.perf_counter() - started) * 1000
    if emit(ctx, json_, result):
        return
    hits = result["results"]
    table = Table(title=f"{len(hits)} result(s) in {ms:.1f} ms", title_justify="left")
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("sim", justify="right", no_wrap=True)
    table.add_column("memory", ratio=1)
    table.add_column("created", no_wrap=True)
    table.add_column("id", no_wrap=True, style="dim")
    for hit in hits:
        table.add_row(
            f"{hit['score']:.3f}",
            f"{hit['similarity']:.3f}",
            escape(hit["memory"]),
            short_time(hit["created_at"]),
            hit["id"],
        )
    state_of(ctx).out.print(table)


@app.command()
def context(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="what the prompt is about")],
    user: UserOpt = None,
    agent: AgentOpt = None,
    run: RunOpt = None,
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", "-t", min=1, help="token budget of the block")
    ] = 400,
    filters: FiltersOpt = None,
    json_: JsonOpt = False,
) -> None:
    """A prompt-ready block of the current memories most relevant to QUERY, with dates.

    The block goes to stdout as plain text (pipe it into a prompt); its size to stderr.
    """
    where = json_object(filters, "--filters")
    result = (
        state_of(ctx)
        .memory()
        .context(
            query, user_id=user, agent_id=agent, run_id=run, filters=where, max_tokens=max_tokens
        )
    )
    if emit(ctx, json_, result):
        return
    if result["text"]:
        sys.stdout.write(result["text"] + "\n")
    state_of(ctx).err.print(
        f"{len(result['memories'])} memories, ~{result['tokens']} of {max_tokens} tokens"
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    user: UserOpt = None,
    agent: AgentOpt = None,
    run: RunOpt = None,
    limit: LimitOpt = 100,
    offset: Annotated[int, typer.Option("--offset", min=0, help="skip this many")] = 0,
    filters: FiltersOpt = None,
    invalid: Annotated[
        bool, typer.Option("--include-invalid", help="also superseded memories")
    ] = False,
    archived: Annotated[
        bool, typer.Option("--include-archived", help="also archived memories")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Memories in a scope, newest first."""
    where = json_object(filters, "--filters")
    result = (
        state_of(ctx)
        .memory()
        .get_all(
            user_id=user,
            agent_id=agent,
            run_id=run,
            filters=where,
            limit=limit,
            offset=offset,
            include_invalid=invalid,
            include_archived=archived,
        )
    )
    if not emit(ctx, json_, result):
        records = result["results"]
        state_of(ctx).out.print(records_table(records, f"{len(records)} memories"))


@app.command()
def get(
    ctx: typer.Context,
    memory_id: Annotated[str, typer.Argument(metavar="ID")],
    json_: JsonOpt = False,
) -> None:
    """One memory by id."""
    result = state_of(ctx).memory().get(memory_id)
    if result is None:
        raise MemoryNotFoundError(memory_id)
    if not emit(ctx, json_, result):
        state_of(ctx).out.print(kv_table(result))


@app.command()
def history(
    ctx: typer.Context,
    memory_id: Annotated[str, typer.Argument(metavar="ID")],
    json_: JsonOpt = False,
) -> None:
    """Every change of a memory, oldest first (kept after it is deleted)."""
    entries = state_of(ctx).memory().history(memory_id)
    if emit(ctx, json_, entries):
        return
    table = Table(title=f"history of {memory_id}", title_justify="left")
    table.add_column("at", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("old")
    table.add_column("new")
    table.add_column("reason")
    for e in entries:
        table.add_row(
            short_time(e["created_at"]),
            e["event"],
            escape(e["old_memory"] or ""),
            escape(e["new_memory"] or ""),
            escape(e.get("reason") or ""),
        )
    state_of(ctx).out.print(table)
