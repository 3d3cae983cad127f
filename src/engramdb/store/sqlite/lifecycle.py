"""SQLite side of the memory lifecycle: real erasure with tombstones, and access counts.

What :func:`erase` guarantees for the file, once it returns:

- the rows are deleted from ``memories``, ``memory_vectors`` (cascade), ``episodes`` and the
  text columns of the ``history`` rows are NULL;
- both FTS5 indexes are merged (``optimize``), so no segment of their shadow tables still
  holds a posting of the erased text;
- the transaction ran with ``PRAGMA secure_delete = ON``, so SQLite overwrote the deleted
  cells and freed pages with zeros instead of leaving them on the freelist;
- afterwards the WAL is checkpointed and truncated, so older frames holding the text leave
  the ``-wal`` file. If another connection holds a read snapshot the truncation cannot
  finish; the text then stays in the WAL until the next checkpoint that completes, and the
  returned tombstone says so in its ``notes``.

Not covered: copies outside the file (backups, the filesystem's own freed blocks).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from engramdb.models import Scope, Tombstone
from engramdb.store.graphsql import GraphSQL
from engramdb.store.sqlite.sqlfilter import scope_sql
from engramdb.store.sqltree import episode_ids_of


def _marks(values: list[Any]) -> str:
    return ",".join("?" for _ in values)


def erase(
    c: sqlite3.Connection,
    scope: Scope,
    memory_id: str | None,
    tombstone: Tombstone,
    graph: GraphSQL,
) -> Tombstone:
    """Erase inside the caller's write transaction (run with secure_delete on); see module.
    ``graph`` runs on the same connection: entities, relations and links go in the same
    transaction."""
    tenant = scope.tenant
    if memory_id is not None:
        rows = c.execute(
            "SELECT rowid, id, metadata, memory FROM memories WHERE id = ? AND tenant = ?",
            (memory_id, tenant),
        ).fetchall()
        episode_ids = [i for r in rows for i in episode_ids_of(json.loads(r[2]))]
        texts = [r[3] for r in rows]
        # Its source messages: those its metadata names, and (for memories stored verbatim,
        # which name none) the messages of its scope with exactly its text.
        e_sql, e_params = scope_sql(tombstone.scope, alias="e")
        e_rows = c.execute(
            f"SELECT e.rowid FROM episodes e WHERE e.tenant = ? AND (e.id IN "
            f"({_marks(episode_ids)}) OR ({e_sql} AND e.content IN ({_marks(texts)})))",
            (tenant, *episode_ids, *e_params, *texts),
        ).fetchall()
        if not rows:
            # Deleted earlier: its history rows still know its scope (migration 4 on).
            graph.rescope_from_history(tombstone, tenant, memory_id)
        h_sql = "h.tenant = ? AND h.memory_id = ?"
        h_params: list[Any] = [tenant, memory_id]
    else:
        s_sql, s_params = scope_sql(scope)
        rows = c.execute(
            f"SELECT m.rowid, m.id, m.metadata FROM memories m WHERE {s_sql}", s_params
        ).fetchall()
        e_sql, e_params = scope_sql(scope, alias="e")
        e_rows = c.execute(f"SELECT e.rowid FROM episodes e WHERE {e_sql}", e_params).fetchall()
        ids = [r[1] for r in rows]
        hs_sql, hs_params = scope_sql(scope, alias="h")
        # Rows written before migration 4 carry no scope: they are found by memory id.
        h_sql = f"(({hs_sql}) OR (h.tenant = ? AND h.memory_id IN ({_marks(ids)})))"
        h_params = [*hs_params, tenant, *ids]
    rowids = [r[0] for r in rows]
    vectors = c.execute(
        f"SELECT count(*) FROM memory_vectors WHERE rowid IN ({_marks(rowids)})", rowids
    ).fetchone()[0]
    tombstone.counts.update(graph.erase(rowids, tenant))
    c.execute(f"DELETE FROM memories WHERE rowid IN ({_marks(rowids)})", rowids)
    e_rowids = [r[0] for r in e_rows]
    c.execute(f"DELETE FROM episodes WHERE rowid IN ({_marks(e_rowids)})", e_rowids)
    history = c.execute(
        "UPDATE history AS h SET old_memory = NULL, new_memory = NULL, reason = 'erased' "
        f"WHERE {h_sql} AND (h.old_memory IS NOT NULL OR h.new_memory IS NOT NULL "
        "OR h.reason IS NOT 'erased')",
        h_params,
    ).rowcount
    # 'optimize' merges every segment into one, dropping the postings the deletes marked.
    c.execute("INSERT INTO memories_fts (memories_fts) VALUES ('optimize')")
    c.execute("INSERT INTO episodes_fts (episodes_fts) VALUES ('optimize')")
    tombstone.counts.update(
        memories=len(rowids),
        vectors=int(vectors),
        keyword_entries=len(rowids) + len(e_rowids),
        episodes=len(e_rowids),
        history=max(int(history), 0),
    )
    graph.put_tombstone(tombstone)
    return tombstone


def tombstones(c: sqlite3.Connection, scope: Scope, limit: int) -> list[Tombstone]:
    """Erasure records within ``scope``, newest first."""
    s_sql, s_params = scope_sql(scope, alias="t")
    rows = c.execute(
        "SELECT t.id, t.tenant, t.user_id, t.agent_id, t.run_id, t.memory_id, t.counts, "
        f"t.reason, t.erased_at FROM tombstones t WHERE {s_sql} "
        "ORDER BY t.erased_at DESC, t.rowid DESC LIMIT ?",
        [*s_params, limit],
    ).fetchall()
    return [
        Tombstone(
            id=r[0],
            scope=Scope(tenant=r[1], user_id=r[2], agent_id=r[3], run_id=r[4]),
            memory_id=r[5],
            counts=json.loads(r[6]),
            reason=r[7],
            erased_at=r[8],
        )
        for r in rows
    ]


def record_access(
    c: sqlite3.Connection, tenant: str, touches: Mapping[str, tuple[int, str]]
) -> None:
    """Add access counts inside the caller's write transaction (no trigger fires on these
    columns, so vector caches and the keyword index are untouched)."""
    c.executemany(
        "UPDATE memories SET access_count = access_count + ?, last_accessed_at = "
        "max(coalesce(last_accessed_at, ''), ?) WHERE id = ? AND tenant = ?",
        [(n, at, memory_id, tenant) for memory_id, (n, at) in touches.items()],
    )
