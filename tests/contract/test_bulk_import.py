"""Bulk imports and the batched id check they use: both backends."""

from __future__ import annotations

import io

import pytest

from engramdb import Memory
from engramdb.transfer import export_jsonl, import_jsonl


def _has_ann_index(mem: Memory, backend: str) -> bool | None:
    if backend == "sqlite":
        return None  # nothing to suspend: vectors are searched from a cache
    with mem.store._connection() as conn:  # type: ignore[attr-defined]
        row = conn.execute(b"SELECT to_regclass('memories_embedding') IS NOT NULL").fetchone()
    return bool(row[0])


def test_existing_ids_is_per_tenant(mem: Memory) -> None:
    ids = [r["id"] for r in mem.add(["one", "two"], user_id="u", infer=False)["results"]]
    assert mem.store.existing_ids("default", [*ids, "missing"]) == set(ids)
    assert mem.store.existing_ids("other", ids) == set()
    assert mem.store.existing_ids("default", []) == set()


def test_bulk_import_suspends_and_rebuilds_the_index(mem: Memory, backend: str) -> None:
    for i in range(30):
        mem.add(f"fact number {i} about gardening", user_id="src", infer=False)
    buf = io.StringIO()
    export_jsonl(mem, buf, user_id="src", include_vectors=True)
    lines = buf.getvalue().splitlines()
    mem.delete_all(user_id="src")
    seen: list[bool | None] = []

    def during(done: int, total: int) -> None:
        seen.append(_has_ann_index(mem, backend))

    report = import_jsonl(mem, lines, bulk=True, on_progress=during, batch_size=7)
    assert report.imported == 30 and report.reembedded == 0
    assert report.skipped_episodes == 30  # delete_all keeps the raw messages
    expected = None if backend == "sqlite" else False
    assert seen and all(s is expected for s in seen)
    assert _has_ann_index(mem, backend) in (None, True)
    hits = mem.search("fact number 7 about gardening", user_id="src")["results"]
    assert hits[0]["memory"] == "fact number 7 about gardening"


def test_bulk_load_rebuilds_the_index_after_a_failure(mem: Memory, backend: str) -> None:
    with pytest.raises(RuntimeError), mem.store.bulk_load():
        raise RuntimeError("boom")
    assert _has_ann_index(mem, backend) in (None, True)
