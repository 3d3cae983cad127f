"""SQLiteStore: memories, vectors, FTS5 keyword index and history in one SQLite file.

The write transaction is in :mod:`engramdb.store.sqlite.writes`, search and its vector
caches in :mod:`engramdb.store.sqlite.search`; the methods every SQL store runs alike come
from :mod:`engramdb.store.sql_methods`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from engramdb.errors import StoreError
from engramdb.models import Episode, Scope, Tombstone, WriteBatch
from engramdb.store.graph_methods import GraphMethods
from engramdb.store.graphsql import GraphSQL
from engramdb.store.sql_methods import SQLMethods
from engramdb.store.sqlite import lifecycle, schema, writes
from engramdb.store.sqlite.search import SQLiteSearch
from engramdb.store.sqlite.session import session
from engramdb.store.sqlite.vectors import ScopeMatrix
from engramdb.store.sqltree import now_iso


class SQLiteStore(SQLiteSearch, SQLMethods, GraphMethods):
    """The embedded store. Safe to share between threads; several processes may open one file.

    Example::

        store = SQLiteStore("/tmp/mem.db", dims=384)
    """

    # What the driver raises when a write's id is already taken.
    _taken_error = sqlite3.IntegrityError

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
            yield session(self._conn)

    @contextmanager
    def _writing(self) -> Iterator[GraphSQL]:
        with self._write() as c:
            yield session(c)

    def _apply(self, batch: WriteBatch) -> list[str]:
        with self._write() as c:
            return writes.apply_batch(c, batch, batch.at or now_iso(), self.dims, session(c))

    # -- reads ----------------------------------------------------------------------------

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
                    lifecycle.erase(c, scope, memory_id, tombstone, session(c))
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
