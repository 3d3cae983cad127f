"""``engramdb``: the command line, a thin layer over the same :class:`~engramdb.Memory` methods.

    engramdb add "I live in Lisbon" --user alice
    engramdb search "where does alice live?" --user alice
    engramdb --json list --user alice | jq '.results[].memory'
    engramdb export --user alice --out alice.jsonl && engramdb --home ./copy import alice.jsonl

Global options go before the command (``--json`` is also accepted after it). Errors print one
red line on stderr and exit 1; usage errors exit 2.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

from engramdb.cli.app import app
from engramdb.errors import EngramError

# Importing a command module registers its commands, in the order --help lists them.
# isort: off
from engramdb.cli import writes, reads, lifecycle, transfer, services  # noqa: F401
# isort: on

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; engramdb errors become one red line on stderr and exit code 1."""
    try:
        app(args=argv, prog_name="engramdb")
    except EngramError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(1)
