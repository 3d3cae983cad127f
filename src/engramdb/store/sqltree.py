"""What both SQL backends compile the same way: the scope clause and the AND/OR/NOT tree of a
filter. Each backend supplies its placeholder and how one condition becomes SQL."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from engramdb.errors import StoreError
from engramdb.filters import And, Cond, Node, Not, Or
from engramdb.models import ApiKey, Change, Episode, MetricRow, NewMemory, Scope, nudged

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


def changed_columns(change: Change, importance: float) -> list[tuple[str, Any]]:
    """The memories columns a :class:`Change` sets (metadata as JSON text), vector aside.

    ``importance`` is the stored value, read in the same write transaction (under its lock),
    that a ``nudge`` moves.
    """
    if change.nudge is not None:
        change = replace(change, importance=nudged(importance, change.nudge))
    out: list[tuple[str, Any]] = [
        (col, val)
        for col, val in (
            ("memory", change.memory),
            ("hash", change.hash),
            ("status", change.status),
            ("invalid_at", change.invalid_at),
            ("importance", change.importance),
            ("expires_at", change.expires_at),
        )
        if val is not None
    ]
    if change.metadata is not None:
        out.append(("metadata", json.dumps(change.metadata, ensure_ascii=False)))
    return out


#: Columns of an episode row, in the order :func:`episode_values` gives them.
EPISODE_COLUMNS = (
    "id, tenant, user_id, agent_id, run_id, batch_id, role, name, content, images, metadata, "
    "created_at, status, error, facts"
)
#: Columns of a new memory row, in the order :func:`memory_values` gives them.
MEMORY_COLUMNS = (
    "id, tenant, user_id, agent_id, run_id, memory, hash, metadata, memory_type, role, "
    "categories, created_at, updated_at, valid_at, importance, expires_at"
)


def episode_values(e: Episode) -> tuple[Any, ...]:
    """One episode as a row (JSON columns as text)."""
    return (
        e.id,
        e.scope.tenant,
        e.scope.user_id,
        e.scope.agent_id,
        e.scope.run_id,
        e.batch_id,
        e.role,
        e.name,
        e.content,
        json.dumps(e.images),
        json.dumps(e.metadata, ensure_ascii=False),
        e.created_at,
        e.status,
        e.error,
        e.facts,
    )


def memory_values(new: NewMemory) -> tuple[Any, ...]:
    """A new memory as a row without its vector (JSON columns as text)."""
    return (
        new.id,
        new.scope.tenant,
        new.scope.user_id,
        new.scope.agent_id,
        new.scope.run_id,
        new.memory,
        new.hash,
        json.dumps(new.metadata, ensure_ascii=False),
        new.memory_type,
        new.role,
        json.dumps(new.categories),
        new.created_at,
        new.created_at,
        new.valid_at or new.created_at,
        new.importance,
        new.expires_at,
    )


#: A memory row as both stores read it (alias ``m``): the record's fields after the rowid.
RECORD_COLUMNS = (
    "m.rowid, m.id, m.tenant, m.user_id, m.agent_id, m.run_id, m.memory, m.hash, m.metadata, "
    "m.memory_type, m.role, m.categories, m.created_at, m.updated_at, m.valid_at, m.invalid_at, "
    "m.status, m.expires_at, m.importance, m.access_count, m.last_accessed_at"
)


def now_iso() -> str:
    """The current UTC time as stored (whole seconds, six zero decimals, ``+00:00``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


#: Columns of an api_keys row, in the order :func:`key_values` gives them and
#: :func:`key_from_row` reads them.
KEY_COLUMNS = "id, tenant, name, read_only, created_at, prefix, key_hash"


def key_values(key: ApiKey) -> tuple[Any, ...]:
    """An API key as a row."""
    return (key.id, key.tenant, key.name, key.read_only, key.created_at, key.prefix, key.key_hash)


def key_from_row(row: Sequence[Any]) -> ApiKey:
    """An api_keys row (in :data:`KEY_COLUMNS` order) as an :class:`ApiKey`."""
    return ApiKey(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6])


def metrics_upsert(mark: str) -> str:
    """The statement adding one :class:`MetricRow` to its stored counts (both databases)."""
    marks = ", ".join([mark] * 6)
    return (
        f"INSERT INTO metrics (tenant, minute, kind, count, total_ms, tokens) VALUES ({marks}) "
        "ON CONFLICT (tenant, minute, kind) DO UPDATE SET count = metrics.count + excluded.count, "
        "total_ms = metrics.total_ms + excluded.total_ms, "
        "tokens = metrics.tokens + excluded.tokens"
    )


def metric_values(row: MetricRow) -> tuple[Any, ...]:
    """A :class:`MetricRow` as statement parameters for :func:`metrics_upsert`."""
    return (row.tenant, row.minute, row.kind, row.count, row.total_ms, row.tokens)


