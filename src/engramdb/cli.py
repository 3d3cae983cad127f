"""``engramdb``: the command line, a thin layer over the same :class:`~engramdb.Memory` methods.

    engramdb add "I live in Lisbon" --user alice
    engramdb search "where does alice live?" --user alice
    engramdb --json list --user alice | jq '.results[].memory'
    engramdb export --user alice --out alice.jsonl && engramdb --home ./copy import alice.jsonl

Global options go before the command (``--json`` is also accepted after it). Errors print one
red line on stderr and exit 1; usage errors exit 2.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engramdb.errors import EngramError, MemoryNotFoundError

if TYPE_CHECKING:
    from engramdb.memory import Memory

app = typer.Typer(
    name="engramdb",
    help="Long-term memory for AI agents, embedded and offline by default.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class State:
    """What the global options decided; the Memory is opened on first use."""

    home: Path | None = None
    config: Path | None = None
    json: bool = False
    out: Console = field(default_factory=lambda: Console(soft_wrap=False))
    err: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True))
    _memory: Memory | None = None

    def memory(self) -> Memory:
        if self._memory is None:
            from engramdb.memory import Memory

            self._memory = Memory(path=self.home, config=self.config)
        return self._memory

    def close(self) -> None:
        if self._memory is not None:
            self._memory.close()
            self._memory = None


def _state(ctx: typer.Context) -> State:
    state = ctx.find_root().obj
    assert isinstance(state, State)
    return state


# -- shared options -----------------------------------------------------------------------

UserOpt = Annotated[str | None, typer.Option("--user", "-u", help="user_id scope")]
AgentOpt = Annotated[str | None, typer.Option("--agent", "-a", help="agent_id scope")]
RunOpt = Annotated[str | None, typer.Option("--run", "-r", help="run_id scope")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON document on stdout")]
FiltersOpt = Annotated[
    str | None,
    typer.Option(
        "--filters", help='filter expression as JSON, e.g. \'{"metadata.topic": "food"}\''
    ),
]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, help="at most this many results")]


def _json_object(value: str | None, option: str) -> dict[str, Any] | None:
    """Parse a JSON-object option; a malformed one is a usage error (exit 2)."""
    if value is None:
        return None
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint=option) from None
    if not isinstance(data, dict):
        raise typer.BadParameter("must be a JSON object", param_hint=option)
    return data


def _emit(ctx: typer.Context, json_flag: bool, data: Any) -> bool:
    """Print ``data`` as JSON when asked; return True when it was printed."""
    state = _state(ctx)
    if state.json or json_flag:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
        return True
    return False


def _short_time(value: str | None) -> str:
    return "" if not value else value[:19].replace("T", " ")


def _scope_text(rec: dict[str, Any]) -> str:
    parts = [f"{key[0]}:{rec[key]}" for key in ("user_id", "agent_id", "run_id") if rec.get(key)]
    return " ".join(parts)


def _records_table(records: list[dict[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("id", no_wrap=True, style="dim")
    table.add_column("memory", ratio=1)
    table.add_column("scope", no_wrap=True)
    table.add_column("created", no_wrap=True)
    for rec in records:
        table.add_row(
            rec["id"],
            escape(rec["memory"]),
            escape(_scope_text(rec)),
            _short_time(rec["created_at"]),
        )
    return table


def _kv_table(data: dict[str, Any]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for key, value in data.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
        table.add_row(key, escape("" if shown is None else str(shown)))
    return table


# -- global options -----------------------------------------------------------------------


@app.callback()
def _root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="data directory (default: $ENGRAMDB_HOME, else ~/.engramdb)",
            file_okay=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="config file (.json or .toml)", dir_okay=False),
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="machine-readable output: one JSON document on stdout")
    ] = False,
) -> None:
    """Long-term memory for AI agents, embedded and offline by default."""
    state = State(home=home, config=config, json=json_)
    ctx.obj = state
    ctx.call_on_close(state.close)


# -- writes -------------------------------------------------------------------------------


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
    meta = _json_object(metadata, "--metadata")
    result = (
        _state(ctx)
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
    if _emit(ctx, json_, result):
        return
    table = Table(title=f"{len(result['results'])} change(s)", title_justify="left")
    table.add_column("event", no_wrap=True)
    table.add_column("id", no_wrap=True, style="dim")
    table.add_column("memory")
    for item in result["results"]:
        table.add_row(item.get("event", ""), item["id"], escape(item["memory"]))
    _state(ctx).out.print(table)


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
    meta = _json_object(metadata, "--metadata")
    result = _state(ctx).memory().update(memory_id, text=text, metadata=meta)
    if not _emit(ctx, json_, result):
        _state(ctx).out.print(_kv_table(result))


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
    memory = _state(ctx).memory
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
    if not _emit(ctx, json_, result):
        _state(ctx).out.print(
            f"deleted {result['deleted']} memories" if all_ else f"deleted {result['id']}"
        )


# -- reads --------------------------------------------------------------------------------


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
    where = _json_object(filters, "--filters")
    memory = _state(ctx).memory()
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
    if _emit(ctx, json_, result):
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
            _short_time(hit["created_at"]),
            hit["id"],
        )
    _state(ctx).out.print(table)


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
    where = _json_object(filters, "--filters")
    result = (
        _state(ctx)
        .memory()
        .context(
            query, user_id=user, agent_id=agent, run_id=run, filters=where, max_tokens=max_tokens
        )
    )
    if _emit(ctx, json_, result):
        return
    if result["text"]:
        sys.stdout.write(result["text"] + "\n")
    _state(ctx).err.print(
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
    where = _json_object(filters, "--filters")
    result = (
        _state(ctx)
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
    if not _emit(ctx, json_, result):
        records = result["results"]
        _state(ctx).out.print(_records_table(records, f"{len(records)} memories"))


@app.command()
def get(
    ctx: typer.Context,
    memory_id: Annotated[str, typer.Argument(metavar="ID")],
    json_: JsonOpt = False,
) -> None:
    """One memory by id."""
    result = _state(ctx).memory().get(memory_id)
    if result is None:
        raise MemoryNotFoundError(memory_id)
    if not _emit(ctx, json_, result):
        _state(ctx).out.print(_kv_table(result))


@app.command()
def history(
    ctx: typer.Context,
    memory_id: Annotated[str, typer.Argument(metavar="ID")],
    json_: JsonOpt = False,
) -> None:
    """Every change of a memory, oldest first (kept after it is deleted)."""
    entries = _state(ctx).memory().history(memory_id)
    if _emit(ctx, json_, entries):
        return
    table = Table(title=f"history of {memory_id}", title_justify="left")
    table.add_column("at", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("old")
    table.add_column("new")
    table.add_column("reason")
    for e in entries:
        table.add_row(
            _short_time(e["created_at"]),
            e["event"],
            escape(e["old_memory"] or ""),
            escape(e["new_memory"] or ""),
            escape(e.get("reason") or ""),
        )
    _state(ctx).out.print(table)


# -- lifecycle ----------------------------------------------------------------------------


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
        _state(ctx)
        .memory()
        .forget(user_id=user, agent_id=agent, run_id=run, memory_id=memory_id, reason=reason)
    )
    if not _emit(ctx, json_, result):
        counts = ", ".join(f"{n} {kind}" for kind, n in result["counts"].items())
        _state(ctx).out.print(f"erased {counts} (tombstone {result['id']})")


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
        _state(ctx).memory().consolidate(user_id=user, agent_id=agent, run_id=run, dry_run=dry_run)
    )
    if not _emit(ctx, json_, report):
        verb = "would archive" if dry_run else "archived"
        merged = sum(len(m["archived"]) for m in report["merged"])
        _state(ctx).out.print(
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
    result = _state(ctx).memory().restore(memory_id)
    if not _emit(ctx, json_, result):
        _state(ctx).out.print(f"restored {result['id']}")


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
    result = _state(ctx).memory().feedback(memory_id, signal, note=note, query=query)
    if not _emit(ctx, json_, result):
        _state(ctx).out.print(
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
    result = _state(ctx).memory().lessons(task, agent_id=agent, user_id=user, limit=limit)
    if _emit(ctx, json_, result):
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
    _state(ctx).out.print(table)


@app.command()
def stats(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Counts of memories, users, agents and history rows, and where the store is."""
    result = _state(ctx).memory().stats()
    if not _emit(ctx, json_, result):
        _state(ctx).out.print(_kv_table(result))


