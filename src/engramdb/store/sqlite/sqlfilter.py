"""Compile a parsed filter tree and a scope into a SQLite WHERE clause with parameters."""

from __future__ import annotations

from typing import Any

from engramdb.filters import TIME_FIELDS, Cond, Node
from engramdb.models import Scope
from engramdb.store import sqltree
from engramdb.timeutil import to_iso

_CMP = {"eq": "IS", "ne": "IS NOT", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def scope_sql(scope: Scope, alias: str = "m") -> tuple[str, list[Any]]:
    """``tenant = ? AND user_id = ? ...`` for the ids the scope names."""
    return sqltree.scope_sql(scope, alias, "?")


def where_sql(node: Node | None, alias: str = "m") -> tuple[str, list[Any]]:
    """SQL for a filter tree; ``("TRUE", [])`` when there is none."""
    return sqltree.where_sql(node, alias, _cond)


def _value(cond: Cond, value: Any) -> Any:
    if not cond.metadata and cond.field in TIME_FIELDS and value is not None:
        return to_iso(value, field=f"filter value for {cond.field}")
    if isinstance(value, bool):
        # json_extract returns JSON true/false as 1/0.
        return int(value)
    return value


def _cond(cond: Cond, a: str, params: list[Any]) -> str:
    if cond.metadata:
        path = '$."' + cond.field + '"'
        col = f"json_extract({a}.metadata, ?)"
        col_params: list[Any] = [path]
        array_src = f"json_each({a}.metadata, ?)"
        is_array = f"json_type({a}.metadata, ?) = 'array'"
    else:
        col = f"{a}.{cond.field}"
        col_params = []
        array_src = f"json_each({a}.{cond.field})"
        is_array = "1"
    op = cond.op
    if op in _CMP:
        params.extend([*col_params, _value(cond, cond.value)])
        return f"({col} {_CMP[op]} ?)"
    if op in ("in", "nin"):
        values = [_value(cond, v) for v in cond.value]
        marks = ", ".join("?" for _ in values)
        params.extend([*col_params, *values])
        if op == "in":
            return f"({col} IN ({marks}))"
        params.extend(col_params)
        return f"({col} NOT IN ({marks}) OR {col} IS NULL)"
    # contains / icontains: element of an array, or substring of a string.
    needle = str(cond.value)
    lower = op == "icontains"
    elem = "lower(value) LIKE lower(?) ESCAPE '\\'" if lower else "value = ?"
    sub = f"lower({col}) LIKE lower(?) ESCAPE '\\'" if lower else f"instr({col}, ?) > 0"
    like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    array_param = like if lower else cond.value
    sub_param = like if lower else needle
    if not cond.metadata and cond.field != "categories":
        params.append(sub_param)
        return f"(coalesce({sub}, 0))"
    # The metadata path parameter is repeated for each use of the column, in SQL order.
    params.extend([*col_params, *col_params, array_param, *col_params, sub_param])
    return (
        f"(CASE WHEN {is_array} THEN EXISTS (SELECT 1 FROM {array_src} WHERE {elem}) "
        f"ELSE coalesce({sub}, 0) END)"
    )
