"""The SQLite write transaction: what :meth:`SQLiteStore.apply` runs for one batch.

Everything goes through the one connection inside the store's ``BEGIN IMMEDIATE``, so the
whole batch commits or rolls back together. Triggers keep the FTS5 index and the changelog
(which the vector caches follow) in step with ``memories``; this module only prunes the
changelog now and then.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np

from engramdb.models import WriteBatch
from engramdb.store.graphsql import GraphSQL
from engramdb.store.sqltree import (
    EPISODE_COLUMNS,
    HISTORY_COLUMNS,
    MEMORY_COLUMNS,
    change_history,
    changed_columns,
    changing_row,
    checked_vector,
    episode_values,
    history_values,
    memory_values,
    row_scope,
)

HISTORY_INSERT = f"INSERT INTO history ({HISTORY_COLUMNS}) VALUES ({', '.join('?' * 11)})"
# Keep this many changelog rows; a cache further behind than that rebuilds from scratch.
CHANGELOG_KEEP = 50_000


def apply_batch(
    c: sqlite3.Connection, batch: WriteBatch, at: str, dims: int, graph: GraphSQL
) -> list[str]:
    """Write every part of ``batch`` on ``c`` (the caller owns the transaction); return the
    ids of changes skipped by their ``if_updated_at``."""
    rowids: dict[str, int] = {}
    skipped: list[str] = []
    c.executemany(
        f"INSERT INTO episodes ({EPISODE_COLUMNS}) VALUES ({', '.join('?' * 15)})",
        [episode_values(e) for e in batch.episodes],
    )
    c.executemany(
        "UPDATE episodes SET status = ?, facts = ?, error = ? WHERE id = ?",
        [(u.status, u.facts, u.error, u.id) for u in batch.episode_status],
    )
    for new in batch.inserts:
        vec = checked_vector(new.id, new.vector, dims)
        cur = c.execute(
            f"INSERT INTO memories ({MEMORY_COLUMNS}) VALUES ({', '.join('?' * 16)})",
            memory_values(new),
        )
        assert cur.lastrowid is not None
        rowids[new.id] = cur.lastrowid
        c.execute(
            "INSERT INTO memory_vectors (rowid, vector) VALUES (?, ?)",
            (cur.lastrowid, vec.tobytes()),
        )
        c.execute(
            HISTORY_INSERT,
            history_values(
                new.id, new.scope, "ADD", None, new.memory, new.created_at, role=new.role
            ),
        )
    for ch in batch.changes:
        row = changing_row(c, ch, "?")
        if row is None:
            # Changed since the caller read it: its decision was about another version.
            skipped.append(ch.id)
            continue
        rowid = row[0]
        rowids[ch.id] = rowid
        # Read inside BEGIN IMMEDIATE: no other writer can change the row before our UPDATE.
        columns = changed_columns(ch, row[6])
        sets = ["updated_at = ?", *(f"{col} = ?" for col, _ in columns)]
        params: list[Any] = [at, *(val for _, val in columns)]
        c.execute(f"UPDATE memories SET {', '.join(sets)} WHERE rowid = ?", (*params, rowid))
        if ch.vector is not None:
            vec = checked_vector(ch.id, ch.vector, dims)
            c.execute(
                "UPDATE memory_vectors SET vector = ? WHERE rowid = ?", (vec.tobytes(), rowid)
            )
        c.execute(HISTORY_INSERT, change_history(ch, row, at))
    for item in batch.graph:
        if item.memory_id not in rowids:
            got = c.execute("SELECT rowid FROM memories WHERE id = ?", (item.memory_id,)).fetchone()
            if got is not None:
                rowids[item.memory_id] = got[0]
    graph.write([(g, rowids[g.memory_id]) for g in batch.graph if g.memory_id in rowids])
    for ch in batch.changes:
        if ch.status is not None and ch.status != "active" and ch.id not in skipped:
            graph.invalidate(rowids[ch.id], ch.invalid_at or at)
    doomed = []
    for memory_id in dict.fromkeys(batch.deletes):
        row = c.execute(
            "SELECT rowid, tenant, memory, user_id, agent_id, run_id FROM memories WHERE id = ?",
            (memory_id,),
        ).fetchone()
        if row is not None:
            doomed.append((memory_id, row))
    graph.unlink([row[0] for _, row in doomed])
    for memory_id, row in doomed:
        c.execute(
            HISTORY_INSERT,
            history_values(memory_id, row_scope(*row[1:2], *row[3:]), "DELETE", row[2], None, at),
        )
        c.execute("DELETE FROM memories WHERE rowid = ?", (row[0],))
    c.executemany(
        "INSERT INTO feedback (id, memory_id, tenant, signal, note, query, query_vector, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                f.id,
                f.memory_id,
                f.tenant,
                f.signal,
                f.note,
                f.query,
                None
                if f.query_vector is None
                else np.asarray(f.query_vector, np.float32).tobytes(),
                f.created_at,
            )
            for f in batch.feedback
        ],
    )
    _prune_changelog(c)
    return skipped


def _prune_changelog(c: sqlite3.Connection) -> None:
    # Only every thousandth write looks: the prune is one indexed range delete.
    last = c.execute("SELECT max(seq) FROM changelog").fetchone()[0] or 0
    if last % 1000 == 0 and last > CHANGELOG_KEEP:
        c.execute("DELETE FROM changelog WHERE seq <= ?", (last - CHANGELOG_KEEP,))