@app.command()
def migrate(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Bring the configured store (SQLite file or Postgres) to this version's schema.

    Opening a store applies pending numbered migrations, each in its own transaction; a store
    written by a newer engramdb is refused. This command does only that and reports the version.
    """
    memory = _state(ctx).memory()
    result = {"schema_version": memory.store.schema_version, "store": memory.config.store.provider}
    if not _emit(ctx, json_, result):
        _state(ctx).out.print(
            f"{result['store']} store at schema version {result['schema_version']}"
        )


# -- transfer -----------------------------------------------------------------------------


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

    state = _state(ctx)
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
        _emit(
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
    state.out.print(_kv_table({k: v for k, v in summary.items() if v or k == "lines read"}))


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
    """Write memories (the whole tenant, or one scope), their episodes and graph as JSON
    Lines."""
    from engramdb.transfer import export_jsonl

    memory = _state(ctx).memory()
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
    if not _emit(ctx, json_, {"exported": count, "path": str(out)}):
        _state(ctx).out.print(f"exported {count} memories to {out}")


# -- demo ---------------------------------------------------------------------------------


@app.command()
def demo(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="hits per search")] = 3,
    json_: JsonOpt = False,
) -> None:
    """Store a short three-session chat and search it (a fresh temporary home unless --home)."""
    from engramdb.demo import render, run_demo
    from engramdb.memory import Memory

    state = _state(ctx)
    with tempfile.TemporaryDirectory(prefix="engramdb-demo-") as tmp:
        home = state.home if state.home is not None else Path(tmp)
        with Memory(path=home, config=state.config) as memory:
            result = run_demo(memory, limit=limit)
        if not _emit(ctx, json_, {"home": str(home), **result}):
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
    state = _state(ctx)
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
    state = _state(ctx)
    if print_config:
        if client not in CONFIG_FILES:
            raise typer.BadParameter(f"one of {', '.join(CONFIG_FILES)}", param_hint="--client")
        snippet = client_config(client, home=state.home, user=user, config=state.config)
        sys.stdout.write(json.dumps(snippet, indent=2) + "\n")
        state.err.print(f"add it to the mcpServers of {CONFIG_FILES[client]}", highlight=False)
        return
    run_stdio(state.memory(), default_user=user)


# -- entry point --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; engramdb errors become one red line on stderr and exit code 1."""
    try:
        app(args=argv, prog_name="engramdb")
    except EngramError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