#: Reading stored metrics of one tenant from a minute on (``{mark}`` is the placeholder).
METRICS_SELECT = (
    "SELECT tenant, minute, kind, count, total_ms, tokens FROM metrics "
    "WHERE tenant = {mark} AND minute >= {mark} ORDER BY minute, kind"
)


def metric_from_row(row: Sequence[Any]) -> MetricRow:
    """A stored metrics row as a :class:`MetricRow`."""
    return MetricRow(row[0], row[1], row[2], int(row[3]), float(row[4]), int(row[5]))


#: Columns of a history row, in the order :func:`history_values` gives them.
HISTORY_COLUMNS = (
    "memory_id, tenant, user_id, agent_id, run_id, event, old_memory, new_memory, role, "
    "reason, created_at"
)


def row_scope(tenant: str, user_id: str | None, agent_id: str | None, run_id: str | None) -> Scope:
    """The scope of a row read as (tenant, user_id, agent_id, run_id)."""
    return Scope(tenant=tenant, user_id=user_id, agent_id=agent_id, run_id=run_id)


def history_values(
    memory_id: str,
    scope: Scope,
    event: str,
    old: str | None,
    new: str | None,
    at: str,
    *,
    role: str | None = None,
    reason: str | None = None,
) -> tuple[Any, ...]:
    """One history row; it carries the memory's scope so that forgetting a scope reaches it."""
    return (
        memory_id,
        scope.tenant,
        scope.user_id,
        scope.agent_id,
        scope.run_id,
        event,
        old,
        new,
        role,
        reason,
        at,
    )


def changing_row(cursor: Any, change: Change, mark: str, lock: str = "") -> Sequence[Any] | None:
    """The stored row ``change`` applies to: (rowid, tenant, memory, user_id, agent_id, run_id,
    importance, updated_at), read inside the write transaction (``lock`` is Postgres's
    ``FOR UPDATE``); ``None`` when the caller planned on another version (``if_updated_at``),
    so the change is skipped. A memory gone mid-write is a :class:`StoreError`."""
    row = cursor.execute(
        "SELECT rowid, tenant, memory, user_id, agent_id, run_id, importance, updated_at "
        f"FROM memories WHERE id = {mark}{lock}",
        (change.id,),
    ).fetchone()
    if row is None:
        raise StoreError(f"memory {change.id} vanished during the write")
    if change.if_updated_at is not None and row[7] != change.if_updated_at:
        return None
    return tuple(row)


def change_history(change: Change, row: Sequence[Any], at: str) -> tuple[Any, ...]:
    """The history row of ``change`` to the memory read (before the change) as
    (rowid, tenant, memory, user_id, agent_id, run_id)."""
    old = row[2]
    return history_values(
        change.id,
        row_scope(row[1], *row[3:6]),
        change.event,
        old,
        change.memory or old,
        at,
        reason=change.reason,
    )


def checked_vector(memory_id: str, value: Any, dims: int) -> npt.NDArray[np.float32]:
    """``value`` as float32, or :class:`StoreError` when it is not of the store's ``dims``."""
    vec = np.asarray(value, dtype=np.float32)
    if vec.shape != (dims,):
        raise StoreError(f"vector of {memory_id} has shape {vec.shape}, not ({dims},)")
    return vec


def rarest_within(counted: Sequence[tuple[int, str]], budget: int) -> list[str]:
    """Terms of (matching rows, term) pairs, rarest first, while their rows add up to at
    most ``budget`` (what a keyword search may afford to score)."""
    kept, total = [], 0
    for df, term in sorted(counted):
        if total + df > budget:
            break
        kept.append(term)
        total += df
    return kept


def visibility_sql(
    alias: str, statuses: Sequence[str], include_expired: bool, now: str, mark: str
) -> tuple[str, list[Any]]:
    """Which statuses a read sees and whether memories past ``expires_at`` count."""
    parts = [f"{alias}.status IN ({', '.join(mark for _ in statuses)})"]
    params: list[Any] = list(statuses)
    if not include_expired:
        parts.append(f"({alias}.expires_at IS NULL OR {alias}.expires_at > {mark})")
        params.append(now)
    return " AND ".join(parts), params


def valid_at_sql(alias: str, at: str, now: str, mark: str) -> tuple[str, list[Any]]:
    """Rows true at ``at`` in valid time: active or superseded, not expired now."""
    a = alias
    return (
        f"{a}.status IN ('active', 'superseded') AND coalesce({a}.valid_at, {a}.created_at) "
        f"<= {mark} AND ({a}.invalid_at IS NULL OR {a}.invalid_at > {mark}) AND "
        f"({a}.expires_at IS NULL OR {a}.expires_at > {mark})",
        [at, at, now],
    )


def episode_ids_of(metadata: dict[str, Any]) -> list[str]:
    """The episodes a memory says it came from (``metadata.episode_ids``), if any."""
    ids = metadata.get("episode_ids")
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
