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

from engramdb.errors import ConflictError, StoreError
from engramdb.filters import Node
from engramdb.models import (
    Episode,
    Feedback,
    HistoryEntry,
    MemoryRecord,
    NewMemory,
    Scope,
    Tombstone,
    WriteBatch,
)
from engramdb.store.base import ACTIVE_ONLY
from engramdb.store.graphsql import GraphSQL
from engramdb.store.postgres import lifecycle, schema, writes
from engramdb.store.postgres.search import (
    ACTIVE,
    EF_SEARCH,
    EXACT_MAX_ROWS,
    Conn,
    PostgresSearch,
    as_array,
)
from engramdb.store.postgres.sqlfilter import scope_sql, where_sql
from engramdb.store.sql_methods import SQLMethods
from engramdb.store.sqltree import (
    RECORD_COLUMNS,
    checked_vector,
    now_iso,
    valid_at_sql,
    visibility_sql,
)

_EPISODE_COLS = (
    "e.id, e.tenant, e.user_id, e.agent_id, e.run_id, e.batch_id, e.role, e.name, e.content, "
    "e.images, e.metadata, e.created_at, e.status, e.error, e.facts"
)


def _redact(dsn: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", re.sub(r"password=\S+", "password=***", dsn))


class PostgresStore(PostgresSearch, SQLMethods):
    """The server store. Safe to share between threads; any number of processes may use it.

    Example::

        store = PostgresStore("postgresql://postgres@127.0.0.1:5432/postgres", dims=384)
    """

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

    def apply(self, batch: WriteBatch) -> None:
        """Apply inserts, changes and deletes in one transaction, with history rows.

        An id that is already taken raises :class:`ConflictError` and nothing is written.
        """
        if not batch:
            return
        try:
            self._apply(batch)
        except psycopg.errors.UniqueViolation as exc:
            raise ConflictError(f"an id in the write is already taken: {exc}") from None

    @staticmethod
    def _graph(c: psycopg.Cursor[tuple[Any, ...]]) -> GraphSQL:
        def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            c.execute(sql.encode(), list(params))
            return c.fetchall() if c.description is not None else []

        return GraphSQL(run, "%s", scope_sql, where_sql, now_iso())

    def _apply(self, batch: WriteBatch) -> None:
        with self._connection() as conn, conn.cursor() as c:
            writes.apply_batch(c, batch, batch.at or now_iso(), self._vector, self._graph(c))

    def copy_insert(self, memories: Sequence[NewMemory]) -> None:
        """Insert new memories with their ADD history rows, in one transaction (no graph).

        For benchmarks with precomputed vectors; the rows go in with COPY, as every insert
        of :meth:`apply` does.
        """
        if memories:
            self.apply(WriteBatch(inserts=list(memories)))

    # -- reads ----------------------------------------------------------------------------

    @staticmethod
    def _record(r: Sequence[Any], with_vector: bool = False) -> MemoryRecord:
        return MemoryRecord(
            id=r[1],
            memory=r[6],
            scope=Scope(user_id=r[3], agent_id=r[4], run_id=r[5], tenant=r[2]),
            hash=r[7],
            metadata=r[8],
            memory_type=r[9],
            role=r[10],
            categories=r[11],
            created_at=r[12],
            updated_at=r[13],
            valid_at=r[14],
            invalid_at=r[15],
            status=r[16],
            expires_at=r[17],
            importance=float(r[18]),
            access_count=int(r[19]),
            last_accessed_at=r[20],
            vector=as_array(r[21]) if with_vector else None,
        )

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(sql.encode(), params).fetchall()

    def get(self, memory_id: str, tenant: str) -> MemoryRecord | None:
        """One memory of ``tenant`` by id (any status), or None."""
        rows = self._fetch(
            f"SELECT {RECORD_COLUMNS} FROM memories m WHERE m.id = %s AND m.tenant = %s",
            (memory_id, tenant),
        )
        return self._record(rows[0]) if rows else None

    def get_many(
        self, rowids: Sequence[int], *, with_vectors: bool = False
    ) -> dict[int, MemoryRecord]:
        """Records by row id (missing ones absent)."""
        if not rowids:
            return {}
        vcol = ", m.embedding" if with_vectors else ""
        rows = self._fetch(
            f"SELECT {RECORD_COLUMNS}{vcol} FROM memories m WHERE m.rowid = ANY(%s)",
            (list(rowids),),
        )
        return {r[0]: self._record(r, with_vectors) for r in rows}

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
        v_sql, v_params = visibility_sql("m", statuses, include_expired, now_iso(), "%s")
        rows = self._fetch(
            f"SELECT {RECORD_COLUMNS} FROM memories m WHERE {s_sql} AND {v_sql} AND {w_sql} "
            "ORDER BY m.created_at DESC, m.rowid DESC LIMIT %s OFFSET %s",
            [*s_params, *v_params, *w_params, limit, offset],
        )
        return [self._record(r) for r in rows]

    def records_valid_at(self, scope: Scope, where: Node | None, at: str) -> list[MemoryRecord]:
        """Memories in scope true at ``at`` (any of active/superseded), with vectors."""
        s_sql, s_params = scope_sql(scope)
        w_sql, w_params = where_sql(where)
        t_sql, t_params = valid_at_sql("m", at, now_iso(), "%s")
        rows = self._fetch(
            f"SELECT {RECORD_COLUMNS}, m.embedding FROM memories m WHERE {s_sql} AND {t_sql} "
            f"AND {w_sql} ORDER BY m.rowid",
            [*s_params, *t_params, *w_params],
        )
        return [self._record(r, True) for r in rows]

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
            return lifecycle.erase(conn, scope, memory_id, tombstone, self._graph(cur))

    def tombstones(self, scope: Scope, *, limit: int) -> list[Tombstone]:
        """Records of erasures within ``scope``, newest first."""
        with self._connection() as conn:
            return lifecycle.tombstones(conn, scope, limit)

    def count(self, scope: Scope, where: Node | None = None) -> int:
        """Active memories in scope matching ``where``."""
        s_sql, s_params = scope_sql(scope)
        w_sql, w_params = where_sql(where)
        rows = self._fetch(
            f"SELECT count(*) FROM memories m WHERE {s_sql} AND {ACTIVE} AND {w_sql}",
            [*s_params, now_iso(), *w_params],
        )
        return int(rows[0][0])

    def ids_in_scope(self, scope: Scope) -> list[str]:
        """Ids of every memory in scope, any status."""
        s_sql, s_params = scope_sql(scope)
        return [r[0] for r in self._fetch(f"SELECT m.id FROM memories m WHERE {s_sql}", s_params)]

    def feedback_for(self, tenant: str, rowids: Sequence[int]) -> list[tuple[int, Feedback]]:
        """Feedback on the memories with these row ids (with query vectors), oldest first."""
        if not rowids:
            return []
        rows = self._fetch(
            "SELECT m.rowid, f.id, f.memory_id, f.tenant, f.signal, f.created_at, f.note, "
            "f.query, f.query_vector FROM memories m JOIN feedback f ON f.memory_id = m.id "
            "WHERE m.rowid = ANY(%s) AND f.tenant = %s ORDER BY f.created_at, f.id",
            (list(rowids), tenant),
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
                    query_vector=None if r[8] is None else as_array(r[8]),
                ),
            )
            for r in rows
        ]

    def history(self, memory_id: str, tenant: str) -> list[HistoryEntry]:
        """Changes of one memory, oldest first."""
        rows = self._fetch(
            "SELECT memory_id, event, old_memory, new_memory, created_at, actor, role, reason "
            "FROM history WHERE memory_id = %s AND tenant = %s ORDER BY id",
            (memory_id, tenant),
        )
        return [HistoryEntry(*r) for r in rows]

    def iter_all(
        self, scope: Scope, *, with_vectors: bool = False, page: int = 500
    ) -> Iterator[MemoryRecord]:
        """Every memory in scope, any status, oldest first; pages by rowid."""
        s_sql, s_params = scope_sql(scope)
        vcol = ", m.embedding" if with_vectors else ""
        last = 0
        while True:
            rows = self._fetch(
                f"SELECT {RECORD_COLUMNS}{vcol} FROM memories m "
                f"WHERE {s_sql} AND m.rowid > %s ORDER BY m.rowid LIMIT %s",
                [*s_params, last, page],
            )
            for r in rows:
                yield self._record(r, with_vectors)
            if len(rows) < page:
                return
            last = rows[-1][0]

    @staticmethod
    def _episode(r: Sequence[Any]) -> Episode:
        return Episode(
            id=r[0],
            scope=Scope(tenant=r[1], user_id=r[2], agent_id=r[3], run_id=r[4]),
            batch_id=r[5],
            role=r[6],
            name=r[7],
            content=r[8],
            images=r[9],
            metadata=r[10],
            created_at=r[11],
            status=r[12],
            error=r[13],
            facts=r[14],
        )

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
            parts.append("e.created_at >= %s")
            params.append(since)
        if until is not None:
            parts.append("e.created_at < %s")
            params.append(until)
        if keywords is not None:
            words = [w for w in keywords if w.strip()]
            if not words:
                return []
            # plainto_tsquery quotes each word; a word Postgres drops as a stop word (its
            # query is empty) is skipped, as SQLite's tokenizer would keep and match it.
            for w in words:
                parts.append(
                    "(numnode(plainto_tsquery('english', %s)) = 0 "
                    "OR e.tsv @@ plainto_tsquery('english', %s))"
                )
                params.extend([w, w])
        if ids is not None:
            if not ids:
                return []
            parts.append("e.id = ANY(%s)")
            params.append(list(ids))
        if status is not None:
            parts.append("e.status = %s")
            params.append(status)
        order = "DESC" if newest_first else "ASC"
        rows = self._fetch(
            f"SELECT {_EPISODE_COLS} FROM episodes e WHERE {' AND '.join(parts)} "
            f"ORDER BY e.created_at {order}, e.rowid {order} LIMIT %s",
            [*params, limit],
        )
        return [self._episode(r) for r in rows]

    def claim_queued(self, tenant: str, batch_id: str, owner: str) -> list[Episode]:
        """Atomically move one queued batch to ``pending`` for ``owner``; its episodes.

        A batch is claimed whole: a transaction-scoped advisory lock on (tenant, batch) is
        tried without waiting (the batch-level SKIP LOCKED), then the batch's queued rows move
        to ``pending``. Of two workers racing for a batch exactly one gets all of it and the
        other an empty list (row-level SKIP LOCKED alone could split a batch between them).
        """
        e_cols = _EPISODE_COLS.replace("e.", "u.")
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
        return [self._episode(r) for r in rows]

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

    # -- sessions (see SQLMethods) -------------------------------------------------------

    @contextmanager
    def _graph_conn(self) -> Iterator[GraphSQL]:
        # One pooled connection (and transaction) for the whole call.
        with self._connection() as conn, conn.cursor() as c:
            yield self._graph(c)

    def _reading(self) -> AbstractContextManager[GraphSQL]:
        return self._graph_conn()

    def _writing(self) -> AbstractContextManager[GraphSQL]:
        return self._graph_conn()

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
