"""The embedded graph on every store backend: storage with provenance, resolution, merges,
supersession ending relations, delete cleanup, scope isolation, and search's relations."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import open_memory

from engramdb import Memory, ValidationError
from engramdb.embed.base import Vectors
from engramdb.embed.local import LocalEmbedder

T0 = "2024-01-01T09:00:00Z"
T1 = "2024-03-01T09:00:00Z"

TRANSCRIPT = [
    "Caroline: I moved from my home country, Sweden, four years ago.",
    "Melanie: We got a cat named Bailey. My sister Anna lives in New York City.",
    "Caroline: My brother Tom visited NYC last week.",
]


def _add(mem: Memory, texts: list[str], user: str = "u") -> list[str]:
    out = mem.add(texts, user_id=user, infer=False, timestamp=T0)
    return [r["id"] for r in out["results"]]


def _names(mem: Memory, user: str = "u") -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in mem.entities(user_id=user)}


def _triples(rels: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(r["source"], r["relationship"], r["target"]) for r in rels}


def test_entities_and_relations_are_stored_with_provenance(mem: Memory) -> None:
    ids = _add(mem, TRANSCRIPT)
    ents = _names(mem)
    assert ents["Caroline"]["kind"] == "person" and ents["Sweden"]["kind"] == "place"
    # "NYC" resolved to the New York City the scope already knew, within the same write.
    assert ents["New York City"]["memories"] == 2 and "NYC" not in ents
    rels = mem.relations(user_id="u")
    assert {
        ("Caroline", "from", "Sweden"),
        ("Melanie", "pet", "Bailey"),
        ("Melanie", "sibling", "Anna"),
        ("Caroline", "sibling", "Tom"),
    } <= _triples(rels)
    sweden = next(r for r in rels if r["target"] == "Sweden")
    assert sweden["memory_ids"] == [ids[0]]
    assert sweden["valid_at"].startswith("2024-01-01") and sweden["invalid_at"] is None
    # Filtering by entity name (or id) and the dashboard shape.
    assert _triples(mem.relations(user_id="u", entity="caroline")) == {
        ("Caroline", "from", "Sweden"),
        ("Caroline", "sibling", "Tom"),
    }
    g = mem.graph(user_id="u")
    node_ids = {n["id"] for n in g["nodes"]}
    assert {n["name"] for n in g["nodes"]} >= {"Caroline", "Sweden", "Bailey"}
    assert all(e["source_id"] in node_ids and e["target_id"] in node_ids for e in g["edges"])
    assert len(g["edges"]) == len(rels)


def test_search_returns_the_query_entities_relations(mem: Memory) -> None:
    _add(mem, TRANSCRIPT)
    res = mem.search("Where is Caroline from?", user_id="u")
    assert set(res) == {"results", "relations"}
    assert ("Caroline", "from", "Sweden") in _triples(res["relations"])
    assert all(r["source"] == "Caroline" or r["target"] == "Caroline" for r in res["relations"])
    assert TRANSCRIPT[0] in [h["memory"] for h in res["results"]]
    assert mem.search("What is the weather like?", user_id="u")["relations"] == []


def test_graph_channel_pulls_in_memories_of_a_named_entity(
    mem: Memory, open_mem: Callable[..., Memory]
) -> None:
    filler = [f"Note {i}: the garden needs watering and the bins go out." for i in range(30)]
    _add(mem, [*filler, "We got a call from Ravensworth about the invoice."])
    query = "anything from Ravensworth?"
    with_graph = [h["memory"] for h in mem.search(query, user_id="u", limit=3)["results"]]
    assert with_graph[0] == "We got a call from Ravensworth about the invoice."
    vector_only = open_mem({"retrieval": {"use_keyword": False}})
    graph_only = open_mem({"retrieval": {"use_keyword": False, "use_vector": False}})
    hits = graph_only.search(query, user_id="u", limit=3)["results"]
    assert [h["memory"] for h in hits] == ["We got a call from Ravensworth about the invoice."]
    assert vector_only.search(query, user_id="u", limit=1)["results"]
    # Filters apply to the graph channel too.
    none = graph_only.search(query, user_id="u", filters={"memory_type": "procedural"})
    assert none["results"] == []


class CountingEmbedder(LocalEmbedder):
    """The local model, recording the texts of every ``embed`` call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return super().embed(texts)


DANA = [
    *(f"Dana: Thanks, Sam! Talk on day {i}." for i in range(8)),
    "Dana: Ramen with fresh noodles is my favourite dinner.",
]
#: Names Dana, who is on more memories than the candidate budget (5) of ``counted``.
FOOD = "What is Dana's favourite food?"


