"""Feedback rows as an export carries them, in SQL both stores run as written.

The rows are read without their query vectors (stored as a BLOB in SQLite and a pgvector in
Postgres): an import embeds each query again with its own embedder, as a vector of another
model would be meaningless there. Mixed into :class:`~engramdb.store.graphsql.GraphSQL` for
its connection runner and placeholders.
"""

from __future__ import annotations

from collections.abc import Sequence

from engramdb.models import Feedback, Scope
from engramdb.store.graph_base import GraphBase


class FeedbackSQL(GraphBase):
    """Paged export reads of feedback, and which ids are stored."""

    def feedback_page(self, scope: Scope, after: str, limit: int) -> list[Feedback]:
        """Up to ``limit`` feedback rows on the scope's memories with ids after ``after``,
        by id, without query vectors."""
        s_sql, s_params = self._scope_sql(scope, "m")
        rows = self._q(
            "SELECT f.id, f.memory_id, f.tenant, f.signal, f.created_at, f.note, f.query FROM "
            f"feedback f JOIN memories m ON m.id = f.memory_id WHERE {s_sql} AND f.tenant = ? "
            "AND f.id > ? ORDER BY f.id LIMIT ?",
            [*s_params, scope.tenant, after, limit],
        )
        return [
            Feedback(
                id=str(r[0]),
                memory_id=str(r[1]),
                tenant=str(r[2]),
                signal=str(r[3]),
                created_at=str(r[4]),
                note=r[5],
                query=r[6],
            )
            for r in rows
        ]

    def feedback_stored(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are stored feedback rows (of any tenant: ids are unique)."""
        found: set[str] = set()
        for marks, part in self._chunks(ids):
            found.update(
                str(r[0]) for r in self._q(f"SELECT id FROM feedback WHERE id IN ({marks})", part)
            )
        return found
