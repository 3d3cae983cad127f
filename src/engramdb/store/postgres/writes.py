"""The Postgres write transaction: what :meth:`PostgresStore.apply` runs for one batch.

New memories and their ADD history rows go in with ``COPY`` (binary for the memories, so
vectors travel as floats, not text); changes, deletes and the graph follow on the same
cursor, so the whole batch commits or rolls back together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.types.json import Jsonb

from engramdb.models import NewMemory, WriteBatch
from engramdb.store.graphsql import GraphSQL
from engramdb.store.sqltree import (
    EPISODE_COLUMNS,
    HISTORY_COLUMNS,
    MEMORY_COLUMNS,
    change_history,
    changed_columns,
    changing_row,
    episode_values,
    history_values,
    memory_values,
    row_scope,
)

Cursor = psycopg.Cursor[tuple[Any, ...]]
#: ``vector(memory_id, value)``: the value as float32 of the store's size, or StoreError.
VectorCheck = Callable[[str, Any], npt.NDArray[np.float32]]

HISTORY_INSERT = f"INSERT INTO history ({HISTORY_COLUMNS}) VALUES ({', '.join(['%s'] * 11)})"
# Binary COPY needs each column's type, in the order of MEMORY_COLUMNS and the embedding.
_MEMORY_TYPES = [
    *["text"] * 7,
    "jsonb",
    "text",
    "text",
    "jsonb",
    *["text"] * 3,
    "float4",
    "text",
    "vector",
]
_JSON_COLUMNS = (7, 10)


def _verbatim(text: str) -> str:
    return text


def copy_memories(c: Cursor, inserts: Sequence[NewMemory], vector: VectorCheck) -> None:
    """Insert ``inserts`` and their ADD history rows with COPY (the rows of ``INSERT``)."""
    with c.copy(f"COPY memories ({MEMORY_COLUMNS}, embedding) FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types(_MEMORY_TYPES)
        for new in inserts:
            row: list[Any] = list(memory_values(new))
            for i in _JSON_COLUMNS:
                # Already JSON text: sent as it is, not encoded a second time.
                row[i] = Jsonb(row[i], dumps=_verbatim)
            row.append(vector(new.id, new.vector))
            cp.write_row(row)
    with c.copy(f"COPY history ({HISTORY_COLUMNS}) FROM STDIN") as cp:
        for new in inserts:
            cp.write_row(
                history_values(
                    new.id, new.scope, "ADD", None, new.memory, new.created_at, role=new.role
                )
            )


def apply_batch(
    c: Cursor, batch: WriteBatch, at: str, vector: VectorCheck, graph: GraphSQL
) -> list[str]:
    """Write every part of ``batch`` on ``c`` (the caller owns the transaction); return the
    ids of changes skipped by their ``if_updated_at``."""
    rowids: dict[str, int] = {}
    skipped: list[str] = []
    if batch.episodes:
        c.executemany(
            f"INSERT INTO episodes ({EPISODE_COLUMNS}) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s, %s)",
            [episode_values(e) for e in batch.episodes],
        )
    if batch.episode_status:
        c.executemany(
            "UPDATE episodes SET status = %s, facts = %s, error = %s WHERE id = %s",
            [(u.status, u.facts, u.error, u.id) for u in batch.episode_status],
        )
    if batch.inserts:
        copy_memories(c, batch.inserts, vector)
    for ch in batch.changes:
        row = changing_row(c, ch, "%s", " FOR UPDATE")
        if row is None:
            # Changed since the caller read it: its decision was about another version.
            skipped.append(ch.id)
            continue
        rowid = row[0]
        rowids[ch.id] = rowid
        # FOR UPDATE holds the row until commit, so the importance read is the one we change.
        columns = changed_columns(ch, row[6])
        sets = ["updated_at = %s"]
        sets += [f"{col} = %s::jsonb" if col == "metadata" else f"{col} = %s" for col, _ in columns]
        params: list[Any] = [at, *(val for _, val in columns)]
        if ch.vector is not None:
            sets.append("embedding = %s")
            params.append(vector(ch.id, ch.vector))
        c.execute(f"UPDATE memories SET {', '.join(sets)} WHERE rowid = %s", (*params, rowid))
        c.execute(HISTORY_INSERT, change_history(ch, row, at))
    missing = [g.memory_id for g in batch.graph if g.memory_id not in rowids]
    if missing:
        c.execute("SELECT id, rowid FROM memories WHERE id = ANY(%s)", (missing,))
        rowids.update((str(r[0]), int(r[1])) for r in c.fetchall())
    graph.write([(g, rowids[g.memory_id]) for g in batch.graph if g.memory_id in rowids])
    for ch in batch.changes:
        if ch.status is not None and ch.status != "active" and ch.id not in skipped:
            graph.invalidate(rowids[ch.id], ch.invalid_at or at)
    if batch.deletes:
        c.execute("SELECT rowid FROM memories WHERE id = ANY(%s)", (batch.deletes,))
        graph.unlink([int(r[0]) for r in c.fetchall()])
    for memory_id in batch.deletes:
        row = c.execute(
            "DELETE FROM memories WHERE id = %s "
            "RETURNING tenant, memory, user_id, agent_id, run_id",
            (memory_id,),
        ).fetchone()
        if row is None:
            continue
        c.execute(
            HISTORY_INSERT,
            history_values(memory_id, row_scope(row[0], *row[2:]), "DELETE", row[1], None, at),
        )
    if batch.feedback:
        c.executemany(
            "INSERT INTO feedback (id, memory_id, tenant, signal, note, query, "
            "query_vector, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    f.id,
                    f.memory_id,
                    f.tenant,
                    f.signal,
                    f.note,
                    f.query,
                    None if f.query_vector is None else vector(f.memory_id, f.query_vector),
                    f.created_at,
                )
                for f in batch.feedback
            ],
        )
    return skipped
