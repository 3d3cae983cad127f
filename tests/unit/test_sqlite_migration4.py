"""Migration 4 on a SQLite file written at version 3: history rows get their memory's scope,
old episodes become searchable, and forget then reaches both."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engramdb.models import Scope, Tombstone
from engramdb.store.sqlite import schema
from engramdb.store.sqlite.store import SQLiteStore

_MEMORY = (
    "INSERT INTO memories (id, tenant, user_id, memory, hash, created_at, updated_at) "
    "VALUES (?, 'default', ?, ?, 'h', '2024-01-01', '2024-01-01')"
)


def _version_3_file(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TEXT NOT NULL)"
    )
    for number, name, sql in schema.MIGRATIONS[:3]:
        for statement in schema._statements(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 'then')", (number, name))
    conn.execute(_MEMORY, ("m1", "alice", "lives in Quuxville"))
    conn.execute("INSERT INTO memory_vectors (rowid, vector) VALUES (1, zeroblob(8))")
    for memory_id in ("m1", "gone"):
        conn.execute(
            "INSERT INTO history (memory_id, tenant, event, new_memory, created_at) "
            "VALUES (?, 'default', 'ADD', 'lives in Quuxville', '2024-01-01')",
            (memory_id,),
        )
    conn.execute(
        "INSERT INTO episodes (id, tenant, user_id, batch_id, role, content, created_at) "
        "VALUES ('e1', 'default', 'alice', 'b', 'user', 'I hiked near Quuxville', '2024-01-01')"
    )
    conn.close()


def test_migration_4_backfills_and_indexes_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _version_3_file(path)
    store = SQLiteStore(path, dims=2)
    try:
        assert store.schema_version == schema.LATEST
        rows = store._conn.execute(
            "SELECT memory_id, user_id FROM history ORDER BY memory_id"
        ).fetchall()
        # A memory deleted before the migration cannot be placed in a scope.
        assert rows == [("gone", None), ("m1", "alice")]
        found = store.episodes(Scope(user_id="alice"), keywords=["hiking"])
        assert [e.id for e in found] == ["e1"]
        tomb = Tombstone(id="t1", scope=Scope(user_id="alice"), erased_at="2025-01-01")
        store.erase(Scope(user_id="alice"), memory_id=None, tombstone=tomb)
        assert tomb.counts["memories"] == 1 and tomb.counts["episodes"] == 1
        assert tomb.counts["history"] == 1
    finally:
        store.close()
