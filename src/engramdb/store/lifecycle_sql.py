"""The parts of an erasure both stores run as written: the scope a deleted memory had, and
the tombstone row. Mixed into :class:`~engramdb.store.graphsql.GraphSQL` for the shared
runner, so they run in the erasure's own transaction.

The rest of an erasure differs by database (what holds the text, how it is wiped) and stays
in each backend's ``lifecycle`` module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from engramdb.models import Scope, Tombstone
from engramdb.store.graph_base import GraphBase


class LifecycleSQL(GraphBase, ABC):
    """A deleted memory's scope from its history, and writing a tombstone."""

    @staticmethod
    @abstractmethod
    def json_param(value: Any) -> Any:
        """``value`` as a parameter for a JSON column."""

    def rescope_from_history(self, tombstone: Tombstone, tenant: str, memory_id: str) -> None:
        """Give ``tombstone`` the scope a memory of ``tenant`` deleted earlier had, as its
        history rows recorded it (rows written before migration 4 carry none: the scope then
        stays)."""
        rows = self._q(
            "SELECT user_id, agent_id, run_id FROM history WHERE tenant = ? "
            "AND memory_id = ? AND coalesce(user_id, agent_id, run_id) IS NOT NULL LIMIT 1",
            (tenant, memory_id),
        )
        if rows:
            user_id, agent_id, run_id = rows[0]
            tombstone.scope = Scope(
                tenant=tenant, user_id=user_id, agent_id=agent_id, run_id=run_id
            )

    def put_tombstone(self, tombstone: Tombstone) -> None:
        """Record ``tombstone`` (its scope, counts and reason)."""
        s = tombstone.scope
        self._q(
            "INSERT INTO tombstones (id, tenant, user_id, agent_id, run_id, memory_id, counts, "
            "reason, erased_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tombstone.id,
                s.tenant,
                s.user_id,
                s.agent_id,
                s.run_id,
                tombstone.memory_id,
                self.json_param(tombstone.counts),
                tombstone.reason,
                tombstone.erased_at,
            ),
        )
