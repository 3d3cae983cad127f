"""What the graph SQL shares: the connection, placeholders and two small lookups.

See :mod:`engramdb.store.graphsql` for the tables and how the stores use this.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from engramdb.filters import Node
from engramdb.models import Scope

#: ``run(sql, params)`` → rows (an empty list for statements that return none).
Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
ScopeSQL = Callable[[Scope, str], tuple[str, list[Any]]]
WhereSQL = Callable[[Node | None, str], tuple[str, list[Any]]]

# Ids per IN list: well under SQLite's and Postgres's parameter limits.
CHUNK = 400


def scope_key(scope: Scope) -> str:
    """The exact scope an entity belongs to, as one indexable text value."""
    return json.dumps([scope.user_id, scope.agent_id, scope.run_id])


class GraphBase:
    """One connection's runner, placeholder, scope/filter compilers and the current time."""

    def __init__(
        self, run: Run, mark: str, scope_sql: ScopeSQL, where_sql: WhereSQL, now: str
    ) -> None:
        self._run = run
        self._mark = mark
        self._scope_sql = scope_sql
        self._where_sql = where_sql
        self._now = now

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql.replace("?", self._mark), params)

    def _marks(self, n: int) -> str:
        return ", ".join([self._mark] * n)

    def _final(self, entity_id: str) -> str:
        # Follow merges (a merged entity points at the one that absorbed it).
        for _ in range(16):
            row = self._q("SELECT merged_into FROM entities WHERE id = ?", (entity_id,))
            if not row or row[0][0] is None:
                return entity_id
            entity_id = str(row[0][0])
        return entity_id

    def _counts(self, entity_ids: Sequence[str], cap: int) -> list[tuple[str, int]]:
        # Counting stops at cap + 1 links: "more than the cap" is all a caller needs.
        rows = self._q(
            " UNION ALL ".join(
                "SELECT CAST(? AS TEXT), count(*) FROM (SELECT 1 FROM entity_links "
                "WHERE entity_id = ? LIMIT ?) c"
                for _ in entity_ids
            ),
            [v for entity_id in entity_ids for v in (entity_id, entity_id, cap + 1)],
        )
        return [(str(r[0]), int(r[1])) for r in rows]
