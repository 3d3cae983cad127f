"""SQLiteStore: memories, vectors, FTS5 keyword index and history in one SQLite file.

The write transaction is in :mod:`engramdb.store.sqlite.writes`, search and its vector
caches in :mod:`engramdb.store.sqlite.search`; the methods every SQL store runs alike come
from :mod:`engramdb.store.sql_methods`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from engramdb.errors import ConflictError, StoreError
from engramdb.filters import Node
from engramdb.models import (
    Episode,
    Feedback,
    HistoryEntry,
    MemoryRecord,
    Scope,
    Tombstone,
    WriteBatch,
)
from engramdb.store.base import ACTIVE_ONLY
from engramdb.store.graphsql import GraphSQL
from engramdb.store.sql_methods import SQLMethods
from engramdb.store.sqlite import lifecycle, schema, writes
from engramdb.store.sqlite.search import SQLiteSearch
from engramdb.store.sqlite.sqlfilter import scope_sql, where_sql
from engramdb.store.sqlite.vectors import ScopeMatrix
from engramdb.store.sqltree import (
    RECORD_COLUMNS,
    now_iso,
    valid_at_sql,
    visibility_sql,
)

_ACTIVE = "m.status = 'active' AND (m.expires_at IS NULL OR m.expires_at > ?)"


class SQLiteStore(SQLiteSearch, SQLMethods):
    """The embedded store. Safe to share between threads; several processes may open one file.

    Example::

        store = SQLiteStore("/tmp/mem.db", dims=384)
    """

    def __init__(self, path: str | Path, *, dims: int, synchronous: str = "NORMAL") -> None:
        self.path = str(path)
        self.dims = dims
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=60.0, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        c = self._conn
        try:
            c.execute("PRAGMA busy_timeout = 60000")
            c.execute("PRAGMA journal_mode = WAL")
            c.execute(f"PRAGMA synchronous = {synchronous}")
            c.execute("PRAGMA foreign_keys = ON")
            c.execute("PRAGMA cache_size = -65536")
            self.schema_version = schema.migrate(c, self.path)
        except sqlite3.DatabaseError as exc:
            c.close()
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        except BaseException:
            c.close()
            raise
        self._caches: dict[Scope, ScopeMatrix] = {}

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so the busy timeout applies instead of a
        # deadlock-avoiding SQLITE_BUSY when a reader later tries to upgrade.
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[GraphSQL]:
        with self._lock:
            yield self._graph(self._conn)

    @contextmanager
    def _writing(self) -> Iterator[GraphSQL]:
        with self._write() as c:
            yield self._graph(c)

    def apply(self, batch: WriteBatch) -> None:
        """Apply inserts, changes and deletes in one transaction, with history rows.

        An id that is already taken raises :class:`ConflictError` and nothing is written.
        """
        if not batch:
            return
        try:
            self._apply(batch)
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"an id in the write is already taken: {exc}") from None

    def _graph(self, c: sqlite3.Connection) -> GraphSQL:
        return GraphSQL(
            lambda sql, params: c.execute(sql, list(params)).fetchall(),
            "?",
            scope_sql,
            where_sql,
            now_iso(),
        )

    def _apply(self, batch: WriteBatch) -> None:
        with self._write() as c:
            writes.apply_batch(c, batch, batch.at or now_iso(), self.dims, self._graph(c))

    # -- reads ----------------------------------------------------------------------------

    def _record(self, r: Sequence[Any], vector: bytes | None = None) -> MemoryRecord:
        return MemoryRecord(
            id=r[1],
            memory=r[6],
            scope=Scope(user_id=r[3], agent_id=r[4], run_id=r[5], tenant=r[2]),
            hash=r[7],
            metadata=json.loads(r[8]),
            memory_type=r[9],
            role=r[10],
            categories=json.loads(r[11]),
            created_at=r[12],
            updated_at=r[13],
            valid_at=r[14],
            invalid_at=r[15],
            status=r[16],
            expires_at=r[17],
            importance=float(r[18]),
            access_count=int(r[19]),
            last_accessed_at=r[20],
            vector=None if vector is None else np.frombuffer(vector, dtype=np.float32),
        )

    def get(self, memory_id: str, tenant: str) -> MemoryRecord | None:
        """One memory of ``tenant`` by id (any status), or None."""
        with self._lock:
            r = self._conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM memories m WHERE m.id = ? AND m.tenant = ?",
                (memory_id, tenant),
            ).fetchone()
        return None if r is None else self._record(r)

    def get_many(
        self, rowids: Sequence[int], *, with_vectors: bool = False
    ) -> dict[int, MemoryRecord]:
        """Records by row id (missing ones absent)."""
        if not rowids:
            return {}
        marks = ",".join("?" for _ in rowids)
        join = "JOIN memory_vectors v ON v.rowid = m.rowid" if with_vectors else ""
        vcol = ", v.vector" if with_vectors else ""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {RECORD_COLUMNS}{vcol} FROM memories m {join} WHERE m.rowid IN ({marks})",
                list(rowids),
            ).fetchall()
        return {r[0]: self._record(r, r[21] if with_vectors else None) for r in rows}

    def list_records(
        self,
        scope: Scope,
        where: Node | None,
        *,
        limit: int,
        offset: int = 0,
        statuses: Sequence[str] = ACTIVE_ONLY,
        include_expired: bool = False,
    ) -> list[MemoryRecord]:
        """Memories in scope matching ``where`` (active and unexpired by default), newest first."""
        s_sql, s_params = scope_sql(scope)
        w_sql, w_params = where_sql(where)
        v_sql, v_params = visibility_sql("m", statuses, include_expired, now_iso(), "?")
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM memories m WHERE {s_sql} AND {v_sql} AND {w_sql} "
                "ORDER BY m.created_at DESC, m.rowid DESC LIMIT ? OFFSET ?",
                [*s_params, *v_params, *w_params, limit, offset],
            ).fetchall()
        return [self._record(r) for r in rows]

    def records_valid_at(self, scope: Scope, where: Node | None, at: str) -> list[MemoryRecord]:
        """Memories in scope true at ``at`` (any of active/superseded), with vectors."""
        s_sql, s_params = scope_sql(scope)
        w_sql, w_params = where_sql(where)
        t_sql, t_params = valid_at_sql("m", at, now_iso(), "?")
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {RECORD_COLUMNS}, v.vector FROM memories m "
                f"JOIN memory_vectors v ON v.rowid = m.rowid WHERE {s_sql} AND {t_sql} "
                f"AND {w_sql} ORDER BY m.rowid",
                [*s_params, *t_params, *w_params],
            ).fetchall()
        return [self._record(r, r[21]) for r in rows]

    def record_access(self, tenant: str, touches: Mapping[str, tuple[int, str]]) -> None:
        """Add access counts and last-access times, one transaction for all of them."""
        if touches:
            with self._write() as c:
                lifecycle.record_access(c, tenant, touches)

    def erase(self, scope: Scope, *, memory_id: str | None, tombstone: Tombstone) -> Tombstone:
        """Erase content for real (see :mod:`engramdb.store.sqlite.lifecycle` for what the
        file then no longer holds), record ``tombstone``, and return it with its counts."""
        if memory_id is None and scope.is_empty:
            raise StoreError("erase needs a memory id or a scope naming a user, agent or run")
        with self._lock:
            self._conn.execute("PRAGMA secure_delete = ON")
            try:
                with self._write() as c:
                    lifecycle.erase(c, scope, memory_id, tombstone, self._graph(c))
                # Frames of earlier writes may still hold the text in the WAL file.
                busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                if busy:
                    tombstone.notes.append(
                        "another connection holds a read snapshot: the WAL file keeps older "
                        "frames until the next checkpoint that completes"
                    )
            finally:
                self._conn.execute("PRAGMA secure_delete = OFF")
        return tombstone

    def tombstones(self, scope: Scope, *, limit: int) -> list[Tombstone]:
        """Records of erasures within ``scope``, newest first."""
        with self._lock:
            return lifecycle.tombstones(self._conn, scope, limit)

    def count(self, scope: Scope, where: Node | None = None) -> int:
        """Active memories in scope matching ``where``."""
        s_sql, s_params = scope_sql(scope)
        w_sql, w_params = where_sql(where)
        with self._lock:
            row = self._conn.execute(
                f"SELECT count(*) FROM memories m WHERE {s_sql} AND {_ACTIVE} AND {w_sql}",
                [*s_params, now_iso(), *w_params],
            ).fetchone()
        return int(row[0])

    def ids_in_scope(self, scope: Scope) -> list[str]:
        """Ids of every memory in scope, any status."""
        s_sql, s_params = scope_sql(scope)
        with self._lock:
            rows = self._conn.execute(f"SELECT m.id FROM memories m WHERE {s_sql}", s_params)
            return [r[0] for r in rows]

    def feedback_for(self, tenant: str, rowids: Sequence[int]) -> list[tuple[int, Feedback]]:
        """Feedback on the memories with these row ids (with query vectors), oldest first."""
        if not rowids:
            return []
        marks = ",".join("?" for _ in rowids)
        with self._lock:
            rows = self._conn.execute(
                "SELECT m.rowid, f.id, f.memory_id, f.tenant, f.signal, f.created_at, f.note, "
                "f.query, f.query_vector FROM memories m JOIN feedback f ON f.memory_id = m.id "
                f"WHERE m.rowid IN ({marks}) AND f.tenant = ? ORDER BY f.created_at, f.id",
                [*rowids, tenant],
            ).fetchall()
        return [
            (
                r[0],
                Feedback(
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    r[6],
                    r[7],
                    query_vector=None if r[8] is None else np.frombuffer(r[8], np.float32),
                ),
            )
            for r in rows
        ]

    def history(self, memory_id: str, tenant: str) -> list[HistoryEntry]:
        """Changes of one memory, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT memory_id, event, old_memory, new_memory, created_at, actor, role, reason "
                "FROM history WHERE memory_id = ? AND tenant = ? ORDER BY id",
                (memory_id, tenant),
            ).fetchall()
        return [HistoryEntry(*r) for r in rows]

    def iter_all(
        self, scope: Scope, *, with_vectors: bool = False, page: int = 500
    ) -> Iterator[MemoryRecord]:
        """Every memory in scope, any status, oldest first; pages by rowid, lock held per page."""
        s_sql, s_params = scope_sql(scope)
        join = "JOIN memory_vectors v ON v.rowid = m.rowid" if with_vectors else ""
        vcol = ", v.vector" if with_vectors else ""
        last = 0
        while True:
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT {RECORD_COLUMNS}{vcol} FROM memories m {join} "
                    f"WHERE {s_sql} AND m.rowid > ? ORDER BY m.rowid LIMIT ?",
                    [*s_params, last, page],
                ).fetchall()
            for r in rows:
                yield self._record(r, r[21] if with_vectors else None)
            if len(rows) < page:
                return
            last = rows[-1][0]

    def episodes(
        self,
        scope: Scope,
        *,
        ids: Sequence[str] | None = None,
        status: str | None = None,
        limit: int = 100,
        newest_first: bool = True,
        since: str | None = None,
        until: str | None = None,
        keywords: Sequence[str] | None = None,
    ) -> list[Episode]:
        """Stored raw messages in scope, optionally by id, status, time or keywords."""
        s_sql, s_params = scope_sql(scope, alias="e")
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
            # Each word quoted: FTS5 syntax in user text is matched literally, ANDed.
            parts.append("e.rowid IN (SELECT rowid FROM episodes_fts WHERE episodes_fts MATCH ?)")
            params.append(" ".join('"' + w.replace('"', '""') + '"' for w in words))
        if ids is not None:
            if not ids:
                return []
            parts.append(f"e.id IN ({','.join('?' for _ in ids)})")
            params.extend(ids)
        if status is not None:
            parts.append("e.status = ?")
            params.append(status)
        order = "DESC" if newest_first else "ASC"
        with self._lock:
            rows = self._conn.execute(
                "SELECT e.id, e.tenant, e.user_id, e.agent_id, e.run_id, e.batch_id, e.role, "
                "e.name, e.content, e.images, e.metadata, e.created_at, e.status, e.error, "
                f"e.facts FROM episodes e WHERE {' AND '.join(parts)} "
                f"ORDER BY e.created_at {order}, e.rowid {order} LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [
            Episode(
                id=r[0],
                scope=Scope(tenant=r[1], user_id=r[2], agent_id=r[3], run_id=r[4]),
                batch_id=r[5],
                role=r[6],
                name=r[7],
                content=r[8],
                images=json.loads(r[9]),
                metadata=json.loads(r[10]),
                created_at=r[11],
                status=r[12],
                error=r[13],
                facts=r[14],
            )
            for r in rows
        ]

    def claim_queued(self, tenant: str, batch_id: str, owner: str) -> list[Episode]:
        """Atomically move one queued batch to ``pending`` for ``owner``; its episodes.

        Two workers (threads or processes) racing for a batch: exactly one gets it, the other
        an empty list, so a batch is never extracted twice.
        """
        with self._write() as c:
            ids = [
                r[0]
                for r in c.execute(
                    "UPDATE episodes SET status = 'pending', claimed_by = ? WHERE tenant = ? "
                    "AND batch_id = ? AND status = 'queued' RETURNING id",
                    (owner, tenant, batch_id),
                ).fetchall()
            ]
        if not ids:
            return []
        found = self.episodes(Scope(tenant=tenant), ids=ids, limit=len(ids), newest_first=False)
        return found

    def requeue_abandoned(self, tenant: str, alive: Callable[[str], bool]) -> int:
        """Put batches claimed by workers that no longer run back in the queue.

        Every ``Memory`` calls this when it opens, so the common case (nothing claimed) is a
        read; the write lock is taken only when a dead owner's batches must be requeued.
        """
        with self._lock:
            owners = [
                r[0]
                for r in self._conn.execute(
                    "SELECT DISTINCT claimed_by FROM episodes WHERE tenant = ? AND "
                    "status = 'pending' AND claimed_by IS NOT NULL",
                    (tenant,),
                )
            ]
        dead = [o for o in owners if not alive(o)]
        if dead:
            with self._write() as c:
                for owner in dead:
                    # The status check inside the write makes a concurrent requeue harmless.
                    c.execute(
                        "UPDATE episodes SET status = 'queued', claimed_by = NULL "
                        "WHERE tenant = ? AND status = 'pending' AND claimed_by = ?",
                        (tenant, owner),
                    )
        return len(dead)

    def existing_ids(self, tenant: str, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are memories of ``tenant`` (any status), in one query."""
        found: set[str] = set()
        with self._lock:
            # SQLite caps bound parameters (32766 by default): ask in slices.
            for start in range(0, len(ids), 10_000):
                part = list(ids[start : start + 10_000])
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT id FROM memories WHERE tenant = ? AND id IN ({marks})",
                    [tenant, *part],
                ).fetchall()
                found.update(r[0] for r in rows)
        return found

    def bulk_load(self) -> AbstractContextManager[None]:
        """Nothing to suspend for a large load: vectors are searched exactly from a cache."""
        return nullcontext()

    # -- maintenance ----------------------------------------------------------------------

    def reset(self, tenant: str | None = None) -> None:
        """Erase memories, vectors and history (of one tenant, or everything)."""
        super().reset(tenant)
        self._caches.clear()

    def stats(self, tenant: str) -> dict[str, Any]:
        """Counts by status and by scope, and the file size."""
        with self._lock:
            c = self._conn
            by_status = dict(
                c.execute(
                    "SELECT status, count(*) FROM memories WHERE tenant = ? GROUP BY status",
                    (tenant,),
                ).fetchall()
            )
            users = c.execute(
                "SELECT count(DISTINCT user_id) FROM memories WHERE tenant = ?", (tenant,)
            ).fetchone()[0]
            agents = c.execute(
                "SELECT count(DISTINCT agent_id) FROM memories WHERE tenant = ?", (tenant,)
            ).fetchone()[0]
            history = c.execute(
                "SELECT count(*) FROM history WHERE tenant = ?", (tenant,)
            ).fetchone()[0]
        size = Path(self.path).stat().st_size if self.path != ":memory:" else 0
        return {
            "memories": sum(by_status.values()),
            "by_status": by_status,
            "users": users,
            "agents": agents,
            "history_rows": history,
            "path": self.path,
            "file_bytes": size,
        }

    def scopes(self, tenant: str) -> list[dict[str, Any]]:
        """Each user, agent and run of ``tenant`` with its active-memory count and last change."""
        out: list[dict[str, Any]] = []
        with self._lock:
            for kind, col in (("user", "user_id"), ("agent", "agent_id"), ("run", "run_id")):
                rows = self._conn.execute(
                    f"SELECT {col}, sum(status = 'active' AND "
                    "(expires_at IS NULL OR expires_at > ?)), max(updated_at) FROM memories "
                    f"WHERE tenant = ? AND {col} IS NOT NULL GROUP BY {col} "
                    f"ORDER BY max(updated_at) DESC, {col}",
                    (now_iso(), tenant),
                ).fetchall()
                out.extend(
                    {"kind": kind, "id": r[0], "memories": int(r[1] or 0), "last_activity": r[2]}
                    for r in rows
                )
        return out

    def close(self) -> None:
        """Close the connection; the store cannot be used afterwards."""
        with self._lock:
            self._caches.clear()
            self._conn.close()
