"""Export and import carry the graph on every backend: entities with aliases, links,
relations with validity and provenance, merges that stay undoable; re-importing adds nothing,
and malformed graph lines are refused with their line number before anything is written."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from engramdb import Memory, ValidationError
from engramdb.graph import api as graph_api
from engramdb.graph.links import Hint, for_memory
from engramdb.models import Scope, WriteBatch
from engramdb.transfer import ImportValidationError, export_jsonl, import_jsonl

T0 = "2024-01-01T09:00:00Z"
TRANSCRIPT = [
    "Caroline: I moved from my home country, Sweden, four years ago.",
    "Melanie: We got a cat named Bailey. My sister Anna lives in New York City.",
    "Caroline: My brother Tom visited NYC last week.",
    "Jo: Bob Smith fixed the roof.",
    "Jo: and then Bobby helped me paint the fence.",
]


def _as_llm_linked(mem: Memory, memory_id: str, hint: Hint) -> None:
    """Re-link a memory as the LLM path does: with entities and relations its text alone
    would not give the deterministic linker (what an import must not lose)."""
    rec = mem.get(memory_id)
    assert rec is not None
    scope = Scope(tenant=mem.tenant, user_id=rec["user_id"])
    item = for_memory(memory_id, rec["memory"], scope, at=rec["created_at"], hint=hint)
    mem.store.apply(graph_api.link(mem.store, mem.embedder, WriteBatch(graph=[item], at=T0)))


def _build(mem: Memory) -> dict[str, Any]:
    ids = [r["id"] for r in mem.add(TRANSCRIPT, user_id="u", infer=False, timestamp=T0)["results"]]
    job = mem.add("I started a new job last week.", user_id="u", infer=False, timestamp=T0)
    _as_llm_linked(
        mem,
        job["results"][0]["id"],
        Hint(
            entities=(("Acme Rockets", "organisation"),),
            relations=(("user", "works_at", "Acme Rockets"),),
        ),
    )
    # Supersession ends a relation: its validity must survive the move.
    mem.add("I live in Porto.", user_id="u", timestamp="2022-02-01T00:00:00Z")
    mem.add("I moved to Helsinki.", user_id="u", timestamp="2024-05-20T00:00:00Z")
    ents = {e["name"]: e["id"] for e in mem.entities(user_id="u", limit=500)}
    merge = mem.merge_entities(ents["Bobby"], ents["Bob Smith"])
    mem.add("Tom likes sailing.", user_id="other", infer=False, timestamp=T0)
    return {"ids": ids, "merge": merge}


def _graph_state(mem: Memory, user: str = "u") -> dict[str, Any]:
    scope = Scope(tenant=mem.tenant, user_id=user)
    return {
        "entities": mem.entities(user_id=user, limit=500),
        "stored": sorted(
            (e.to_dict() for e in mem.store.graph_entities(scope, limit=500)),
            key=lambda e: str(e["id"]),
        ),
        "relations": mem.relations(user_id=user, include_invalid=True, limit=500),
        "graph": mem.graph(user_id=user, include_invalid=True),
    }


def _export(mem: Memory, **kwargs: Any) -> list[str]:
    buf = io.StringIO()
    export_jsonl(mem, buf, **kwargs)
    return buf.getvalue().splitlines()


@pytest.fixture
def other(backend: str, tmp_path: Any, embedder: Any) -> Any:
    from tests.conftest import open_memory

    m = open_memory(backend, tmp_path / "target", embedder)
    yield m
    m.close()


def test_the_graph_round_trips_with_its_ids(mem: Memory, other: Memory) -> None:
    built = _build(mem)
    before = _graph_state(mem)
    assert ("u", "works_at", "Acme Rockets") in {
        (r["source"], r["relationship"], r["target"]) for r in before["relations"]
    }
    assert any(r["invalid_at"] for r in before["relations"])
    lines = _export(mem, user_id="u", include_vectors=True)
    kinds = [json.loads(line)["type"] for line in lines]
    assert {"entity", "entity_links", "relation", "entity_merge"} <= set(kinds)
    report = import_jsonl(other, lines)
    assert report.graph["entities"] == len(before["stored"])
    assert report.graph["merges"] == 1 and report.graph["aliases"] >= 1
    assert not any(k.endswith("_dropped") for k in report.graph)
    assert _graph_state(other) == before
    assert _graph_state(other, "other")["entities"] == []  # the export was of user u only
    # Aliases came along: "NYC" still finds New York City.
    nyc = other.relations(user_id="u", entity="NYC")
    assert nyc and nyc == mem.relations(user_id="u", entity="NYC")
    # The merge is still undoable where it arrived, with the links it moved.
    undone = other.unmerge(built["merge"]["id"])
    assert undone["moved_links"] == built["merge"]["moved_links"]
    names = {e["name"]: e["memories"] for e in other.entities(user_id="u", limit=500)}
    assert names["Bobby"] == 1 and names["Bob Smith"] == 1


def test_an_undone_merge_arrives_undone(mem: Memory, other: Memory) -> None:
    built = _build(mem)
    mem.unmerge(built["merge"]["id"])
    before = _graph_state(mem)
    report = import_jsonl(other, _export(mem, user_id="u"))
    assert report.graph["merges"] == 1
    assert _graph_state(other) == before
    with pytest.raises(ValidationError, match="already undone"):
        other.unmerge(built["merge"]["id"])


def test_reimport_adds_nothing_and_does_not_relink(mem: Memory) -> None:
    _build(mem)
    lines = _export(mem, user_id="u")
    before = _graph_state(mem)
    report = import_jsonl(mem, lines)
    assert report.imported == 0 and report.skipped_existing > 0
    assert set(report.graph) <= {
        "entities_existing",
        "relations_existing",
        "merges_existing",
    }
    assert _graph_state(mem) == before
    # Into a store that lost the scope's memories: the file's graph, not a re-derived one
    # (re-linking would lose the LLM's "Acme Rockets" and the merge).
    mem.delete_all(user_id="u")
    again = import_jsonl(mem, lines)
    assert again.imported == len([x for x in lines if '"type": "memory"' in x])
    state = _graph_state(mem)
    assert state["relations"] == before["relations"]
    assert state["entities"] == before["entities"]


def test_older_files_without_graph_lines_are_linked_anew(mem: Memory, other: Memory) -> None:
    mem.add(TRANSCRIPT, user_id="u", infer=False, timestamp=T0)
    lines = _export(mem, user_id="u", include_graph=False)
    assert not any('"type": "entity' in line for line in lines)
    report = import_jsonl(other, lines)
    assert report.graph == {}
    triples = {(r["source"], r["relationship"], r["target"]) for r in other.relations(user_id="u")}
    assert ("Caroline", "from", "Sweden") in triples


def test_a_header_saying_graph_means_no_relinking_even_when_empty(mem: Memory) -> None:
    header = {"type": "header", "format": "engramdb-jsonl", "version": 1, "graph": True}
    line = {"type": "memory", "id": "m1", "memory": TRANSCRIPT[0], "user_id": "u"}
    report = import_jsonl(mem, [json.dumps(header), json.dumps(line)])
    assert report.imported == 1 and report.graph == {}
    # The source had no graph rows for it; the import does not invent them.
    assert mem.entities(user_id="u") == []


def test_a_relation_whose_memories_are_missing_is_dropped(mem: Memory, other: Memory) -> None:
    ids = [
        r["id"] for r in mem.add(TRANSCRIPT[:2], user_id="u", infer=False, timestamp=T0)["results"]
    ]
    lines = [
        line
        for line in _export(mem, user_id="u")
        if not (json.loads(line).get("id") == ids[0] and '"type": "memory"' in line)
    ]
    report = import_jsonl(other, lines)
    # Caroline's memory is not in the file: its links and the relation only it states are
    # dropped; the entities stay (an entity line stands on its own).
    assert report.graph["relations_dropped"] == 1 and report.graph["links_dropped"] >= 2
    triples = {(r["source"], r["relationship"], r["target"]) for r in other.relations(user_id="u")}
    assert ("Caroline", "from", "Sweden") not in triples
    assert ("Melanie", "sibling", "Anna") in triples


def _entity_line(**over: Any) -> str:
    base = {
        "type": "entity",
        "id": "e1",
        "name": "Lisbon",
        "norm": "lisbon",
        "kind": "place",
        "user_id": "u",
    }
    return json.dumps({**base, **over})


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (_entity_line(kind="planet"), "entity kind must be one of"),
        (_entity_line(name=""), "entity needs a non-empty 'name'"),
        (_entity_line(user_id=None), "no user_id, agent_id or run_id"),
        (json.dumps({"type": "entity_links", "memory_id": "m1", "links": []}), "non-empty"),
        (
            json.dumps(
                {
                    "type": "entity_links",
                    "memory_id": "m1",
                    "links": [{"entity_id": "nope", "role": "mention"}],
                }
            ),
            "names entity 'nope', which no entity line of the file defines",
        ),
        (
            json.dumps(
                {
                    "type": "relation",
                    "id": "r1",
                    "subject_id": "e1",
                    "predicate": "is",
                    "object_id": "e1",
                    "user_id": "u",
                }
            ),
            "subject_id and object_id must differ",
        ),
        (
            json.dumps(
                {
                    "type": "relation",
                    "id": "r1",
                    "subject_id": "e1",
                    "predicate": "near",
                    "object_id": "e2",
                    "user_id": "u",
                    "valid_at": "yesterday-ish",
                }
            ),
            "valid_at",
        ),
        (
            json.dumps({"type": "entity_merge", "id": "g1", "source_id": "e1"}),
            "entity_merge needs a 'target_id'",
        ),
        (
            json.dumps({"type": "feedback", "id": "f1", "memory_id": "m1", "signal": "meh"}),
            "signal must be one of",
        ),
    ],
)
def test_malformed_graph_lines_name_their_line_and_write_nothing(
    mem: Memory, bad: str, reason: str
) -> None:
    memory_line = json.dumps(
        {"type": "memory", "id": "m1", "memory": "I like Lisbon.", "user_id": "u"}
    )
    lines = [memory_line, _entity_line(), _entity_line(id="e2", name="Porto", norm="porto"), bad]
    with pytest.raises(ImportValidationError) as info:
        import_jsonl(mem, lines)
    errors = info.value.report.invalid
    assert [e.line for e in errors] == [4], errors
    assert reason in errors[0].reason
    assert mem.get("m1") is None and mem.entities(user_id="u") == []


def test_skip_invalid_drops_what_names_a_bad_entity(mem: Memory) -> None:
    lines = [
        json.dumps({"type": "memory", "id": "m1", "memory": "I like Lisbon.", "user_id": "u"}),
        _entity_line(kind="planet"),
        json.dumps(
            {
                "type": "entity_links",
                "memory_id": "m1",
                "links": [{"entity_id": "e1", "role": "mention"}],
            }
        ),
    ]
    report = import_jsonl(mem, lines, skip_invalid=True)
    assert [e.line for e in report.invalid] == [2, 3]
    assert report.imported == 1 and mem.entities(user_id="u") == []


def _shape(mem: Memory, user: str) -> dict[str, Any]:
    """The graph of a scope without ids: names, kinds, counts and triples."""
    return {
        "entities": sorted(
            (e["name"], e["kind"], e["memories"]) for e in mem.entities(user_id=user, limit=500)
        ),
        "relations": sorted(
            (r["source"], r["relationship"], r["target"], r["valid_at"], r["invalid_at"])
            for r in mem.relations(user_id=user, include_invalid=True, limit=500)
        ),
    }


def test_scope_given_to_the_import_applies_to_the_graph(mem: Memory, other: Memory) -> None:
    built = _build(mem)
    lines = _export(mem, user_id="u")
    # Into another store under another user: the same graph, with the file's ids.
    import_jsonl(other, lines, user_id="v")
    assert _shape(other, "v") == _shape(mem, "u") and other.entities(user_id="u") == []
    # Into the store it came from, next to the original: the memories are there already (ids
    # are per store), and the graph rows keep to their own scope.
    report = import_jsonl(other, lines, user_id="w")
    assert report.imported == 0 and other.relations(user_id="w", include_invalid=True) == []
    assert all(e["memories"] == 0 for e in other.entities(user_id="w"))
    assert report.graph["links_dropped"] > 0 and report.graph["entities_dropped"] > 0
    assert _shape(other, "v") == _shape(mem, "u")
    merged = {e["name"]: e["id"] for e in other.entities(user_id="v", limit=500)}
    assert "Bobby" not in merged
    undone = other.unmerge(built["merge"]["id"])
    assert undone["moved_links"] == built["merge"]["moved_links"]


def test_feedback_travels_with_its_memories(mem: Memory, other: Memory) -> None:
    ids = [
        r["id"]
        for r in mem.add(["I like green tea", "I like black coffee"], user_id="u", infer=False)[
            "results"
        ]
    ]
    mem.feedback(ids[0], "useful", query="what should I drink?", note="spot on")
    mem.feedback(ids[1], "wrong")
    lines = _export(mem, user_id="u")
    sent = [json.loads(x) for x in lines if '"type": "feedback"' in x]
    assert {(f["memory_id"], f["signal"], f["query"]) for f in sent} == {
        (ids[0], "useful", "what should I drink?"),
        (ids[1], "wrong", None),
    }
    report = import_jsonl(other, lines)
    assert (report.feedback, report.skipped_feedback) == (2, 0)
    assert [json.loads(x) for x in _export(other, user_id="u") if '"type": "feedback"' in x] == sent
    # The memory's own state (importance, flagged) travels on its line; the query is embedded
    # again, so the judgement still re-ranks searches like the one it was given for.
    assert other.get(ids[1])["status"] == "flagged"  # type: ignore[index]
    scope = Scope(tenant=other.tenant, user_id="u")
    (rowid, _), *_ = other.store.vector_search(
        scope, None, other.embedder.embed(["I like green tea"])[0], 1
    )
    (_, row), *_ = other.store.feedback_for(other.tenant, [rowid])
    assert row.query == "what should I drink?" and row.query_vector is not None
    again = import_jsonl(other, lines)
    assert (again.feedback, again.skipped_feedback) == (0, 2)
