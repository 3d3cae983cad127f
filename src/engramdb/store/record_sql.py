"""Memory, history, feedback and episode reads, in SQL both stores run as written.

What the two databases answer differently is asked of the backend's subclass of
:class:`~engramdb.store.graphsql.GraphSQL` (``SQLiteSQL``, ``PostgresSQL``): how JSON and
vectors come back, where a memory's vector lives (SQLite: a side table to join; Postgres: a
column), how a list of values is matched (``IN (?, ...)`` or ``= ANY(%s)``), and which full-text
index finds an episode's words. Mixed into ``GraphSQL`` for the shared runner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from engramdb.filters import Node
from engramdb.models import Episode, Feedback, HistoryEntry, MemoryRecord, Scope
from engramdb.store.graph_base import GraphBase
from engramdb.store.sqltree import RECORD_COLUMNS, valid_at_sql, visibility_sql

#: Columns of an episodes row (alias ``e``), in the order :func:`episode_from_row` reads.
EPISODE_SELECT = (
    "e.id, e.tenant, e.user_id, e.agent_id, e.run_id, e.batch_id, e.role, e.name, e.content, "
    "e.images, e.metadata, e.created_at, e.status, e.error, e.facts"
)
_ACTIVE = "m.status = 'active' AND (m.expires_at IS NULL OR m.expires_at > ?)"


def episode_from_row(r: Sequence[Any], json_value: Callable[[Any], Any]) -> Episode:
    """An episodes row (:data:`EPISODE_SELECT` order) as an :class:`Episode`."""
    return Episode(
        id=r[0],
        scope=Scope(tenant=r[1], user_id=r[2], agent_id=r[3], run_id=r[4]),
        batch_id=r[5],
        role=r[6],
        name=r[7],
        content=r[8],
        images=json_value(r[9]),
        metadata=json_value(r[10]),
        created_at=r[11],
        status=r[12],
        error=r[13],
        facts=r[14],
    )


class RecordSQL(GraphBase, ABC):
    """Reads of memories (with or without vectors), their history, feedback and episodes."""

    #: Joined to ``memories m`` to reach a memory's vector (empty when it is a column).
    vector_join: str
    #: The vector column, once joined.
    vector_column: str

    @staticmethod
    @abstractmethod
    def json_value(value: Any) -> Any:
        """A JSON column's value as Python data."""

    @staticmethod
    @abstractmethod
    def vector_value(value: Any) -> npt.NDArray[np.float32]:
        """A stored vector as float32."""

    @abstractmethod
    def _in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values`` (not empty), as SQL and its parameters."""

    @abstractmethod
    def _episode_words(self, words: Sequence[str]) -> tuple[list[str], list[Any]]:
        """Conditions on ``episodes e`` matching every one of ``words`` (not empty)."""

    def _record(self, r: Sequence[Any], with_vector: bool = False) -> MemoryRecord:
        return MemoryRecord(
            id=r[1],
            memory=r[6],
            scope=Scope(user_id=r[3], agent_id=r[4], run_id=r[5], tenant=r[2]),
            hash=r[7],
            metadata=self.json_value(r[8]),
            memory_type=r[9],
            role=r[10],
            categories=self.json_value(r[11]),
            created_at=r[12],
            updated_at=r[13],
            valid_at=r[14],
            invalid_at=r[15],
            status=r[16],
            expires_at=r[17],
            importance=float(r[18]),
            access_count=int(r[19]),
            last_accessed_at=r[20],
            vector=self.vector_value(r[21]) if with_vector else None,
        )

    def _select(self, with_vectors: bool) -> str:
        # The record's columns (and its vector) FROM memories m (and the vector's table).
        if not with_vectors:
            return f"SELECT {RECORD_COLUMNS} FROM memories m"
        return f"SELECT {RECORD_COLUMNS}, {self.vector_column} FROM memories m {self.vector_join}"

    def get(self, memory_id: str, tenant: str) -> MemoryRecord | None:
        """One memory of ``tenant`` by id (any status), or None."""
        rows = self._q(
            f"{self._select(False)} WHERE m.id = ? AND m.tenant = ?", (memory_id, tenant)
        )
        return self._record(rows[0]) if rows else None

    def get_many(self, rowids: Sequence[int], with_vectors: bool) -> dict[int, MemoryRecord]:
        """Records by row id (missing ones absent)."""
        if not rowids:
            return {}
        in_sql, in_params = self._in_list("m.rowid", rowids)
        rows = self._q(f"{self._select(with_vectors)} WHERE {in_sql}", in_params)
        return {r[0]: self._record(r, with_vectors) for r in rows}

    def list_records(
        self,
        scope: Scope,
        where: Node | None,
        limit: int,
        offset: int,
        statuses: Sequence[str],
        include_expired: bool,
    ) -> list[MemoryRecord]:
        """Memories in scope matching ``where`` and ``statuses``, newest first."""
        s_sql, s_params = self._scope_sql(scope, "m")
        w_sql, w_params = self._where_sql(where, "m")
        v_sql, v_params = visibility_sql("m", statuses, include_expired, self._now, self._mark)
        rows = self._q(
            f"{self._select(False)} WHERE {s_sql} AND {v_sql} AND {w_sql} "
            "ORDER BY m.created_at DESC, m.rowid DESC LIMIT ? OFFSET ?",
            [*s_params, *v_params, *w_params, limit, offset],
        )
        return [self._record(r) for r in rows]

    def records_valid_at(self, scope: Scope, where: Node | None, at: str) -> list[MemoryRecord]:
        """Memories in scope true at ``at`` (any of active/superseded), with vectors."""
        s_sql, s_params = self._scope_sql(scope, "m")
        w_sql, w_params = self._where_sql(where, "m")
        t_sql, t_params = valid_at_sql("m", at, self._now, self._mark)
        rows = self._q(
            f"{self._select(True)} WHERE {s_sql} AND {t_sql} AND {w_sql} ORDER BY m.rowid",
            [*s_params, *t_params, *w_params],
        )
        return [self._record(r, True) for r in rows]

    def records_after(
        self, scope: Scope, after: int, page: int, with_vectors: bool
    ) -> list[tuple[int, MemoryRecord]]:
        """Up to ``page`` memories in scope (any status) with rowids above ``after``, by
        rowid, each with its rowid."""
        s_sql, s_params = self._scope_sql(scope, "m")
        rows = self._q(
            f"{self._select(with_vectors)} WHERE {s_sql} AND m.rowid > ? ORDER BY m.rowid LIMIT ?",
            [*s_params, after, page],
        )
        return [(int(r[0]), self._record(r, with_vectors)) for r in rows]

    def count(self, scope: Scope, where: Node | None) -> int:
        """Active memories in scope matching ``where``."""
        s_sql, s_params = self._scope_sql(scope, "m")
        w_sql, w_params = self._where_sql(where, "m")
        rows = self._q(
            f"SELECT count(*) FROM memories m WHERE {s_sql} AND {_ACTIVE} AND {w_sql}",
            [*s_params, self._now, *w_params],
        )
        return int(rows[0][0])

    def ids_in_scope(self, scope: Scope) -> list[str]:
        """Ids of every memory in scope, any status."""
        s_sql, s_params = self._scope_sql(scope, "m")
        return [r[0] for r in self._q(f"SELECT m.id FROM memories m WHERE {s_sql}", s_params)]

    def feedback_for(self, tenant: str, rowids: Sequence[int]) -> list[tuple[int, Feedback]]:
        """Feedback on the memories with these row ids (with query vectors), oldest first."""
        if not rowids:
            return []
        in_sql, in_params = self._in_list("m.rowid", rowids)
        rows = self._q(
            "SELECT m.rowid, f.id, f.memory_id, f.tenant, f.signal, f.created_at, f.note, "
            "f.query, f.query_vector FROM memories m JOIN feedback f ON f.memory_id = m.id "
            f"WHERE {in_sql} AND f.tenant = ? ORDER BY f.created_at, f.id",
            [*in_params, tenant],
        )
        return [
            (
                int(r[0]),
                Feedback(
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    r[6],
                    r[7],
                    query_vector=None if r[8] is None else self.vector_value(r[8]),
                ),
            )
            for r in rows
        ]

    def history(self, memory_id: str, tenant: str) -> list[HistoryEntry]:
        """Changes of one memory, oldest first."""
        rows = self._q(
            "SELECT memory_id, event, old_memory, new_memory, created_at, actor, role, reason "
            "FROM history WHERE memory_id = ? AND tenant = ? ORDER BY id",
            (memory_id, tenant),
        )
        return [HistoryEntry(*r) for r in rows]

    def episodes(
        self,
        scope: Scope,
        *,
        ids: Sequence[str] | None,
        status: str | None,
        limit: int,
        newest_first: bool,
        since: str | None,
        until: str | None,
        keywords: Sequence[str] | None,
    ) -> list[Episode]:
        """Stored raw messages in scope, optionally by id, status, time or keywords."""
        s_sql, s_params = self._scope_sql(scope, "e")
        parts, params = [s_sql], list(s_params)
        if since is not None:
            parts.append("e.created_at >= ?")
            params.append(since)
        if until is not None:
            parts.append("e.created_at < ?")
            params.append(until)
        if keywords is not None:
            words = [w for w in keywords if w.strip()]
            if not words:
                return []
            w_parts, w_params = self._episode_words(words)
            parts += w_parts
            params += w_params
        if ids is not None:
            if not ids:
                return []
            in_sql, in_params = self._in_list("e.id", ids)
            parts.append(in_sql)
            params += in_params
        if status is not None:
            parts.append("e.status = ?")
            params.append(status)
        order = "DESC" if newest_first else "ASC"
        rows = self._q(
            f"SELECT {EPISODE_SELECT} FROM episodes e WHERE {' AND '.join(parts)} "
            f"ORDER BY e.created_at {order}, e.rowid {order} LIMIT ?",
            [*params, limit],
        )
        return [episode_from_row(r, self.json_value) for r in rows]
