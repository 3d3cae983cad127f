"""Compile a parsed filter tree and a scope into a PostgreSQL WHERE clause with parameters.

Semantics are the SQLite compiler's, value for value (a test checks both on the same rows):
``eq``/``ne`` are NULL-safe (a missing metadata key, or a JSON ``null``, is NULL, and ``ne``
matches it), ``nin`` matches a missing key, ``contains`` on an array means "has this element"
and on a string "has this substring". Metadata values compare as SQLite's ``json_extract``
sees them: ``5`` and ``"5"`` differ, ``true`` is 1, strings compare bytewise and every number
sorts below every string.
"""

from __future__ import annotations

import json
from typing import Any

from engramdb.filters import TIME_FIELDS, Cond, Node
from engramdb.models import Scope
from engramdb.store import sqltree
from engramdb.timeutil import to_iso

_ORD = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def scope_sql(scope: Scope, alias: str = "m") -> tuple[str, list[Any]]:
    """``tenant = %s AND user_id = %s ...`` for the ids the scope names."""
    return sqltree.scope_sql(scope, alias, "%s")


def where_sql(node: Node | None, alias: str = "m") -> tuple[str, list[Any]]:
    """SQL for a filter tree; ``("TRUE", [])`` when there is none."""
    return sqltree.where_sql(node, alias, _cond)


def _like(needle: str) -> str:
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _cond(cond: Cond, a: str, params: list[Any]) -> str:
    if cond.metadata or cond.field == "categories":
        return _json_cond(cond, a, params)
    return _text_cond(cond, a, params)


def _text(cond: Cond, value: Any) -> str | None:
    if value is None:
        return None
    if cond.field in TIME_FIELDS:
        return to_iso(value, field=f"filter value for {cond.field}")
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def _text_cond(cond: Cond, a: str, params: list[Any]) -> str:
    col = f'{a}.{cond.field} COLLATE "C"'
    op = cond.op
    if op == "eq":
        params.append(_text(cond, cond.value))
        return f"({col} IS NOT DISTINCT FROM %s::text)"
    if op == "ne":
        params.append(_text(cond, cond.value))
        return f"({col} IS DISTINCT FROM %s::text)"
    if op in _ORD:
        params.append(_text(cond, cond.value))
        return f"({col} {_ORD[op]} %s::text)"
    if op in ("in", "nin"):
        values = [_text(cond, v) for v in cond.value]
        params.append([v for v in values if v is not None])
        found = f"({col} = ANY(%s::text[]))"
        if op == "in":
            return found
        # SQLite: ``x NOT IN (..., NULL)`` is never true, so only a missing value passes.
        if any(v is None for v in values):
            params.pop()
            return f"({col} IS NULL)"
        return f"(NOT {found} OR {col} IS NULL)"
    needle = str(cond.value)
    if op == "icontains":
        params.append(_like(needle))
        return f"coalesce(lower({a}.{cond.field}) LIKE lower(%s) ESCAPE '\\', FALSE)"
    params.append(needle)
    return f"coalesce(strpos({a}.{cond.field}, %s) > 0, FALSE)"


def _jsonb(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_cond(cond: Cond, a: str, params: list[Any]) -> str:
    if cond.metadata:
        # Keys are identifiers (filters._KEY), so they are safe as a quoted literal.
        key = "'" + cond.field.replace("'", "''") + "'"
        # JSON null and a missing key are the same (SQL NULL), as json_extract sees them.
        col = f"nullif({a}.metadata -> {key}, 'null'::jsonb)"
    else:
        col = f"{a}.{cond.field}"
    op = cond.op
    value = cond.value
    # The value as SQLite's json_extract sees it: numbers (and booleans, as 1/0) compare
    # with numbers, strings with strings (bytewise); a number is below any string.
    num = (
        f"(CASE jsonb_typeof({col}) WHEN 'number' THEN ({col})::numeric "
        f"WHEN 'boolean' THEN (CASE WHEN {col} = 'true'::jsonb THEN 1 ELSE 0 END)::numeric END)"
    )
    txt = (
        f"(CASE jsonb_typeof({col}) WHEN 'string' THEN {col} #>> '{{}}' "
        f"WHEN 'object' THEN {col}::text WHEN 'array' THEN {col}::text END) COLLATE \"C\""
    )
    if op in ("eq", "ne"):
        if value is None:
            return f"({col} IS {'' if op == 'eq' else 'NOT '}NULL)"
        is_num = isinstance(value, int | float)
        params.append(int(value) if isinstance(value, bool) else value if is_num else str(value))
        expr, cast = (num, "numeric") if is_num else (txt, "text")
        return f"({expr} IS {'NOT ' if op == 'eq' else ''}DISTINCT FROM %s::{cast})"
    if op in _ORD:
        sql_op = _ORD[op]
        if isinstance(value, int | float):
            params.append(value)
            above = "TRUE" if op in ("gt", "gte") else "FALSE"
            return (
                f"(CASE WHEN {col} IS NULL THEN NULL WHEN {num} IS NOT NULL "
                f"THEN {num} {sql_op} %s::numeric ELSE {above} END)"
            )
        params.append(str(value))
        below = "TRUE" if op in ("lt", "lte") else "FALSE"
        return (
            f"(CASE WHEN {col} IS NULL THEN NULL WHEN {num} IS NOT NULL THEN {below} "
            f"ELSE {txt} {sql_op} %s::text END)"
        )
    if op in ("in", "nin"):
        values = [v for v in value if v is not None]
        nums = [int(v) if isinstance(v, bool) else v for v in values if isinstance(v, int | float)]
        strs = [str(v) for v in values if not isinstance(v, int | float)]
        params.extend([nums, strs])
        found = f"({num} = ANY(%s::numeric[]) OR {txt} = ANY(%s::text[]))"
        if op == "in":
            return found
        if len(values) < len(value):
            # SQLite: ``x NOT IN (..., NULL)`` is never true, so only a missing key passes.
            del params[-2:]
            return f"({col} IS NULL)"
        return f"(NOT coalesce({found}, FALSE) OR {col} IS NULL)"
    # contains / icontains: element of an array, or substring of a scalar's text.
    needle = str(value)
    if op == "icontains":
        like = _like(needle)
        params.extend([like, like])
        return (
            f"coalesce(CASE WHEN jsonb_typeof({col}) = 'array' THEN EXISTS (SELECT 1 FROM "
            f"jsonb_array_elements_text({col}) e(v) WHERE lower(e.v) LIKE lower(%s) ESCAPE '\\') "
            f"ELSE lower({col} #>> '{{}}') LIKE lower(%s) ESCAPE '\\' END, FALSE)"
        )
    params.extend([_jsonb([value]), needle])
    return (
        f"coalesce(CASE WHEN jsonb_typeof({col}) = 'array' THEN {col} @> %s::jsonb "
        f"ELSE strpos({col} #>> '{{}}', %s) > 0 END, FALSE)"
    )
