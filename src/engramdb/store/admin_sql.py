"""API keys, metrics counts and tenant resets, in SQL both stores run as written.

Mixed into :class:`~engramdb.store.graphsql.GraphSQL` for its connection runner and
placeholders, as :mod:`~engramdb.store.feedback_sql` is: the stores then open one kind of
session for every statement they share.
"""

from __future__ import annotations

from collections.abc import Sequence

from engramdb.models import ApiKey, MetricRow
from engramdb.store.graph_base import GraphBase
from engramdb.store.sqltree import (
    KEY_COLUMNS,
    METRICS_SELECT,
    key_from_row,
    key_values,
    metric_from_row,
    metric_values,
    metrics_upsert,
)

#: Tables holding a tenant's memories and what hangs off them (graph tables aside).
_TENANT_TABLES = ("memories", "history", "episodes", "feedback")


class AdminSQL(GraphBase):
    """Keys, metrics and the row deletes of a reset."""

    def put_key(self, key: ApiKey) -> None:
        """Insert ``key`` (by its hash)."""
        self._q(f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ({self._marks(7)})", key_values(key))

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key whose SHA-256 is ``key_hash``, or None."""
        rows = self._q(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?", (key_hash,))
        return key_from_row(rows[0]) if rows else None

    def list_keys(self, tenant: str | None) -> list[ApiKey]:
        """Every key (of one tenant), oldest first."""
        where, params = ("WHERE tenant = ?", (tenant,)) if tenant is not None else ("", ())
        rows = self._q(
            f"SELECT {KEY_COLUMNS} FROM api_keys {where} ORDER BY created_at, id", params
        )
        return [key_from_row(r) for r in rows]

    def delete_key(self, key_id: str) -> bool:
        """Delete a key; False when there was none with that id."""
        # RETURNING instead of a driver's rowcount: the runner hands back rows only.
        return bool(self._q("DELETE FROM api_keys WHERE id = ? RETURNING id", (key_id,)))

    def record_metrics(self, rows: Sequence[MetricRow]) -> None:
        """Add ``rows`` to the stored counts of their (tenant, minute, kind)."""
        # One statement a row: a multi-row upsert may not touch one key twice (Postgres).
        upsert = metrics_upsert(self._mark)
        for row in rows:
            self._run(upsert, metric_values(row))

    def metrics(self, tenant: str, since: str) -> list[MetricRow]:
        """The stored counts of ``tenant`` from minute ``since`` on, oldest first."""
        rows = self._run(METRICS_SELECT.format(mark=self._mark), (tenant, since))
        return [metric_from_row(r) for r in rows]

    def delete_rows(self, tenant: str | None) -> None:
        """Delete memories, history, episodes and feedback (of one tenant, or all)."""
        for table in _TENANT_TABLES:
            if tenant is None:
                self._q(f"DELETE FROM {table}")
            else:
                self._q(f"DELETE FROM {table} WHERE tenant = ?", (tenant,))
