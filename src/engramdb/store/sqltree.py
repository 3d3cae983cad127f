"""What both SQL backends compile the same way: the scope clause and the AND/OR/NOT tree of a
filter. Each backend supplies its placeholder and how one condition becomes SQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from engramdb.filters import And, Cond, Node, Not, Or
from engramdb.models import Change, Scope

#: Compiles one condition for a table alias, appending its parameters.
CondSQL = Callable[[Cond, str, list[Any]], str]


def scope_sql(scope: Scope, alias: str, mark: str) -> tuple[str, list[Any]]:
    """``tenant = ? AND user_id = ? ...`` for the ids the scope names (``mark``: ? or %s)."""
    parts = [f"{alias}.tenant = {mark}"]
    params: list[Any] = [scope.tenant]
    for name, value in scope.as_dict().items():
        if value is not None:
            parts.append(f"{alias}.{name} = {mark}")
            params.append(value)
    return " AND ".join(parts), params


def where_sql(node: Node | None, alias: str, cond: CondSQL) -> tuple[str, list[Any]]:
    """SQL for a filter tree; ``("TRUE", [])`` when there is none.

    NULL propagates the same way in both databases: NOT of an unknown comparison is still
    unknown, so it matches nothing.
    """
    if node is None:
        return "TRUE", []
    params: list[Any] = []
    return _node(node, alias, params, cond), params


def _node(node: Node, a: str, params: list[Any], cond: CondSQL) -> str:
    if isinstance(node, And):
        return "(" + " AND ".join(_node(n, a, params, cond) for n in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(_node(n, a, params, cond) for n in node.items) + ")"
    if isinstance(node, Not):
        return f"(NOT {_node(node.item, a, params, cond)})"
    return cond(node, a, params)


def changed_columns(change: Change) -> list[tuple[str, Any]]:
    """The memories columns a :class:`Change` sets (metadata as JSON text), vector aside."""
    out: list[tuple[str, Any]] = [
        (col, val)
        for col, val in (
            ("memory", change.memory),
            ("hash", change.hash),
            ("status", change.status),
            ("invalid_at", change.invalid_at),
        )
        if val is not None
    ]
    if change.metadata is not None:
        out.append(("metadata", json.dumps(change.metadata, ensure_ascii=False)))
    return out
