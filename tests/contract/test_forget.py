"""Forgetting for real: ``forget`` erases content everywhere and leaves a content-free
tombstone. The SQLite test reads the raw database file; the Postgres one scans every table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from engramdb import Memory, MemoryNotFoundError, ScopeError, ValidationError

SECRET = "Quuxville"  # a word that appears nowhere else
OTHER = "Brindlewood"


def _fill(mem: Memory) -> dict[str, str]:
    """Memories, history (update + delete) and episodes mentioning SECRET for user a."""
    ids: dict[str, str] = {}
    out = mem.add(f"I live in {SECRET}.", user_id="a", timestamp="2023-01-01")
    ids["home"] = out["results"][0]["id"]
    out = mem.add(f"my {SECRET} diary entry", user_id="a", run_id="r1", infer=False)
    ids["note"] = out["results"][0]["id"]
    mem.update(ids["note"], f"my {SECRET} diary entry, edited")
    out = mem.add(f"{SECRET} lake trip", user_id="a", infer=False)
    mem.delete(out["results"][0]["id"])
    ids["deleted"] = out["results"][0]["id"]
    out = mem.add(f"I live in {OTHER}.", user_id="b")
    ids["b"] = out["results"][0]["id"]
    # Warm the vector cache and access log so they hold the rows before the erase.
    assert mem.search(SECRET, user_id="a")["results"]
    return ids


def _sqlite_file_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        data += wal.read_bytes()
    return data.lower()


def _postgres_rows_with(mem: Memory, word: str) -> dict[str, int]:
    found = {}
    with psycopg.connect(mem.store.dsn) as conn:  # type: ignore[attr-defined]
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        ]
        for t in tables:
            got = conn.execute(
                f'SELECT count(*) FROM "{t}" x WHERE x::text ILIKE %s',  # type: ignore[arg-type]
                (f"%{word}%",),
            ).fetchone()
            if got and got[0]:
                found[t] = int(got[0])
    return found


def test_forget_user_erases_every_trace_and_leaves_a_tombstone(
    mem: Memory, backend: str, store_path: Path
) -> None:
    ids = _fill(mem)
    if backend == "postgres":
        assert _postgres_rows_with(mem, SECRET)  # the scan can find it
    tomb = mem.forget(user_id="a", reason="GDPR request")
    assert tomb["user_id"] == "a" and tomb["memory_id"] is None
    assert tomb["reason"] == "GDPR request"
    counts = tomb["counts"]
    assert counts["memories"] == 2 and counts["vectors"] == 2
    assert counts["episodes"] == 3
    assert counts["history"] >= 5
    # The graph too: the place the memories named, its links and relation.
    assert counts["entities"] >= 1 and counts["entity_links"] >= 1
    assert mem.entities(user_id="a") == [] and mem.relations(user_id="a") == []
    assert SECRET not in str(tomb)
    # Gone from every read path, and from the history of the memory deleted earlier.
    assert mem.search(SECRET, user_id="a")["results"] == []
    assert mem.get_all(user_id="a", include_invalid=True, include_archived=True)["results"] == []
    assert mem.episodes(user_id="a") == []
    for key in ("home", "note", "deleted"):
        assert mem.get(ids[key]) is None
        assert all(
            h["old_memory"] is None and h["new_memory"] is None for h in mem.history(ids[key])
        )
    # Another user is untouched.
    assert OTHER in mem.get(ids["b"])["memory"]  # type: ignore[index]
    assert mem.search(OTHER, user_id="b")["results"]
    assert [t["id"] for t in mem.tombstones(user_id="a")] == [tomb["id"]]
    assert mem.tombstones(user_id="b") == []
    assert [t["id"] for t in mem.tombstones()] == [tomb["id"]]
    if backend == "postgres":
        assert _postgres_rows_with(mem, SECRET) == {}
        assert _postgres_rows_with(mem, OTHER)
        return
    mem.close()
    raw = _sqlite_file_bytes(store_path)
    assert SECRET.lower().encode() not in raw
    assert OTHER.lower().encode() in raw  # the scan would have seen it
    with sqlite3.connect(store_path) as conn:
        for table in ("memories_fts", "episodes_fts"):
            conn.execute(f"CREATE VIRTUAL TABLE temp.v_{table} USING fts5vocab(main, {table}, row)")
            vocab = {r[0] for r in conn.execute(f"SELECT term FROM temp.v_{table}")}
            assert SECRET.lower() not in vocab
        assert conn.execute("PRAGMA freelist_count").fetchone() is not None


def test_forget_one_memory_erases_it_its_history_and_its_episodes(mem: Memory) -> None:
    ids = _fill(mem)
    tomb = mem.forget(memory_id=ids["home"])
    assert tomb["memory_id"] == ids["home"] and tomb["user_id"] == "a"
    assert tomb["counts"]["memories"] == 1 and tomb["counts"]["episodes"] == 1
    assert mem.get(ids["home"]) is None
    assert all(h["new_memory"] is None for h in mem.history(ids["home"]))
    assert all(
        SECRET not in e["content"] or "diary" in e["content"] or "lake" in e["content"]
        for e in mem.episodes(user_id="a")
    )
    assert not any(e["content"] == f"I live in {SECRET}." for e in mem.episodes(user_id="a"))
    # The user's other memories stay.
    assert mem.get(ids["note"]) is not None
    # A memory stored verbatim names no episode: the messages with its exact text go.
    verbatim = mem.add("call me at 555-0199", user_id="a", run_id="r2", infer=False)
    mem.add("call me at 555-0199", user_id="zz", infer=False)
    gone = mem.forget(memory_id=verbatim["results"][0]["id"])
    assert gone["counts"]["episodes"] == 1 and "notes" not in gone
    assert all("555-0199" not in e["content"] for e in mem.episodes(user_id="a"))
    assert len(mem.episodes(user_id="zz")) == 1  # another scope keeps its own
    # A memory deleted earlier can still be forgotten: its history text goes.
    late = mem.forget(memory_id=ids["deleted"])
    assert all(h["old_memory"] is None for h in mem.history(ids["deleted"]))
    assert "none were erased" in late["notes"][0]
    assert len(mem.tombstones(user_id="a")) == 3


def test_forget_needs_a_scope_or_an_existing_memory(mem: Memory) -> None:
    mem.add("I live in Porto.", user_id="a")
    with pytest.raises(ScopeError):
        mem.forget()
    with pytest.raises(MemoryNotFoundError):
        mem.forget(memory_id="no-such-memory")
    with pytest.raises(ValidationError):
        mem.forget(user_id="a", memory_id="x")
    with pytest.raises(ValidationError):
        mem.forget(user_id="a", reason="x" * 501)
    assert len(mem.get_all(user_id="a")["results"]) == 1
    assert mem.tombstones() == []


def test_other_tenants_are_not_reached(mem: Memory) -> None:
    other = mem.for_tenant("t2")
    other.add("I live in Porto.", user_id="a")
    mem.add("I live in Lisbon.", user_id="a")
    mem.forget(user_id="a")
    assert len(other.get_all(user_id="a")["results"]) == 1
    assert other.tombstones() == []
    with pytest.raises(MemoryNotFoundError):
        mem.forget(memory_id=other.get_all(user_id="a")["results"][0]["id"])


def test_sqlite_forget_says_when_a_reader_keeps_the_wal(
    mem: Memory, backend: str, store_path: Path
) -> None:
    if backend != "sqlite":
        pytest.skip("WAL checkpoints are SQLite's")
    mem.add(f"I live in {SECRET}.", user_id="a", infer=False)
    reader = sqlite3.connect(store_path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM memories").fetchone()  # pins a snapshot
        tomb = mem.forget(user_id="a")
        assert "WAL" in tomb["notes"][0]
    finally:
        reader.execute("COMMIT")
        reader.close()
    assert "notes" not in mem.forget(user_id="a")
