"""The graph on the LLM write path, against the scripted OpenAI server: the one extraction
call carries each fact's entities and relations, and they land with the fact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import open_memory
from tests.contract.test_pipeline_llm import llm_config, system_prompt
from tests.support.scripted_llm import Reply, ScriptedLLM

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder

T0 = "2024-01-01T09:00:00Z"
T1 = "2024-06-15T10:00:00Z"


@pytest.fixture
def m(
    backend: str, tmp_path: Path, embedder: LocalEmbedder, scripted_llm: ScriptedLLM
) -> Iterator[Memory]:
    mem = open_memory(backend, tmp_path, embedder, llm_config(scripted_llm))
    try:
        yield mem
    finally:
        mem.close()


def _triples(m: Memory, **kw: bool) -> set[tuple[str, str, str, bool]]:
    return {
        (r["source"], r["relationship"], r["target"], r["invalid_at"] is None)
        for r in m.relations(user_id="alice", **kw)
    }


def test_one_call_extracts_facts_with_their_entities_and_relations(
    m: Memory, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.push(
        Reply(
            text=json.dumps(
                {
                    "facts": [
                        {
                            "text": "User works at Globex as a designer",
                            "attribute": "employer",
                            "value": "Globex",
                            "single_valued": True,
                            "entities": [
                                {"name": "user", "type": "person"},
                                {"name": "Globex", "type": "organization"},
                            ],
                            "relations": [
                                {"subject": "user", "predicate": "works at", "object": "Globex"}
                            ],
                        },
                        {
                            "text": "User's sister Dana lives in Oslo",
                            "entities": [{"name": "Dana", "type": "person"}],
                        },
                    ],
                    # The older top-level shape: given to the fact that names it.
                    "relations": [{"subject": "Dana", "predicate": "lives_in", "object": "Oslo"}],
                }
            )
        )
    )
    out = m.add("I design at Globex. My sister Dana lives in Oslo.", user_id="alice", timestamp=T0)
    assert len(scripted_llm.requests) == 1
    assert "relations" in system_prompt(scripted_llm.requests[0])
    globex_fact, dana_fact = (r["id"] for r in out["results"])
    kinds = {e["name"]: e["kind"] for e in m.entities(user_id="alice")}
    assert kinds["Globex"] == "organisation" and kinds["Dana"] == "person"
    rels = {(r["source"], r["relationship"], r["target"]): r for r in m.relations(user_id="alice")}
    assert rels["alice", "works_at", "Globex"]["memory_ids"] == [globex_fact]
    assert rels["Dana", "lives_in", "Oslo"]["memory_ids"] == [dana_fact]
    res = m.search("Where does Dana live?", user_id="alice")
    assert ("Dana", "lives_in", "Oslo") in {
        (r["source"], r["relationship"], r["target"]) for r in res["relations"]
    }


def test_superseding_fact_ends_the_old_relation(m: Memory, scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(
        Reply(
            text=json.dumps(
                {
                    "facts": [
                        {
                            "text": "User lives in Berlin",
                            "attribute": "residence",
                            "value": "Berlin",
                            "single_valued": True,
                        }
                    ]
                }
            )
        ),
        Reply(
            text=json.dumps(
                {
                    "facts": [
                        {
                            "text": "User lives in Paris",
                            "op": "SUPERSEDE",
                            "target": 1,
                            "attribute": "residence",
                            "value": "Paris",
                            "single_valued": True,
                            "event_time": "2024-05-01",
                        }
                    ]
                }
            )
        ),
    )
    m.add("I live in Berlin.", user_id="alice", timestamp=T0)
    m.add("I moved to Paris last month.", user_id="alice", timestamp=T1)
    assert len(scripted_llm.requests) == 2
    assert _triples(m) == {("alice", "lives_in", "Paris", True)}
    assert _triples(m, include_invalid=True) == {
        ("alice", "lives_in", "Paris", True),
        ("alice", "lives_in", "Berlin", False),
    }