@pytest.fixture
def counted(backend: str, tmp_path: Path) -> Iterator[tuple[Memory, CountingEmbedder]]:
    """A store of :data:`DANA` searched with a candidate budget of 5, and its embedder."""
    counting = CountingEmbedder()
    mem = open_memory(backend, tmp_path, counting, {"retrieval": {"candidates": 5}})
    _add(mem, DANA)
    counting.calls.clear()
    try:
        yield mem, counting
    finally:
        mem.close()


def test_vector_search_looks_past_a_name_on_most_memories(
    mem: Memory, open_mem: Callable[..., Memory]
) -> None:
    # "Dana" is on more memories than the candidate budget (a broad name), so vector search
    # embeds the query without it; the graph still matches it (weight 0 here, so the order
    # is vector search's alone).
    _add(mem, DANA)
    cfg = {"use_keyword": False, "graph_weight": 0, "candidates": 5}
    topic = open_mem({"retrieval": cfg})
    whole = open_mem({"retrieval": {**cfg, "topic_query": False}})
    hits = topic.search(FOOD, user_id="u", limit=5)["results"]
    as_topic = whole.search("What is favourite food?", user_id="u", limit=5)["results"]
    assert [h["id"] for h in hits] == [h["id"] for h in as_topic]
    assert hits[0]["memory"] == DANA[-1]
    # Similarity is to the query as searched, the same as searching for the topic text.
    assert [h["similarity"] for h in hits] == pytest.approx(
        [h["similarity"] for h in as_topic], abs=1e-5
    )
    full = whole.search(FOOD, user_id="u", limit=9)["results"]
    assert [h["id"] for h in full[:5]] != [h["id"] for h in hits]
    # A threshold reads the same similarities.
    top = hits[0]["similarity"]
    kept = topic.search(FOOD, user_id="u", limit=5, threshold=top - 1e-4)
    assert [h["id"] for h in kept["results"]] == [hits[0]["id"]]
    # A name on few memories is what the query is about: it stays in.
    ramen = whole.search("What did Sam say about ramen?", user_id="u", limit=3)["results"]
    assert ramen == topic.search("What did Sam say about ramen?", user_id="u", limit=3)["results"]


def test_a_search_naming_a_broad_entity_embeds_one_text(
    counted: tuple[Memory, CountingEmbedder],
) -> None:
    mem, counting = counted
    asked = {
        FOOD: "What is favourite food?",
        "What did Sam say about ramen?": "What did Sam say about ramen?",
        # Only the broad name and function words: the whole query is embedded.
        "Who is Dana?": "Who is Dana?",
    }
    for query, text in asked.items():
        counting.calls.clear()
        mem.search(query, user_id="u", limit=5)
        assert counting.calls == [[text]]
    # context() searches the same way; as_of searches embed the whole query.
    counting.calls.clear()
    mem.context(FOOD, user_id="u", limit=5)
    mem.search(FOOD, user_id="u", limit=5, as_of=T1)
    assert counting.calls == [["What is favourite food?"], [FOOD]]
    # With the graph off there are no entities, so the whole query.
    counting.calls.clear()
    off = Memory(config={"retrieval": {"use_graph": False}}, store=mem.store, embedder=counting)
    off.search(FOOD, user_id="u", limit=5)
    off.close()
    assert counting.calls == [[FOOD]]


def test_feedback_on_a_query_naming_a_broad_entity_reranks_that_query(
    counted: tuple[Memory, CountingEmbedder],
) -> None:
    mem, counting = counted
    before = mem.search(FOOD, user_id="u", limit=5)["results"]
    assert before[0]["memory"] == DANA[-1]
    second = before[1]
    counting.calls.clear()
    mem.feedback(second["id"], "useful", query=FOOD)
    # Embedded as the search embeds it...
    assert counting.calls == [["What is favourite food?"]]
    after = {h["id"]: h["score"] for h in mem.search(FOOD, user_id="u", limit=5)["results"]}
    # ...so the judgement counts in full: cosine 1, a factor e (retrieve/feedback.py: every
    # score first gains 0.1 of the top one; reported scores are scaled to the best).
    lifted = (second["score"] + 0.1) * math.e
    assert lifted > 1.1 and next(iter(after)) == second["id"]
    assert after[before[0]["id"]] == pytest.approx(1.1 / lifted, abs=1e-4)


def test_supersede_ends_the_relations_of_the_old_memory(mem: Memory) -> None:
    mem.add("I live in Berlin.", user_id="alice", timestamp=T0)
    out = mem.add("I moved to Paris last month.", user_id="alice", timestamp=T1)
    assert out["results"][0]["event"] == "SUPERSEDE"
    current = _triples(mem.relations(user_id="alice"))
    assert ("alice", "lives_in", "Paris") in current
    assert ("alice", "lives_in", "Berlin") not in current
    everything = mem.relations(user_id="alice", include_invalid=True)
    berlin = next(r for r in everything if r["target"] == "Berlin")
    assert berlin["invalid_at"] is not None and berlin["invalid_at"] <= T1.replace("Z", "")


