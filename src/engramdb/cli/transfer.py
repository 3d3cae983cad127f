"""Commands that move memories between stores: import and export (engramdb JSON Lines)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.markup import escape

from engramdb.cli.app import (
    AgentOpt,
    JsonOpt,
    RunOpt,
    State,
    UserOpt,
    app,
    emit,
    kv_table,
    state_of,
)
from engramdb.errors import EngramError


@contextmanager
def _input_lines(file: str) -> Iterator[IO[str]]:
    if file == "-":
        yield sys.stdin
        return
    try:
        handle = open(file, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc.strerror}", param_hint="FILE") from None
    with handle:
        yield handle


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="JSON Lines file ('-': stdin)")],
    user: UserOpt = None,
    agent: AgentOpt = None,
    run: RunOpt = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="import the valid lines, report the others")
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="memories per write transaction")
    ] = 256,
    bulk: Annotated[
        bool,
        typer.Option(
            "--bulk", help="large load: Postgres rebuilds its vector index once at the end"
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Import an engramdb export or a chat log (JSON Lines), validated before writing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from engramdb.transfer import (
        ImportReport,
        ImportValidationError,
        ImportWriteError,
        import_jsonl,
    )

    state = state_of(ctx)
    memory = state.memory()
    as_json = state.json or json_
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=state.err,
        transient=True,
        disable=as_json or not state.err.is_terminal,
    )
    task = progress.add_task("importing", total=None)

    def on_progress(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    report: ImportReport
    failure: EngramError | None = None
    try:
        with _input_lines(file) as lines, progress:
            report = import_jsonl(
                memory,
                lines,
                user_id=user,
                agent_id=agent,
                run_id=run,
                on_progress=on_progress,
                batch_size=batch_size,
                skip_invalid=skip_invalid,
                bulk=bulk,
            )
    except UnicodeDecodeError as exc:
        raise EngramError(f"{file} is not UTF-8 text: {exc.reason}") from None
    except (ImportValidationError, ImportWriteError) as exc:
        report, failure = exc.report, exc
    if as_json:
        emit(
            ctx,
            True,
            {"ok": failure is None, "error": failure and str(failure), **report.to_dict()},
        )
    else:
        _print_report(state, report)
    if failure is not None:
        raise failure


def _print_report(state: State, report: Any) -> None:
    for error in report.invalid[:10]:
        state.err.print(f"[red]line {error.line}:[/red] {escape(error.reason)}")
    if report.invalid_count > 10:
        state.err.print(f"[red]... and {report.invalid_count - 10} more invalid lines[/red]")
    summary = {
        "lines read": report.lines,
        "memories imported": report.imported,
        "memories added from chat lines": report.added,
        "skipped (id already stored)": report.skipped_existing,
        "re-embedded": report.reembedded,
        "episodes imported": report.episodes,
        "feedback imported": report.feedback,
        "history lines (not replayed)": report.history_lines,
        **{f"graph: {k.replace('_', ' ')}": v for k, v in report.graph.items()},
        "invalid lines": report.invalid_count,
        "transactions": report.batches,
    }
    state.out.print(kv_table({k: v for k, v in summary.items() if v or k == "lines read"}))


@app.command()
def export(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="write here instead of stdout", dir_okay=False),
    ] = None,
    user: UserOpt = None,
    agent: AgentOpt = None,
    run: RunOpt = None,
    vectors: Annotated[bool, typer.Option("--vectors", help="include embedding vectors")] = False,
    history: Annotated[
        bool, typer.Option("--history/--no-history", help="include each memory's history")
    ] = True,
    episodes: Annotated[
        bool,
        typer.Option("--episodes/--no-episodes", help="include the raw messages (episodes)"),
    ] = True,
    graph: Annotated[
        bool,
        typer.Option("--graph/--no-graph", help="include entities, relations and merges"),
    ] = True,
    json_: JsonOpt = False,
) -> None:
    """Write memories (the whole tenant, or one scope), their episodes and graph as JSON Lines."""
    from engramdb.transfer import export_jsonl

    memory = state_of(ctx).memory()
    kwargs: dict[str, Any] = {
        "user_id": user,
        "agent_id": agent,
        "run_id": run,
        "include_vectors": vectors,
        "include_history": history,
        "include_episodes": episodes,
        "include_graph": graph,
    }
    if out is None:
        export_jsonl(memory, sys.stdout, **kwargs)
        return
    partial = out.with_name(out.name + ".partial")
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            count = export_jsonl(memory, handle, **kwargs)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise EngramError(f"cannot write {out}: {exc.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if not emit(ctx, json_, {"exported": count, "path": str(out)}):
        state_of(ctx).out.print(f"exported {count} memories to {out}")
