"""PostgresStore: memories with pgvector embeddings, tsvector keyword index, history, episodes.

A plain DSN client: any PostgreSQL with the ``vector`` extension serves. Connections come from
a pool; each ``apply`` is one transaction. Every read names the scope in its WHERE clause.

Search (keyword, vector, similarities) is in :mod:`engramdb.store.postgres.search`; the
methods every SQL store runs alike come from :mod:`engramdb.store.sql_methods`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool

from engramdb.errors import StoreError
from engramdb.models import Episode, NewMemory, Scope, Tombstone, WriteBatch
from engramdb.store.graph_methods import GraphMethods
from engramdb.store.graphsql import GraphSQL
from engramdb.store.postgres import lifecycle, schema, writes
from engramdb.store.postgres.search import (
    EF_SEARCH,
    EXACT_MAX_ROWS,
    Conn,
    PostgresSearch,
)
from engramdb.store.postgres.session import PostgresSQL, session
from engramdb.store.record_sql import EPISODE_SELECT, episode_from_row
from engramdb.store.sql_methods import SQLMethods
from engramdb.store.sqltree import checked_vector, now_iso


def _redact(dsn: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", re.sub(r"password=\S+", "password=***", dsn))


class PostgresStore(PostgresSearch, SQLMethods, GraphMethods):
    """The server store. Safe to share between threads; any number of processes may use it.

    Example::

        store = PostgresStore("postgresql://postgres@127.0.0.1:5432/postgres", dims=384)
    """

    # What the driver raises when a write's id is already taken.
    _taken_error = psycopg.errors.UniqueViolation

    def __init__(
        self,
        dsn: str,
        *,
        dims: int,
        min_size: int = 1,
        max_size: int = 8,
        exact_max_rows: int = EXACT_MAX_ROWS,
        ef_search: int = EF_SEARCH,
    ) -> None:
        self.dsn = dsn
        self.dims = dims
        self.exact_max_rows = exact_max_rows
        self.ef_search = ef_search
        #: maintenance_work_mem for rebuilding the HNSW index after a bulk load.
        self.build_memory = "1GB"
        where = _redact(dsn)
        try:
            with psycopg.connect(dsn) as conn:
                self.schema_version = schema.migrate(conn, where, dims)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open store {where}: {exc}") from exc
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            configure=register_vector,
            open=True,
            name="engramdb",
        )

    def _connection(self) -> AbstractContextManager[Conn]:
        # The pool's context manager commits on success and rolls back on an exception.
        return self._pool.connection()

    # -- writes ---------------------------------------------------------------------------

    def _vector(self, memory_id: str, vector: Any) -> npt.NDArray[np.float32]:
        return checked_vector(memory_id, vector, self.dims)

    def _apply(self, batch: WriteBatch) -> list[str]:
        with self._connection() as conn, conn.cursor() as c:
            return writes.apply_batch(c, batch, batch.at or now_iso(), self._vector, session(c))

    def copy_insert(self, memories: Sequence[NewMemory]) -> None:
        """Insert new memories with their ADD history rows, in one transaction (no graph).

        For benchmarks with precomputed vectors; the rows go in with COPY, as every insert
        of :meth:`apply` does.
        """
        if memories:
            self.apply(WriteBatch(inserts=list(memories)))

    # -- reads ----------------------------------------------------------------------------

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(sql.encode(), params).fetchall()

    def record_access(self, tenant: str, touches: Mapping[str, tuple[int, str]]) -> None:
        """Add access counts and last-access times, one transaction for all of them."""
        if touches:
            with self._connection() as conn:
                lifecycle.record_access(conn, tenant, touches)

    def erase(self, scope: Scope, *, memory_id: str | None, tombstone: Tombstone) -> Tombstone:
        """Erase content for real in one transaction (see
        :mod:`engramdb.store.postgres.lifecycle` for what is guaranteed), record
        ``tombstone`` and return it with its counts."""
        if memory_id is None and scope.is_empty:
            raise StoreError("erase needs a memory id or a scope naming a user, agent or run")
        with self._connection() as conn, conn.cursor() as cur:
            return lifecycle.erase(conn, scope, memory_id, tombstone, session(cur))

    def tombstones(self, scope: Scope, *, limit: int) -> list[Tombstone]:
        """Records of erasures within ``scope``, newest first."""
        with self._connection() as conn:
            return lifecycle.tombstones(conn, scope, limit)

    def claim_queued(self, tenant: str, batch_id: str, owner: str) -> list[Episode]:
        """Atomically move one queued batch to ``pending`` for ``owner``; its episodes.

        A batch is claimed whole: a transaction-scoped advisory lock on (tenant, batch) is
        tried without waiting (the batch-level SKIP LOCKED), then the batch's queued rows move
        to ``pending``. Of two workers racing for a batch exactly one gets all of it and the
        other an empty list (row-level SKIP LOCKED alone could split a batch between them).
        """
        e_cols = EPISODE_SELECT.replace("e.", "u.")
        key = f"{len(tenant)}:{tenant}{batch_id}"
        with self._connection() as conn:
            got = conn.execute(
                "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (key,)
            ).fetchone()
            if not got or not got[0]:
                return []
            rows = conn.execute(
                "UPDATE episodes u SET status = 'pending', claimed_by = %s WHERE u.tenant = %s "
                f"AND u.batch_id = %s AND u.status = 'queued' RETURNING {e_cols}, u.rowid".encode(),
                (owner, tenant, batch_id),
            ).fetchall()
        rows.sort(key=lambda r: (r[11], r[-1]))
        return [episode_from_row(r, PostgresSQL.json_value) for r in rows]

    def requeue_abandoned(self, tenant: str, alive: Callable[[str], bool]) -> int:
        """Put batches claimed by workers that no longer run back in the queue."""
        with self._connection() as conn:
            owners = [
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT claimed_by FROM episodes WHERE tenant = %s AND "
                    "status = 'pending' AND claimed_by IS NOT NULL",
                    (tenant,),
                )
            ]
            dead = [o for o in owners if not alive(o)]
            if dead:
                conn.execute(
                    "UPDATE episodes SET status = 'queued', claimed_by = NULL WHERE tenant = %s "
                    "AND status = 'pending' AND claimed_by = ANY(%s)",
                    (tenant, dead),
                )
        return len(dead)

    def existing_ids(self, tenant: str, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are memories of ``tenant`` (any status), in one query."""
        if not ids:
            return set()
        rows = self._fetch(
            "SELECT id FROM memories WHERE tenant = %s AND id = ANY(%s)", (tenant, list(ids))
        )
        return {r[0] for r in rows}

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Drop the HNSW index for a large load and rebuild it once afterwards.

        Inserting into an HNSW index costs ~1.5 ms a row on two cores; building it once over
        the loaded rows is several times cheaper. Meanwhile writes go on and searches stay
        right (large scopes are scanned exactly, so they are slower). The index is rebuilt
        ``CONCURRENTLY`` even when the load fails; a process killed in between leaves the
        rebuild to the next open of the store.
        """
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("DROP INDEX IF EXISTS memories_embedding")
        try:
            yield
        finally:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute(f"SET maintenance_work_mem = '{self.build_memory}'".encode())
                conn.execute(schema.ANN_INDEX.format(concurrently="CONCURRENTLY").encode())

    # -- sessions (see SQLSessions) ------------------------------------------------------

    @contextmanager
    def _pooled_session(self) -> Iterator[GraphSQL]:
        # One pooled connection (and transaction) for the whole call.
        with self._connection() as conn, conn.cursor() as c:
            yield session(c)

    def _reading(self) -> AbstractContextManager[GraphSQL]:
        return self._pooled_session()

    def _writing(self) -> AbstractContextManager[GraphSQL]:
        return self._pooled_session()

    # -- maintenance ----------------------------------------------------------------------

    def stats(self, tenant: str) -> dict[str, Any]:
        """Counts by status and by scope, and the size of the tables."""
        with self._connection() as conn:
            by_status = {
                str(r[0]): int(r[1])
                for r in conn.execute(
                    "SELECT status, count(*) FROM memories WHERE tenant = %s GROUP BY status",
                    (tenant,),
                )
            }
            row = conn.execute(
                "SELECT count(DISTINCT user_id), count(DISTINCT agent_id), "
                "(SELECT count(*) FROM history WHERE tenant = %s), "
                "pg_total_relation_size('memories') + pg_total_relation_size('history') "
                "+ pg_total_relation_size('episodes') FROM memories WHERE tenant = %s",
                (tenant, tenant),
            ).fetchone()
        assert row is not None
        return {
            "memories": sum(by_status.values()),
            "by_status": by_status,
            "users": int(row[0]),
            "agents": int(row[1]),
            "history_rows": int(row[2]),
            "path": _redact(self.dsn),
            "file_bytes": int(row[3]),
        }

    def scopes(self, tenant: str) -> list[dict[str, Any]]:
        """Each user, agent and run of ``tenant`` with its active-memory count and last change."""
        out: list[dict[str, Any]] = []
        with self._connection() as conn:
            for kind, col in (("user", "user_id"), ("agent", "agent_id"), ("run", "run_id")):
                rows = conn.execute(
                    f"SELECT {col}, count(*) FILTER (WHERE status = 'active' AND "
                    "(expires_at IS NULL OR expires_at > %s)), max(updated_at) FROM memories "
                    f"WHERE tenant = %s AND {col} IS NOT NULL GROUP BY {col} "
                    f'ORDER BY max(updated_at) DESC, {col} COLLATE "C"'.encode(),
                    (now_iso(), tenant),
                ).fetchall()
                out.extend(
                    {"kind": kind, "id": r[0], "memories": int(r[1] or 0), "last_activity": r[2]}
                    for r in rows
                )
        return out

    def close(self) -> None:
        """Close the pool; the store cannot be used afterwards."""
        self._pool.close()
