"""The ``filters`` language, parsed into a small tree that each store compiles to its SQL.

Grammar (Mem0 2.x style)::

    filters   := {field: value | {op: value, ...}, ...}          # keys are ANDed
               | {"AND": [filters, ...]} | {"OR": [filters, ...]} | {"NOT": filters | [filters]}
    op        := eq ne gt gte lt lte in nin contains icontains

Fields are record fields (``user_id``, ``created_at``, ``memory_type``...) or metadata keys
(bare, or ``metadata.key``). Parsing is pure and raises :class:`FilterError` naming the culprit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, cast

from engramdb.errors import FilterError

Op = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains"]
OPERATORS: frozenset[str] = frozenset(
    ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains"]
)
# Record fields a filter may name; anything else is a metadata key.
RECORD_FIELDS: frozenset[str] = frozenset(
    [
        "id",
        "memory",
        "user_id",
        "agent_id",
        "run_id",
        "memory_type",
        "role",
        "categories",
        "created_at",
        "updated_at",
        "valid_at",
        "invalid_at",
        "status",
        "hash",
    ]
)
TIME_FIELDS: frozenset[str] = frozenset(["created_at", "updated_at", "valid_at", "invalid_at"])
SCOPE_FIELDS = ("user_id", "agent_id", "run_id")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Cond:
    """``field op value``; ``metadata`` says whether field is a metadata key."""

    field: str
    op: Op
    value: Any
    metadata: bool


@dataclass(frozen=True)
class And:
    """All of ``items``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``items``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """Not ``item``."""

    item: Node


Node = Cond | And | Or | Not


def parse(filters: dict[str, Any] | None) -> Node | None:
    """Parse a filters dict into a tree; ``None`` or ``{}`` gives ``None``.

    >>> parse({"city": {"in": ["Paris", "Rome"]}})
    Cond(field='city', op='in', value=('Paris', 'Rome'), metadata=True)
    """
    if filters is None:
        return None
    if not isinstance(filters, dict):
        raise FilterError(f"filters must be a dict, not {type(filters).__name__}")
    if not filters:
        return None
    return _parse_dict(filters)


def _parse_dict(d: dict[str, Any]) -> Node:
    items: list[Node] = []
    for key, value in d.items():
        if not isinstance(key, str):
            raise FilterError(f"filter key {key!r} is not a string")
        upper = key.upper()
        if upper in ("AND", "OR", "$AND", "$OR"):
            subs = _parse_list(key, value)
            items.append(And(subs) if upper.endswith("AND") else Or(subs))
        elif upper in ("NOT", "$NOT"):
            if isinstance(value, list):
                items.append(Not(And(_parse_list(key, value))))
            elif isinstance(value, dict):
                items.append(Not(_parse_dict(value)))
            else:
                raise FilterError(f"NOT takes a filter dict or a list of them, not {value!r}")
        else:
            items.extend(_parse_field(key, value))
    if not items:
        raise FilterError("an empty filter dict inside AND/OR/NOT matches nothing meaningful")
    return items[0] if len(items) == 1 else And(tuple(items))


def _parse_list(key: str, value: Any) -> tuple[Node, ...]:
    if not isinstance(value, list) or not value:
        raise FilterError(f"{key} takes a non-empty list of filter dicts")
    out: list[Node] = []
    for v in value:
        if not isinstance(v, dict):
            raise FilterError(f"{key} items must be filter dicts, not {v!r}")
        out.append(_parse_dict(v))
    return tuple(out)


def _field(key: str) -> tuple[str, bool]:
    if key.startswith("metadata."):
        name = key[len("metadata.") :]
        if not _KEY.match(name):
            raise FilterError(f"unknown filter field {key!r}: metadata keys are identifiers")
        return name, True
    if key in RECORD_FIELDS:
        return key, False
    if not _KEY.match(key):
        raise FilterError(
            f"unknown filter field {key!r}: use a record field "
            f"({', '.join(sorted(RECORD_FIELDS))}) or a metadata key made of letters, "
            "digits, '_' and '-'"
        )
    return key, True


def _parse_field(key: str, value: Any) -> list[Cond]:
    name, is_meta = _field(key)
    if isinstance(value, dict):
        if not value:
            raise FilterError(f"filter on {key!r} has no operator")
        return [_cond(name, is_meta, op, v) for op, v in value.items()]
    if value == "*":
        # Mem0's wildcard: the field exists with any value.
        return [Cond(name, "ne", None, is_meta)]
    return [_cond(name, is_meta, "eq", value)]


def _cond(name: str, is_meta: bool, op: Any, value: Any) -> Cond:
    raw = op[1:] if isinstance(op, str) and op.startswith("$") else op
    if raw not in OPERATORS:
        raise FilterError(
            f"unknown filter operator {op!r} on {name!r}; use one of {', '.join(sorted(OPERATORS))}"
        )
    op_name = cast(Op, raw)
    if op_name in ("in", "nin"):
        if not isinstance(value, list | tuple) or not value:
            raise FilterError(f"{op_name!r} on {name!r} takes a non-empty list")
        for v in value:
            _check_scalar(name, op_name, v)
        return Cond(name, op_name, tuple(value), is_meta)
    if op_name in ("contains", "icontains"):
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise FilterError(f"{op_name!r} on {name!r} takes a string or number")
    elif op_name in ("gt", "gte", "lt", "lte"):
        if value is None or isinstance(value, bool | list | dict):
            raise FilterError(f"{op_name!r} on {name!r} takes a number, string or time")
    else:
        _check_scalar(name, op_name, value)
    return Cond(name, op_name, value, is_meta)


def _check_scalar(name: str, op: str, value: Any) -> None:
    if not isinstance(value, str | int | float | bool) and value is not None:
        raise FilterError(f"{op!r} on {name!r} takes a scalar, not {type(value).__name__}")


def split_scope(node: Node | None) -> tuple[dict[str, str], Node | None]:
    """Pull equality conditions on user_id/agent_id/run_id out of the top-level AND.

    Scope ids given inside ``filters`` (Mem0 2.x style) become the query's scope, so the store
    can use its scope indexes; everything else stays a filter.
    """
    if node is None:
        return {}, None
    items = list(node.items) if isinstance(node, And) else [node]
    scope: dict[str, str] = {}
    rest: list[Node] = []
    for item in items:
        if (
            isinstance(item, Cond)
            and not item.metadata
            and item.field in SCOPE_FIELDS
            and item.op == "eq"
            and isinstance(item.value, str)
            and item.field not in scope
        ):
            scope[item.field] = item.value
        else:
            rest.append(item)
    if not rest:
        return scope, None
    return scope, rest[0] if len(rest) == 1 else And(tuple(rest))
