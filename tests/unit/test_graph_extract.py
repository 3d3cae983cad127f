"""Deterministic entity/relation extraction, normalisation, aliases and query matching."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from engramdb.graph.entities import extract, query_dates
from engramdb.graph.links import for_memory, hint_for
from engramdb.graph.resolve import acronym_of, alias_target, initials, normalise, similar
from engramdb.graph.retrieve import QueryEntities, query_norms, topic
from engramdb.models import Scope

T = datetime(2023, 5, 8, 13, 0, tzinfo=UTC)


def names(text: str, **kw: object) -> list[tuple[str, str]]:
    return [(e.name, e.kind) for e in extract(text, **kw).entities]  # type: ignore[arg-type]


def triples(text: str, **kw: object) -> list[tuple[str, str, str]]:
    out = extract(text, **kw)  # type: ignore[arg-type]
    return [(r.subject.norm, r.predicate, r.object.norm) for r in out.relations]


def test_normalise_folds_case_accents_possessives_articles_and_space() -> None:
    assert normalise("  The Louvre's ") == "louvre"
    assert normalise("São  Paulo") == "sao paulo"
    assert normalise("LGBTQ+") == "lgbtq"
    assert normalise("Caroline’s") == "caroline"
    assert normalise("...") == ""


def test_speaker_label_is_a_person_and_the_subject() -> None:
    out = extract("Caroline: I moved from my home country, Sweden, 4 years ago.", said_at=T)
    assert [(e.name, e.kind) for e in out.entities][:2] == [
        ("Caroline", "person"),
        ("Sweden", "place"),
    ]
    assert "caroline" in out.subjects
    assert ("caroline", "from", "sweden") in triples(
        "Caroline: I moved from my home country, Sweden, 4 years ago."
    )
    # The relative date is resolved against when it was said.
    assert "2019" in [e.norm for e in out.entities]


def test_multiword_names_and_kinds_from_context() -> None:
    got = names("We flew to New York City and Tom works at Bank of America now.")
    assert ("New York City", "place") in got
    assert ("Bank of America", "organisation") in got
    assert ("Tom", "person") in got
    assert triples("Yesterday Tom works at Bank of America.") == [
        ("tom", "works_at", "bank of america")
    ]


def test_names_ending_in_a_kind_word_say_what_they_are() -> None:
    got = dict(names("I visited Stanford University and Golden Gate Park."))
    assert got["Stanford University"] == "organisation"
    assert got["Golden Gate Park"] == "place"


def test_vocatives_and_sentence_openers_are_not_entities() -> None:
    assert names("Melanie: Wow, Caroline! That's great!") == [("Melanie", "person")]
    assert names("Thanks, Mel. Painting is fun. Yeah, Caroline, I agree.") == []
    assert [n for n, _ in names("Hey Caroline, hope all's good!")] == []
    # A sentence-opening possessive is a name; a mid-sentence name is one too.
    assert [n for n, _ in names("Caroline's painting is great.")] == ["Caroline"]
    assert [n for n, _ in names("I went hiking with Caroline.")] == ["Caroline"]


def test_first_person_relations_need_a_speaker_or_a_self_name() -> None:
    assert triples("I moved to Lisbon last year.") == []
    assert triples("I moved to Lisbon last year.", self_name="ana") == [
        ("ana", "lives_in", "lisbon")
    ]
    assert triples("Jo: my sister Anna and a cat named Luna.") == [
        ("jo", "sibling", "anna"),
        ("jo", "pet", "luna"),
    ]


def test_relations_make_their_subject_the_memory_subject() -> None:
    g = for_memory("m1", "I moved to Lisbon.", Scope(user_id="ana"), at="2024-01-01T00:00:00Z")
    by_norm = {e.norm: e for e in g.entities}
    assert by_norm["ana"].subject and not by_norm["lisbon"].subject


def test_hint_adds_llm_entities_relations_and_slot_relations() -> None:
    hint = hint_for(
        "user",
        "residence",
        "Lisbon",
        entities=[("Acme", "organization")],
        relations=[("user", "works at", "Acme")],
    )
    g = for_memory(
        "m1", "User works remotely.", Scope(user_id="ana"), at="2024-01-01T00:00:00Z", hint=hint
    )
    kinds = {e.norm: e.kind for e in g.entities}
    assert kinds["acme"] == "organisation" and kinds["lisbon"] == "place"
    rels = {(r.subject.norm, r.predicate, r.object.norm) for r in g.relations}
    assert rels == {("ana", "works_at", "acme"), ("ana", "lives_in", "lisbon")}


def test_aliases_and_acronyms() -> None:
    assert alias_target("nyc", lambda n: n == "new york city") == "new york city"
    assert alias_target("nyc", lambda n: False) is None
    assert initials("new york city") == "nyc"
    assert acronym_of("nyc", ["new york city", "nice"]) == "new york city"
    # Ambiguous or implausible acronyms are left alone.
    assert acronym_of("nyc", ["new york city", "new young company"]) is None
    assert acronym_of("x", ["xylophone"]) is None


def test_similarity_is_guarded_by_a_threshold() -> None:
    name = np.array([1.0, 0.0], dtype=np.float32)
    cands = np.array([[0.6, 0.8], [0.95, 0.312]], dtype=np.float32)
    assert similar(name, cands) == 1
    assert similar(name, cands, threshold=0.99) is None
    assert similar(name, np.zeros((0, 2), dtype=np.float32)) is None


def test_query_norms_skip_function_words_and_add_aliases_and_dates() -> None:
    assert query_norms("Where did Caroline move from?") == ["caroline", "caroline move", "move"]
    assert "new york city" in query_norms("what did she do in NYC")
    assert "2023-05" in query_norms("What happened in May 2023?")
    assert query_dates("in May 2023") == ["2023-05"]


def test_topic_drops_only_broad_names_and_keeps_a_query_with_content() -> None:
    broad = QueryEntities({"m": ("melanie", 51), "s": ("sweden", 3), "n": ("new york city", 90)})
    assert topic("What do Melanie's kids like?", broad, 50) == "What do kids like?"
    # A specific entity stays: it is what the query is about.
    assert topic("Did Melanie visit Sweden?", broad, 50) == "Did visit Sweden?"
    # Longest names go whole; nothing but function words left means no change.
    assert topic("What did she eat in New York City?", broad, 50) == "What did she eat in?"
    assert topic("Who is Melanie?", broad, 50) == "Who is Melanie?"
    assert topic("Where is Lisbon?", broad, 50) == "Where is Lisbon?"
    assert topic("What do Melanie's kids like?", broad, 60) == "What do Melanie's kids like?"