def test_update_relinks_and_delete_cleans_up(mem: Memory) -> None:
    ids = _add(mem, TRANSCRIPT)
    mem.update(ids[0], "Caroline: I moved from Norway.")
    assert "Sweden" not in _names(mem)
    assert ("Caroline", "from", "Norway") in _triples(mem.relations(user_id="u"))
    mem.delete(ids[1])
    names = _names(mem)
    assert "Bailey" not in names and "Anna" not in names and "Melanie" not in names
    assert "New York City" in names  # still named by the third memory
    mem.delete_all(user_id="u")
    assert mem.entities(user_id="u") == []
    assert mem.relations(user_id="u", include_invalid=True) == []
    assert mem.graph(user_id="u") == {"nodes": [], "edges": []}
    assert mem.search("Caroline Sweden", user_id="u") == {"results": [], "relations": []}


def test_merge_and_unmerge_are_recorded_and_reversible(mem: Memory) -> None:
    _add(mem, ["Jo: Bob Smith fixed the roof.", "Jo: and then Bobby helped me paint the fence."])
    ents = _names(mem)
    bob, bobby = ents["Bob Smith"]["id"], ents["Bobby"]["id"]
    record = mem.merge_entities(bobby, bob)
    assert record["source_id"] == bobby and record["target_id"] == bob
    assert len(record["moved_links"]) == 1 and record["undone_at"] is None
    after = _names(mem)
    assert "Bobby" not in after and after["Bob Smith"]["memories"] == 2
    # The merged name now finds the target.
    assert mem.relations(user_id="u", entity="Bobby") == mem.relations(user_id="u", entity=bob)
    undone = mem.unmerge(record["id"])
    assert undone["undone_at"] is not None
    again = _names(mem)
    assert again["Bobby"]["memories"] == 1 and again["Bob Smith"]["memories"] == 1
    with pytest.raises(ValidationError, match="already undone"):
        mem.unmerge(record["id"])


def test_bad_merges_raise_and_change_nothing(mem: Memory) -> None:
    _add(mem, ["Jo: Bob Smith fixed the roof.", "Jo: and then Bobby helped me paint the fence."])
    _add(mem, ["Kim: my cousin is Bobby."], user="other")
    before = (mem.entities(user_id="u"), mem.relations(user_id="u"))
    ents = _names(mem)
    other = _names(mem, "other")["Bobby"]["id"]
    with pytest.raises(ValidationError, match="itself"):
        mem.merge_entities(ents["Bobby"]["id"], ents["Bobby"]["id"])
    with pytest.raises(ValidationError, match="not an entity"):
        mem.merge_entities("nope", ents["Bobby"]["id"])
    with pytest.raises(ValidationError, match="different scopes"):
        mem.merge_entities(other, ents["Bobby"]["id"])
    with pytest.raises(ValidationError, match="source_id"):
        mem.merge_entities("", ents["Bobby"]["id"])
    with pytest.raises(ValidationError, match="no entity merge"):
        mem.unmerge("missing")
    with pytest.raises(ValidationError, match="entity"):
        mem.relations(user_id="u", entity="  ")
    assert (mem.entities(user_id="u"), mem.relations(user_id="u")) == before


def test_users_and_tenants_never_see_each_others_graph(mem: Memory) -> None:
    _add(mem, TRANSCRIPT, user="u")
    _add(mem, ["Zed: I moved from Portugal."], user="v")
    other_tenant = mem.for_tenant("acme")
    other_tenant.add("Caroline: I moved from Chile.", user_id="u", infer=False)
    assert "Portugal" not in _names(mem, "u") and "Sweden" not in _names(mem, "v")
    assert "Chile" not in _names(mem, "u") and "Sweden" not in _names(other_tenant, "u")
    res = mem.search("Where did Caroline and Zed move from?", user_id="u")
    targets = {r["target"] for r in res["relations"]}
    assert "Sweden" in targets and not targets & {"Portugal", "Chile"}
    res = other_tenant.search("Where is Caroline from?", user_id="u")
    assert _triples(res["relations"]) == {("Caroline", "from", "Chile")}
    # Another tenant cannot merge (or even see) this tenant's entities.
    caroline = _names(mem, "u")["Caroline"]["id"]
    chile = _names(other_tenant, "u")["Chile"]["id"]
    with pytest.raises(ValidationError, match="not an entity"):
        other_tenant.merge_entities(chile, caroline)
    other_tenant.reset()
    assert other_tenant.entities(user_id="u") == [] and "Caroline" in _names(mem, "u")


