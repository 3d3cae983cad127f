"""Postgres side of the memory lifecycle: real erasure with tombstones, and access counts.

What :func:`erase` guarantees: when its transaction commits, no table holds the erased text
(memory rows with their embeddings and tsvectors, episodes with theirs, the text columns of
history rows). Postgres keeps the old row versions as dead tuples (and in its WAL) until
VACUUM reclaims the space and later writes reuse it; ``VACUUM FULL`` on ``memories``,
``episodes`` and ``history`` rewrites the tables without them. Backups are not covered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

from engramdb.models import Scope, Tombstone
from engramdb.store.graphsql import GraphSQL
from engramdb.store.postgres.sqlfilter import scope_sql
from engramdb.store.sqltree import episode_ids_of

Conn = psycopg.Connection[tuple[Any, ...]]


def erase(
    conn: Conn, scope: Scope, memory_id: str | None, tombstone: Tombstone, graph: GraphSQL
) -> Tombstone:
    """Erase inside the caller's transaction; see the module docstring. ``graph`` runs on
    the same connection: entities, relations and links go in the same transaction."""
    tenant = scope.tenant
    if memory_id is not None:
        rows = conn.execute(
            "SELECT rowid, id, metadata, memory FROM memories WHERE id = %s AND tenant = %s "
            "FOR UPDATE",
            (memory_id, tenant),
        ).fetchall()
        episode_ids = [i for r in rows for i in episode_ids_of(r[2])]
        # Its source messages: those its metadata names, and (for memories stored verbatim,
        # which name none) the messages of its scope with exactly its text.
        s_sql, s_params = scope_sql(tombstone.scope, alias="e")
        e_sql = f"e.tenant = %s AND (e.id = ANY(%s) OR ({s_sql} AND e.content = ANY(%s)))"
        e_params = [tenant, episode_ids, *s_params, [r[3] for r in rows]]
        if not rows:
            # Deleted earlier: its history rows still know its scope (migration 4 on).
            graph.rescope_from_history(tombstone, tenant, memory_id)
        h_sql = "h.tenant = %s AND h.memory_id = %s"
        h_params: list[Any] = [tenant, memory_id]
    else:
        s_sql, s_params = scope_sql(scope)
        rows = conn.execute(
            f"SELECT m.rowid, m.id, m.metadata FROM memories m WHERE {s_sql} FOR UPDATE".encode(),
            s_params,
        ).fetchall()
        e_sql, e_params = scope_sql(scope, alias="e")
        hs_sql, hs_params = scope_sql(scope, alias="h")
        # Rows written before migration 4 carry no scope: they are found by memory id.
        h_sql = f"(({hs_sql}) OR (h.tenant = %s AND h.memory_id = ANY(%s)))"
        h_params = [*hs_params, tenant, [r[1] for r in rows]]
    rowids = [int(r[0]) for r in rows]
    tombstone.counts.update(graph.erase(rowids, tenant))
    conn.execute("DELETE FROM memories WHERE rowid = ANY(%s)", (rowids,))
    episodes = conn.execute(f"DELETE FROM episodes e WHERE {e_sql}".encode(), e_params).rowcount
    history = conn.execute(
        "UPDATE history h SET old_memory = NULL, new_memory = NULL, reason = 'erased' "
        f"WHERE {h_sql} AND (h.old_memory IS NOT NULL OR h.new_memory IS NOT NULL "
        "OR h.reason IS DISTINCT FROM 'erased')".encode(),
        h_params,
    ).rowcount
    # Embeddings and tsvectors are columns of the deleted rows: one count each.
    tombstone.counts.update(
        memories=len(rowids),
        vectors=len(rowids),
        keyword_entries=len(rowids) + max(episodes, 0),
        episodes=max(episodes, 0),
        history=max(history, 0),
    )
    graph.put_tombstone(tombstone)
    return tombstone


def tombstones(conn: Conn, scope: Scope, limit: int) -> list[Tombstone]:
    """Erasure records within ``scope``, newest first."""
    s_sql, s_params = scope_sql(scope, alias="t")
    rows = conn.execute(
        "SELECT t.id, t.tenant, t.user_id, t.agent_id, t.run_id, t.memory_id, t.counts, "
        f"t.reason, t.erased_at FROM tombstones t WHERE {s_sql} "
        "ORDER BY t.erased_at DESC, t.id DESC LIMIT %s".encode(),
        [*s_params, limit],
    ).fetchall()
    return [
        Tombstone(
            id=r[0],
            scope=Scope(tenant=r[1], user_id=r[2], agent_id=r[3], run_id=r[4]),
            memory_id=r[5],
            counts={str(k): int(v) for k, v in r[6].items()},
            reason=r[7],
            erased_at=r[8],
        )
        for r in rows
    ]


def record_access(conn: Conn, tenant: str, touches: Mapping[str, tuple[int, str]]) -> None:
    """Add access counts inside the caller's transaction; no other column changes.

    Rows a writer holds locked are skipped (their touches are dropped, counts being
    best-effort): the flush never waits on a write, so it can never deadlock one.
    """
    ids = list(touches)
    conn.execute(
        "WITH t (id, n, at) AS (SELECT * FROM unnest(%s::text[], %s::int[], %s::text[])), "
        "l AS (SELECT m.rowid, t.n, t.at FROM memories m JOIN t ON m.id = t.id "
        "WHERE m.tenant = %s ORDER BY m.rowid FOR UPDATE OF m SKIP LOCKED) "
        "UPDATE memories m SET access_count = m.access_count + l.n, "
        "last_accessed_at = greatest(m.last_accessed_at, l.at) FROM l WHERE m.rowid = l.rowid",
        (ids, [touches[i][0] for i in ids], [touches[i][1] for i in ids], tenant),
    )
