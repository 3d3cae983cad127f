"""A write links all its memories into the graph at once (a few statements per table); the
rows must be those linking them one memory at a time writes. Both backends."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from tests.conftest import open_memory
from tests.support.tables import graph_export, snapshot

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.graph import api as graph_api
from engramdb.graph import links as graph_links
from engramdb.models import NewMemory, Scope, WriteBatch
from engramdb.transfer import ImportWriteError, import_jsonl


def _batch(mem: Memory, lines: list[str]) -> WriteBatch:
    """The write an import makes of ``lines``: memories and their (unresolved) graph rows."""
    inserts = []
    for line in lines:
        obj = json.loads(line)
        scope = Scope(user_id=obj["user_id"], agent_id=obj.get("agent_id"))
        inserts.append(
            NewMemory(
                id=obj["id"],
                memory=obj["memory"],
                scope=scope,
                vector=obj["vector"],
                metadata=obj["metadata"],
                created_at=obj["created_at"],
                hash=obj["id"],
            )
        )
    batch = WriteBatch(inserts=inserts, at="2024-07-01T00:00:00Z")
    batch.graph = [
        graph_links.for_memory(n.id, n.memory, n.scope, at=n.created_at) for n in inserts
    ]
    return batch


def _unique(lines: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for line in lines:
        obj = json.loads(line)
        if obj["type"] == "memory" and obj["id"] not in seen:
            seen.add(obj["id"])
            obj.pop("status", None)
            obj.pop("invalid_at", None)
            out.append(json.dumps(obj))
    return out


def test_one_write_links_like_one_memory_at_a_time(
    mem: Memory, backend: str, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    lines = _unique(graph_export(400, 6, embedder.dims, embedder.name))
    other = open_memory(backend, tmp_path / "one-at-a-time", embedder)
    try:
        # Both stores first hold the same graph (entities, aliases, relations to reuse), and
        # the same merge (links must land on the entity a merged one points at).
        for m in (mem, other):
            m.store.apply(graph_api.link(m.store, m.embedder, _batch(m, lines[:150])))
            names = {e["name"]: e["id"] for e in m.entities(user_id="user0", agent_id="helper")}
            assert "Paris" in names and "Lisbon" in names
            m.merge_entities(names["Lisbon"], names["Paris"])
        batch = graph_api.link(mem.store, mem.embedder, _batch(mem, lines[150:]))
        assert any(e.alias for g in batch.graph for e in g.entities), "no alias exercised"
        single = copy.deepcopy(batch)
        mem.store.apply(batch)
        other.store.apply(WriteBatch(inserts=single.inserts, at=single.at))
        for item in single.graph:
            other.store.apply(WriteBatch(graph=[item], at=single.at))
        got, want = snapshot(mem), snapshot(other)
        assert got == want
        assert len(got["relation_sources"]) > len(got["relations"]) > 100
        assert len(got["entity_links"]) > 500 and got["entity_aliases"]
    finally:
        other.close()


def test_relinking_a_memory_twice_in_one_write_keeps_the_last(mem: Memory) -> None:
    scope = Scope(user_id="u")
    out = mem.add(["I moved to Lisbon."], user_id="u", infer=False)
    memory_id = out["results"][0]["id"]
    first = graph_links.for_memory(memory_id, "Anna lives in Paris.", scope, at="2024-01-01")
    last = graph_links.for_memory(memory_id, "Tom works at Google.", scope, at="2024-01-01")
    mem.store.apply(WriteBatch(graph=[first, last]))
    names = {e["name"] for e in mem.entities(user_id="u")}
    assert {"Tom", "Google"} <= names
    assert not names & {"Anna", "Paris", "Lisbon"}


def test_reimporting_a_file_changes_no_row(mem: Memory, embedder: LocalEmbedder) -> None:
    lines = graph_export(600, 9, embedder.dims, embedder.name)
    report = import_jsonl(mem, lines, batch_size=250)
    assert report.imported == len(_unique(lines)) and report.reembedded == 0
    before = snapshot(mem)
    # Superseded lines ended the relations only they stated.
    assert any(r[9] is not None for r in before["relations"])
    again = import_jsonl(mem, lines, batch_size=100)
    assert again.imported == 0 and again.skipped_existing == len(lines) - 1
    assert snapshot(mem) == before


def _without(snap: dict[str, list[tuple[object, ...]]], memory_id: str) -> dict[str, object]:
    return {table: [r for r in got if r[0] != memory_id] for table, got in snap.items()}


def test_a_batch_that_fails_leaves_the_store_as_the_batches_before_it(
    mem: Memory, backend: str, tmp_path: Path, embedder: LocalEmbedder
) -> None:
    lines = _unique(graph_export(60, 3, embedder.dims, embedder.name))
    header = graph_export(1, 1, embedder.dims, embedder.name)[0]
    # An id another tenant holds: the id check passes (it is per tenant), the insert fails.
    taken = json.loads(lines[35])["id"]
    squatter = NewMemory(
        id=taken,
        memory="taken",
        scope=Scope(user_id="x", tenant="other"),
        vector=embedder.embed(["taken"])[0],
        metadata={},
        created_at="2024-01-01T00:00:00Z",
        hash="h",
    )
    mem.store.apply(WriteBatch(inserts=[squatter]))
    with pytest.raises(ImportWriteError) as err:
        import_jsonl(mem, [header, *lines], batch_size=20)
    assert err.value.report.imported == 20
    expected = open_memory(backend, tmp_path / "expected", embedder)
    try:
        import_jsonl(expected, [header, *lines[:20]], batch_size=20)
        assert _without(snapshot(mem), taken) == _without(snapshot(expected), taken)
        assert snapshot(mem)["entity_links"]
    finally:
        expected.close()
