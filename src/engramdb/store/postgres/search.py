"""Postgres search: BM25 keyword search over the tsvector index and pgvector search, each
choosing its plan per query.

Vector search: filtered HNSW on its own returns too few rows for a small scope, so small
scopes get an exact scan of the rows the scope's btree selects, and large ones HNSW with
iterative scanning, checked for a full result and redone exactly when it comes back short.
Mixed into :class:`~engramdb.store.postgres.store.PostgresStore`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import psycopg

from engramdb.filters import Node
from engramdb.models import Scope
from engramdb.store.postgres.sqlfilter import scope_sql, where_sql
from engramdb.store.sqltree import now_iso, rarest_within

Conn = psycopg.Connection[tuple[Any, ...]]

#: An active, unexpired memory (alias ``m``; the parameter is the current time).
ACTIVE = "m.status = 'active' AND (m.expires_at IS NULL OR m.expires_at > %s)"
#: A scope (after filters) with at most this many rows is searched exactly; above it, HNSW.
#: Measured at 100k x 384-d (bench/postgres.py): an exact scan costs ~5 us a row (heap
#: fetches through the scope btree), ~30 ms at 5k rows, where HNSW with iterative scans costs
#: about the same at recall 0.996; below it exact is faster and always right.
EXACT_MAX_ROWS = 5_000
#: HNSW candidate list size for scoped searches (raised to 2k when k is larger).
EF_SEARCH = 200
#: Most matching rows one keyword search over a large scope scores (see keyword_search).
TERM_BUDGET = 4000
# BM25 parameters, as in the SQLite store.
_K1, _B = 1.2, 0.75


def as_array(value: Any) -> npt.NDArray[np.float32]:
    """A stored vector as float32."""
    # pgvector hands back a Vector (or an ndarray, depending on its version).
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float32)


class PostgresSearch:
    """Keyword, vector and similarity reads of the Postgres store."""

    # Set by PostgresStore.__init__.
    exact_max_rows: int
    ef_search: int

    if TYPE_CHECKING:
        # PostgresStore's own: a pooled connection, and one query on it.

        def _connection(self) -> AbstractContextManager[Conn]: ...

        def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    # -- search ---------------------------------------------------------------------------

    def keyword_search(
        self, scope: Scope, where: Node | None, terms: Sequence[str], k: int
    ) -> list[tuple[int, float]]:
        """BM25 over the scope's memories for any of ``terms`` (OR, english stemming).

        Each term becomes its own ``plainto_tsquery`` (which quotes it safely); statistics
        (document count, document frequency, mean length in characters) are the scope's own,
        as in the SQLite store, so scores mean the same on both backends. A scope of at most
        :attr:`exact_max_rows` rows is read once and matched in memory; a larger one goes
        through the GIN index, keeping terms rarest first within :data:`TERM_BUDGET` postings
        (a term in tens of thousands of rows costs much and, with its low IDF, adds little).
        """
        terms = list(dict.fromkeys(t for t in terms if t and t.strip()))
        if not terms or k <= 0:
            return []
        s_sql, s_params = scope_sql(scope)
        w_sql, w_params = where_sql(where)
        now = now_iso()
        with self._connection() as conn:
            got = conn.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM memories m WHERE {s_sql} AND {ACTIVE} "
                "LIMIT %s) s".encode(),
                [*s_params, now, self.exact_max_rows + 1],
            ).fetchone()
            small = got is not None and int(got[0]) <= self.exact_max_rows
            if not small:
                terms = self._affordable_terms(conn, terms, s_sql, s_params, now)
                if not terms:
                    return []
            values = ", ".join("(%s::int, plainto_tsquery('english', %s))" for _ in terms)
            term_params: list[Any] = []
            for i, t in enumerate(terms):
                term_params.extend([i, t])
            if small:
                # Read the scope once (its btree): statistics and matches both come from it.
                body = (
                    "live AS MATERIALIZED (SELECT m.rowid, m.tsv, char_length(m.memory) AS len, "
                    f"({w_sql}) AS ok FROM memories m WHERE {s_sql} AND {ACTIVE}), "
                    "n AS (SELECT count(*) AS n, greatest(coalesce(avg(len) FILTER (WHERE ok), 1), "
                    "1) AS avglen FROM live), "
                    "hits AS (SELECT t.i, l.rowid, l.len FROM terms t JOIN live l "
                    "ON l.ok AND l.tsv @@ t.q WHERE numnode(t.q) > 0)"
                )
                params = [*term_params, *w_params, *s_params, now]
            else:
                body = (
                    "n AS (SELECT count(*) AS n, greatest(coalesce(avg(char_length(m.memory)) "
                    f"FILTER (WHERE {w_sql}), 1), 1) AS avglen FROM memories m "
                    f"WHERE {s_sql} AND {ACTIVE}), "
                    "hits AS (SELECT t.i, m.rowid, char_length(m.memory) AS len FROM terms t "
                    "JOIN memories m ON m.tsv @@ t.q WHERE numnode(t.q) > 0 AND "
                    f"{s_sql} AND {ACTIVE} AND {w_sql})"
                )
                params = [*term_params, *w_params, *s_params, now, *s_params, now, *w_params]
            sql = (
                f"WITH terms (i, q) AS (VALUES {values}), {body}, "
                "df AS (SELECT i, count(*) AS df FROM hits GROUP BY i) "
                "SELECT h.rowid, sum(ln(1 + (n.n - df.df + 0.5) / (df.df + 0.5)) * %s "
                "/ (1 + %s * (1 - %s + %s * h.len / n.avglen))) AS score "
                "FROM hits h JOIN df USING (i) CROSS JOIN n "
                "GROUP BY h.rowid ORDER BY score DESC, h.rowid LIMIT %s"
            )
            params += [_K1 + 1, _K1, _B, _B, k]
            rows = conn.execute(sql.encode(), params).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def _affordable_terms(
        self, conn: Conn, terms: list[str], s_sql: str, s_params: list[Any], now: str
    ) -> list[str]:
        counted: list[tuple[int, str]] = []
        for term in terms:
            got = conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM memories m WHERE "
                f"m.tsv @@ plainto_tsquery('english', %s) AND {s_sql} AND {ACTIVE} "
                "LIMIT %s) s".encode(),
                [term, *s_params, now, TERM_BUDGET + 1],
            ).fetchone()
            df = int(got[0]) if got else 0
            if df:
                counted.append((df, term))
        return rarest_within(counted, TERM_BUDGET)

    def vector_search(
        self, scope: Scope, where: Node | None, query: npt.NDArray[np.float32], k: int
    ) -> list[tuple[int, float]]:
        """(rowid, cosine) of the ``k`` nearest active memories in scope, best first.

        The plan is chosen here, not left to the planner (which picks HNSW even for a scope of
        a few rows and then returns almost none of them): the scope's matching rows are
        counted up to :attr:`exact_max_rows`; at or below it they are scanned exactly through
        the scope's btree (recall 1.0); above it HNSW runs with ``hnsw.iterative_scan`` and a
        large ``ef_search``, and a short answer is redone exactly.
        """
        if k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32)
        s_sql, s_params = scope_sql(scope)
        w_sql, w_params = where_sql(where)
        base = f"{s_sql} AND {ACTIVE} AND {w_sql}"
        params = [*s_params, now_iso(), *w_params]
        with self._connection() as conn:
            got = conn.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM memories m WHERE {base} LIMIT %s) s".encode(),
                [*params, self.exact_max_rows + 1],
            ).fetchone()
            n = int(got[0]) if got else 0
            if n == 0:
                return []
            if n > self.exact_max_rows:
                rows = self._hnsw(conn, base, params, q, k)
                if len(rows) >= k:
                    return rows
            return self._exact(conn, base, params, q, k)

    @staticmethod
    def _exact(
        conn: Conn, base: str, params: list[Any], q: npt.NDArray[np.float32], k: int
    ) -> list[tuple[int, float]]:
        # The materialised CTE keeps the planner off the HNSW index: the scope's rows come
        # from the btree and are sorted by exact distance.
        rows = conn.execute(
            "WITH s AS MATERIALIZED (SELECT m.rowid, m.embedding <=> %s AS d FROM memories m "
            f"WHERE {base}) SELECT rowid, 1 - d FROM s ORDER BY d, rowid LIMIT %s".encode(),
            [q, *params, k],
        ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows if not math.isnan(r[1])]

    def _hnsw(
        self, conn: Conn, base: str, params: list[Any], q: npt.NDArray[np.float32], k: int
    ) -> list[tuple[int, float]]:
        ef = min(max(self.ef_search, 2 * k), 1000)
        # SET LOCAL lasts until the pool's context commits this read transaction.
        conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef)}".encode())
        conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        conn.execute("SET LOCAL hnsw.max_scan_tuples = 50000")
        rows = conn.execute(
            f"SELECT m.rowid, 1 - (m.embedding <=> %s) FROM memories m WHERE {base} "
            "ORDER BY m.embedding <=> %s LIMIT %s".encode(),
            [q, *params, q, k],
        ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows if not math.isnan(r[1])]

    def similarities(
        self, scope: Scope, rowids: Sequence[int], query: npt.NDArray[np.float32]
    ) -> list[float]:
        """Cosine of ``query`` with each row's vector (0.0 for rows not in the tenant)."""
        if not rowids:
            return []
        rows = self._fetch(
            "SELECT rowid, embedding FROM memories WHERE rowid = ANY(%s) AND tenant = %s",
            (list(rowids), scope.tenant),
        )
        vecs = {int(r[0]): as_array(r[1]) for r in rows}
        q = np.asarray(query, dtype=np.float32)
        return [float(vecs[r] @ q) if r in vecs else 0.0 for r in rowids]