def test_graph_reads_need_a_scope(mem: Memory) -> None:
    with pytest.raises(ValidationError):
        mem.entities()
    with pytest.raises(ValidationError):
        mem.relations()
    with pytest.raises(ValidationError):
        mem.graph(limit=0, user_id="u")


def test_imported_memories_are_linked_into_the_graph(mem: Memory) -> None:
    import io

    from engramdb.transfer import export_jsonl, import_jsonl

    _add(mem, TRANSCRIPT)
    buf = io.StringIO()
    export_jsonl(mem, buf, user_id="u")
    before = _triples(mem.relations(user_id="u"))
    mem.delete_all(user_id="u")
    assert mem.relations(user_id="u") == []
    report = import_jsonl(mem, buf.getvalue().splitlines())
    assert report.imported == len(TRANSCRIPT)
    assert _triples(mem.relations(user_id="u")) == before and before


def test_similar_names_merge_only_above_the_guarded_threshold(
    mem: Memory, open_mem: Callable[..., Memory]
) -> None:
    _add(mem, ["Jo: we drove to Lake Tahoe and met John Smith there."])
    _add(mem, ["Jo: we hiked around the Lake Tahoe Area, then went to Lake Como with John."])
    names = _names(mem)
    # "Lake Tahoe Area" is the Lake Tahoe the scope knows (cosine 0.95, same first word).
    assert "Lake Tahoe Area" not in names and names["Lake Tahoe"]["memories"] == 2
    # Sharing a first word is not enough: these stay apart.
    assert names["Lake Como"]["memories"] == 1
    assert names["John"]["memories"] == 1 and names["John Smith"]["memories"] == 1
    graph_only = open_mem({"retrieval": {"use_keyword": False, "use_vector": False}})
    hits = graph_only.search("the Lake Tahoe Area", user_id="u")["results"]
    assert len(hits) == 2


def test_an_acronym_said_with_its_name_is_the_same_entity(mem: Memory) -> None:
    _add(mem, ["Jo: I interned at the New York Stock Exchange (NYSE) and loved NYSE."])
    names = _names(mem)
    assert "NYSE" not in names and names["New York Stock Exchange"]["memories"] == 1
    _add(mem, ["Jo: NYSE called me back."])
    assert _names(mem)["New York Stock Exchange"]["memories"] == 2


def test_graph_reads_of_search_follow_merges_filters_and_scope(mem: Memory) -> None:
    # The reads the graph channel makes per search, checked against what they mean: they
    # are written for speed (one round trip, index-first plans), so their answers are pinned.
    from engramdb.filters import parse
    from engramdb.models import Scope

    for i, text in enumerate(
        [
            "Jo: Bob Smith fixed the roof.",
            "Jo: and then Bobby helped me paint the fence.",
            "Jo: Bob Smith lives in Oslo.",
        ]
    ):
        mem.add(text, user_id="u", infer=False, timestamp=T0, metadata={"n": i})
    _add(mem, ["Kim: Bob Smith lives in Oslo."], user="v")
    ents = _names(mem)
    bob, bobby, oslo = ents["Bob Smith"]["id"], ents["Bobby"]["id"], ents["Oslo"]["id"]
    mem.merge_entities(bobby, bob)
    scope = Scope(user_id="u", tenant=mem.tenant)
    store = mem.store
    # A merged name finds its target, with the target's own link count (capped at cap + 1).
    assert store.graph_lookup(scope, ["bobby"], 50) == [(bob, "bobby", 3)]
    assert sorted(store.graph_lookup(scope, ["bob smith", "oslo"], 1)) == sorted(
        [(bob, "bob smith", 2), (oslo, "oslo", 1)]
    )
    # Links: active memories of this scope only, narrowed by filters and by ``within``.
    links = store.graph_links(scope, None, [bob])
    assert len(links) == 3 and {role for _, _, role in links} <= {"subject", "mention"}
    only_first = store.graph_links(scope, parse({"n": 0}), [bob])
    assert [e for e, _, _ in only_first] == [bob] and len(only_first) == 1
    rowid = links[0][1]
    assert [r for _, r, _ in store.graph_links(scope, None, [bob], [rowid])] == [rowid]
    # A relation with both ends among the ids is returned once, and only this user's.
    rels = store.graph_relations(scope, [bob, oslo])
    assert [(r.source, r.predicate, r.target) for r in rels] == [("Bob Smith", "lives_in", "Oslo")]
    pairs = store.graph_neighbours(scope, [bob, oslo], 50)
    assert sorted((s, d) for s, d, _ in pairs) == sorted([(bob, oslo), (oslo, bob)])
