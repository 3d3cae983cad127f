"""Commands for a memory's life: forget, consolidate, restore, feedback, lessons, stats, migrate."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from engramdb.cli.app import (
    AgentOpt,
    JsonOpt,
    LimitOpt,
    RunOpt,
    UserOpt,
    app,
    emit,
    kv_table,
    state_of,
)


@app.command()
def forget(
    ctx: typer.Context,
    memory_id: Annotated[str | None, typer.Argument(metavar="ID")] = None,
    user: UserOpt = None,
    agent: AgentOpt = None,
    run: RunOpt = None,
    reason: Annotated[str | None, typer.Option("--reason", help="kept in the tombstone")] = None,
    json_: JsonOpt = False,
) -> None:
    """Erase one memory (ID) or a whole scope for real; a content-free tombstone remains."""
    result = (
        state_of(ctx)
        .memory()
        .forget(user_id=user, agent_id=agent, run_id=run, memory_id=memory_id, reason=reason)
    )
    if not emit(ctx, json_, result):
        counts = ", ".join(f"{n} {kind}" for kind, n in result["counts"].items())
        state_of(ctx).out.print(f"erased {counts} (tombstone {result['id']})")


@app.command()
def consolidate(
    ctx: typer.Context,
    user: UserOpt = None,
    agent: AgentOpt = None,
    run: RunOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report, change nothing")] = False,
    json_: JsonOpt = False,
) -> None:
    """Merge near-duplicate memories of a scope and archive stale low-value ones."""
    report = (
        state_of(ctx)
        .memory()
        .consolidate(user_id=user, agent_id=agent, run_id=run, dry_run=dry_run)
    )
    if not emit(ctx, json_, report):
        verb = "would archive" if dry_run else "archived"
        merged = sum(len(m["archived"]) for m in report["merged"])
        state_of(ctx).out.print(
            f"{verb} {report['archived']} of {report['examined']} memories "
            f"({merged} near-duplicates, {len(report['stale'])} stale)"
        )


@app.command()
def restore(
    ctx: typer.Context,
    memory_id: Annotated[str, typer.Argument(metavar="ID")],
    json_: JsonOpt = False,
) -> None:
    """Bring back a memory that consolidate archived."""
    result = state_of(ctx).memory().restore(memory_id)
    if not emit(ctx, json_, result):
        state_of(ctx).out.print(f"restored {result['id']}")


@app.command()
def feedback(
    ctx: typer.Context,
    memory_id: Annotated[str, typer.Argument(metavar="ID")],
    signal: Annotated[str, typer.Argument(metavar="SIGNAL", help="useful, not_useful or wrong")],
    note: Annotated[str | None, typer.Option("--note", help="why")] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="the search the memory was a result of")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Judge a memory: useful / not_useful re-rank it for similar queries; wrong flags it."""
    result = state_of(ctx).memory().feedback(memory_id, signal, note=note, query=query)
    if not emit(ctx, json_, result):
        state_of(ctx).out.print(
            f"{signal} recorded for {memory_id}: importance {result['importance']:.3f}, "
            f"status {result['status']}"
        )


@app.command()
def lessons(
    ctx: typer.Context,
    task: Annotated[str, typer.Argument(help="the task about to be attempted")],
    agent: AgentOpt = None,
    user: UserOpt = None,
    limit: LimitOpt = 5,
    json_: JsonOpt = False,
) -> None:
    """Lessons from past episodes relevant to TASK, recorded failures first."""
    result = state_of(ctx).memory().lessons(task, agent_id=agent, user_id=user, limit=limit)
    if emit(ctx, json_, result):
        return
    found = result["results"]
    table = Table(title=f"{len(found)} lesson(s)", title_justify="left")
    table.add_column("outcome", no_wrap=True)
    table.add_column("seen", justify="right", no_wrap=True)
    table.add_column("task")
    table.add_column("cause")
    table.add_column("next time")
    table.add_column("id", no_wrap=True, style="dim")
    for item in found:
        ev = item["evidence"]
        table.add_row(
            item["outcome"] or "",
            f"{ev['successes']}✓ {ev['failures']}✗",
            escape(item["task"] or ""),
            escape(item["cause"] or ""),
            escape(item["advice"] or ""),
            item["id"],
        )
    state_of(ctx).out.print(table)


@app.command()
def stats(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Counts of memories, users, agents and history rows, and where the store is."""
    result = state_of(ctx).memory().stats()
    if not emit(ctx, json_, result):
        state_of(ctx).out.print(kv_table(result))


@app.command()
def migrate(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Bring the configured store (SQLite file or Postgres) to this version's schema.

    Opening a store applies pending numbered migrations, each in its own transaction; a store
    written by a newer engramdb is refused. This command does only that and reports the version.
    """
    memory = state_of(ctx).memory()
    result = {"schema_version": memory.store.schema_version, "store": memory.config.store.provider}
    if not emit(ctx, json_, result):
        state_of(ctx).out.print(
            f"{result['store']} store at schema version {result['schema_version']}"
        )
