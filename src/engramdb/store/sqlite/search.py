"""SQLite search: BM25 keyword search over FTS5 postings and exact vector search, both
scored from per-scope in-memory caches that follow the changelog table.

Mixed into :class:`~engramdb.store.sqlite.store.SQLiteStore`; every method here runs under
the store's lock on its one connection.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from engramdb.filters import Node
from engramdb.models import Scope
from engramdb.store.sqlite.sqlfilter import scope_sql, where_sql
from engramdb.store.sqlite.vectors import Row, ScopeMatrix, matches
from engramdb.store.sqltree import rarest_within
from engramdb.timeutil import to_datetime

_MAX_CACHES = 64
# Most matching rows bm25() may score in one keyword search (see _affordable_terms).
_TERM_BUDGET = 4000


class SQLiteSearch:
    """Keyword and vector search with the per-scope caches they read."""

    # Set by SQLiteStore.__init__.
    dims: int
    _conn: sqlite3.Connection
    _lock: threading.RLock
    _caches: dict[Scope, ScopeMatrix]

    # -- search ---------------------------------------------------------------------------

    def keyword_search(
        self, scope: Scope, where: Node | None, terms: Sequence[str], k: int
    ) -> list[tuple[int, float]]:
        """BM25 over the scope's memories for any of ``terms`` (FTS5 finds the postings,
        with Porter stemming; scoring uses the scope's own statistics, see ScopeMatrix.bm25)."""
        if not terms or k <= 0:
            return []
        with self._lock:
            kept = self._affordable_terms(terms)
            if not kept:
                return []
            postings = [self._postings(term) for term in kept]
            cache = self._cache(scope)
            allowed = self._allowed(scope, where)
            return cache.bm25(postings, k, time.time(), allowed)

    def _postings(self, term: str) -> npt.NDArray[np.int64]:
        # One text value parsed in C: a row per posting through Python costs ~4x as much,
        # and a term may have thousands of postings.
        joined = self._conn.execute(
            "SELECT group_concat(rowid) FROM memories_fts WHERE memories_fts MATCH ?", (term,)
        ).fetchone()[0]
        if not joined:
            return np.zeros(0, np.int64)
        return np.fromstring(joined, dtype=np.int64, sep=",")

    def _affordable_terms(self, terms: Sequence[str]) -> list[str]:
        # bm25() costs ~1 us per matching row, so a term found in tens of thousands of rows
        # would dominate search time while adding little (its IDF is low). Terms are taken
        # rarest first until their postings would exceed the budget; counting is capped, so
        # this check costs at most _TERM_BUDGET row visits per term. (Reading the postings
        # in the same capped query was measured too: faster at 20k rows, slower at 100k,
        # where more terms pass the cap and their postings would be read for nothing.)
        counted: list[tuple[int, str]] = []
        for term in terms:
            quoted = '"' + term.replace('"', '""') + '"'
            df = self._conn.execute(
                "SELECT count(*) FROM (SELECT rowid FROM memories_fts WHERE memories_fts MATCH ? "
                "LIMIT ?)",
                (quoted, _TERM_BUDGET + 1),
            ).fetchone()[0]
            if df:
                counted.append((df, quoted))
        return rarest_within(counted, _TERM_BUDGET)

    def vector_search(
        self, scope: Scope, where: Node | None, query: npt.NDArray[np.float32], k: int
    ) -> list[tuple[int, float]]:
        """Exact cosine top-k over the scope's cached matrix; filters become a rowid mask."""
        with self._lock:
            cache = self._cache(scope)
            allowed = self._allowed(scope, where)
            return cache.search(np.asarray(query, np.float32), k, time.time(), allowed)

    def _allowed(self, scope: Scope, where: Node | None) -> npt.NDArray[np.int64] | None:
        # Filters run in SQL; the caches then only consider the row ids that passed.
        if where is None:
            return None
        s_sql, s_params = scope_sql(scope)
        w_sql, w_params = where_sql(where)
        ids = self._conn.execute(
            f"SELECT m.rowid FROM memories m WHERE {s_sql} AND {w_sql}", [*s_params, *w_params]
        ).fetchall()
        return np.fromiter((r[0] for r in ids), dtype=np.int64, count=len(ids))

    def similarities(
        self, scope: Scope, rowids: Sequence[int], query: npt.NDArray[np.float32]
    ) -> list[float]:
        """Cosine of ``query`` with each row's vector, from the scope's cache when it has it."""
        if not rowids:
            return []
        with self._lock:
            cache = self._caches.get(scope)
            cached = {} if cache is None else {r: cache.vector_of(r) for r in rowids}
            missing = [r for r in rowids if cached.get(r) is None]
            blobs: dict[int, bytes] = {}
            if missing:
                marks = ",".join("?" for _ in missing)
                blobs = dict(
                    self._conn.execute(
                        f"SELECT rowid, vector FROM memory_vectors WHERE rowid IN ({marks})",
                        missing,
                    ).fetchall()
                )
        out = []
        for r in rowids:
            vec = cached.get(r)
            if vec is None and r in blobs:
                vec = np.frombuffer(blobs[r], np.float32)
            out.append(0.0 if vec is None else float(vec @ query))
        return out

    # -- vector caches --------------------------------------------------------------------

    def _last_seq(self) -> int:
        return int(self._conn.execute("SELECT max(seq) FROM changelog").fetchone()[0] or 0)

    def _rows(self, where_sql_: str, params: Sequence[Any]) -> list[Row]:
        rows = self._conn.execute(
            "SELECT m.rowid, m.tenant, m.user_id, m.agent_id, m.run_id, m.status, m.expires_at, "
            "v.vector, length(m.memory) FROM memories m JOIN memory_vectors v ON v.rowid = m.rowid "
            f"WHERE {where_sql_}",
            list(params),
        ).fetchall()
        return [
            Row(
                rowid=r[0],
                tenant=r[1],
                user_id=r[2],
                agent_id=r[3],
                run_id=r[4],
                active=r[5] == "active",
                expires=math.inf if r[6] is None else to_datetime(r[6]).timestamp(),
                vector=np.frombuffer(r[7], np.float32),
                length=r[8],
            )
            for r in rows
        ]

    def _cache(self, scope: Scope) -> ScopeMatrix:
        # Runs under self._lock. A read transaction pins one snapshot for seq + rows.
        self._conn.execute("BEGIN")
        try:
            last = self._last_seq()
            self._catch_up(last)
            cache = self._caches.get(scope)
            if cache is not None and cache.dead > max(1000, cache.n // 2):
                del self._caches[scope]
                cache = None
            if cache is None:
                cache = ScopeMatrix(dims=self.dims, seq=last)
                s_sql, s_params = scope_sql(scope)
                cache.load(self._rows(f"{s_sql} AND m.status = 'active'", s_params))
                if len(self._caches) >= _MAX_CACHES:
                    self._caches.pop(next(iter(self._caches)))
                self._caches[scope] = cache
        finally:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")
        return cache

    def _catch_up(self, last: int) -> None:
        """Bring every cache to ``last``, each from its own position in the changelog.

        Caches differ in age (one built just now, another last used long ago), so each takes
        only the changes after its own ``seq``; one that fell behind the pruned log, or whose
        changes outnumber half its rows, is dropped and rebuilt on its next use.
        """
        behind = {scope: c for scope, c in self._caches.items() if c.seq < last}
        if not behind:
            return
        since = min(c.seq for c in behind.values())
        oldest = self._conn.execute("SELECT min(seq) FROM changelog").fetchone()[0]
        changed: dict[int, int] = dict(
            self._conn.execute(
                "SELECT mem_rowid, max(seq) FROM changelog WHERE seq > ? GROUP BY mem_rowid",
                (since,),
            ).fetchall()
        )
        keep: dict[Scope, list[int]] = {}
        for scope, cache in behind.items():
            mine = [rowid for rowid, seq in changed.items() if seq > cache.seq]
            if (oldest is not None and oldest > cache.seq + 1) or len(mine) > max(
                5000, cache.live // 2
            ):
                del self._caches[scope]
            else:
                keep[scope] = mine
        needed = sorted({rowid for mine in keep.values() for rowid in mine})
        current: dict[int, Row] = {}
        for start in range(0, len(needed), 900):
            chunk = needed[start : start + 900]
            marks = ",".join("?" for _ in chunk)
            current.update((r.rowid, r) for r in self._rows(f"m.rowid IN ({marks})", chunk))
        for scope, mine in keep.items():
            cache = behind[scope]
            add = []
            for rowid in mine:
                cache.remove(rowid)
                row = current.get(rowid)
                if row is not None and matches(scope, row):
                    add.append(row)
            cache.load(add)
            cache.seq = last
