"""Opening stores: schema versions, reopening, sharing one file, unreadable files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engramdb import Memory, SchemaVersionError, StoreError
from engramdb.embed.local import LocalEmbedder
from engramdb.store.sqlite import SQLiteStore
from engramdb.store.sqlite.schema import LATEST, MIGRATIONS


def _versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    conn.close()
    return [r[0] for r in rows]


def _seed(tmp_path: Path, embedder: LocalEmbedder) -> str:
    with Memory(path=tmp_path, embedder=embedder) as m:
        out = m.add("I keep bees", user_id="alice", infer=False)
    return str(out["results"][0]["id"])


def test_new_store_records_every_migration(store_path: Path, embedder: LocalEmbedder) -> None:
    _seed(store_path.parent, embedder)
    assert _versions(store_path) == [n for n, _, _ in MIGRATIONS]
    assert _versions(store_path)[-1] == LATEST


def test_newer_schema_version_is_refused(store_path: Path, embedder: LocalEmbedder) -> None:
    mid = _seed(store_path.parent, embedder)
    future = LATEST + 7
    conn = sqlite3.connect(store_path)
    with conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (future, "from the future", "2030-01-01T00:00:00.000000+00:00"),
        )
    conn.close()
    with pytest.raises(SchemaVersionError) as info:
        Memory(path=store_path.parent, embedder=embedder)
    msg = str(info.value)
    assert str(store_path) in msg
    assert f"schema version {future}" in msg
    assert f"({LATEST})" in msg
    assert "upgrade engramdb" in msg
    with pytest.raises(SchemaVersionError):
        SQLiteStore(store_path, dims=embedder.dims)
    # Refusing changed nothing: the marker is still there and the data is intact.
    assert _versions(store_path)[-1] == future
    conn = sqlite3.connect(store_path)
    with conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = ?", (future,))
    conn.close()
    with Memory(path=store_path.parent, embedder=embedder) as m:
        got = m.get(mid)
        assert got is not None and got["memory"] == "I keep bees"


def test_reopen_keeps_data_and_does_not_rerun_migrations(
    store_path: Path, embedder: LocalEmbedder
) -> None:
    mid = _seed(store_path.parent, embedder)
    for _ in range(3):
        with Memory(path=store_path.parent, embedder=embedder) as m:
            assert m.search("bees", user_id="alice")["results"][0]["id"] == mid
            assert m.stats()["memories"] == 1
    assert _versions(store_path) == [n for n, _, _ in MIGRATIONS]


def test_two_open_handles_on_one_store(store_path: Path, embedder: LocalEmbedder) -> None:
    _seed(store_path.parent, embedder)
    with (
        Memory(path=store_path.parent, embedder=embedder) as a,
        Memory(path=store_path.parent, embedder=embedder) as b,
    ):
        # Warm both caches, then write through one and read through the other.
        assert len(a.search("bees", user_id="alice")["results"]) == 1
        assert len(b.search("bees", user_id="alice")["results"]) == 1
        mid = a.add("I ride a red bicycle", user_id="alice", infer=False)["results"][0]["id"]
        got = b.get(mid)
        assert got is not None and got["memory"] == "I ride a red bicycle"
        top = b.search("red bicycle", user_id="alice")["results"][0]
        assert top["id"] == mid
        assert top["similarity"] == pytest.approx(0.9, abs=0.1)
        b.update(mid, text="I ride a green tandem")
        assert a.search("green tandem", user_id="alice")["results"][0]["id"] == mid
        b.delete(mid)
        assert mid not in {r["id"] for r in a.search("tandem", user_id="alice")["results"]}
        assert a.stats()["memories"] == b.stats()["memories"] == 1


def test_file_that_is_not_a_database(tmp_path: Path, embedder: LocalEmbedder) -> None:
    path = tmp_path / "memories.db"
    path.write_bytes(b"this is not sqlite " * 500)
    with pytest.raises(StoreError) as info:
        Memory(path=tmp_path, embedder=embedder)
    assert str(path) in str(info.value)
    assert path.read_bytes() == b"this is not sqlite " * 500


def test_store_directory_is_created(tmp_path: Path, embedder: LocalEmbedder) -> None:
    home = tmp_path / "a" / "b"
    with Memory(path=home, embedder=embedder) as m:
        m.add("x marks the spot", user_id="alice", infer=False)
    assert (home / "memories.db").is_file()


def test_store_uses_wal(store_path: Path, embedder: LocalEmbedder) -> None:
    _seed(store_path.parent, embedder)
    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
