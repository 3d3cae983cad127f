"""The CLI's Typer app, its global options and the helpers every command uses."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

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


def state_of(ctx: typer.Context) -> State:
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


def json_object(value: str | None, option: str) -> dict[str, Any] | None:
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


def emit(ctx: typer.Context, json_flag: bool, data: Any) -> bool:
    """Print ``data`` as JSON when asked; return True when it was printed."""
    state = state_of(ctx)
    if state.json or json_flag:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
        return True
    return False


def short_time(value: str | None) -> str:
    return "" if not value else value[:19].replace("T", " ")


def scope_text(rec: dict[str, Any]) -> str:
    parts = [f"{key[0]}:{rec[key]}" for key in ("user_id", "agent_id", "run_id") if rec.get(key)]
    return " ".join(parts)


def records_table(records: list[dict[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("id", no_wrap=True, style="dim")
    table.add_column("memory", ratio=1)
    table.add_column("scope", no_wrap=True)
    table.add_column("created", no_wrap=True)
    for rec in records:
        table.add_row(
            rec["id"],
            escape(rec["memory"]),
            escape(scope_text(rec)),
            short_time(rec["created_at"]),
        )
    return table


def kv_table(data: dict[str, Any]) -> Table:
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
