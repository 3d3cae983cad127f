"""The offline reconciler: ADD, SUPERSEDE, NONE for duplicates, DELETE only on request."""

from __future__ import annotations

from datetime import UTC, datetime

from engramdb.ingest.forget import ForgetRequest, extract_forget_requests
from engramdb.ingest.heuristics import extract_facts
from engramdb.ingest.ops import Existing, Fact
from engramdb.ingest.reconcile_offline import reconcile


def fact(text: str) -> Fact:
    (f,) = extract_facts(text)
    return f


def stored(ref: int, f: Fact, **kw: object) -> Existing:
    return Existing(ref, f.text, f.attribute, f.subject, **kw)  # type: ignore[arg-type]


def ops(decisions: list) -> list[tuple[str, int | None]]:  # type: ignore[type-arg]
    return [(d.op, d.target) for d in decisions]


def test_new_fact_is_added() -> None:
    assert ops(reconcile([fact("I live in Berlin.")], [])) == [("ADD", None)]


def test_new_value_for_single_valued_slot_supersedes() -> None:
    old = stored(1, fact("I live in Berlin."))
    (d,) = reconcile([fact("I moved to Paris.")], [old])
    assert (d.op, d.target) == ("SUPERSEDE", 1)
    assert d.fact is not None and d.fact.value == "Paris"


def test_supersede_targets_the_newest_memory_of_the_slot() -> None:
    a = stored(1, fact("I live in Berlin."), created_at=datetime(2020, 1, 1, tzinfo=UTC))
    b = stored(2, fact("I live in Munich."), created_at=datetime(2023, 1, 1, tzinfo=UTC))
    assert ops(reconcile([fact("I live in Paris.")], [b, a])) == [("SUPERSEDE", 2)]


def test_same_value_is_none_never_delete() -> None:
    old = stored(4, fact("I live in Berlin."))
    decisions = reconcile([fact("I live in Berlin")], [old])
    assert ops(decisions) == [("NONE", 4)]
    moved = reconcile([fact("I moved to Berlin.")], [old])
    assert ops(moved) == [("NONE", 4)]


def test_exact_duplicate_text_without_attribute_is_none() -> None:
    old = Existing(7, "Lives in Berlin")
    assert ops(reconcile([fact("I live in Berlin.")], [old])) == [("NONE", 7)]


def test_second_pet_is_added_even_if_texts_look_alike() -> None:
    rex = stored(1, fact("I have a dog named Rex."))
    max_ = fact("I have a dog named Max.")
    assert ops(reconcile([max_], [rex])) == [("ADD", None)]
    # Even with a similarity function that calls everything a near duplicate.
    assert ops(reconcile([max_], [Existing(2, rex.text)], similar=lambda a, b: 0.99)) == [
        ("ADD", None)
    ]


def test_preference_flip_supersedes() -> None:
    old = stored(3, fact("I love coffee."))
    assert ops(reconcile([fact("I hate coffee.")], [old])) == [("SUPERSEDE", 3)]
    assert ops(reconcile([fact("I like coffee.")], [old])) == [("NONE", 3)]
    assert ops(reconcile([fact("I hate tea.")], [old])) == [("ADD", None)]


def test_other_subjects_do_not_supersede_the_user() -> None:
    mine = stored(1, fact("I live in Berlin."))
    (sister,) = [f for f in extract_facts("My sister Anna lives in Rome.") if f.subject == "Anna"]
    assert ops(reconcile([sister], [mine])) == [("ADD", None)]


def test_ended_fact_supersedes_matching_current_memory_only() -> None:
    berlin = stored(1, fact("I live in Berlin."))
    ended = fact("I don't live in Berlin anymore.")
    assert ops(reconcile([ended], [berlin])) == [("SUPERSEDE", 1)]
    paris = stored(2, fact("I live in Paris."))
    assert ops(reconcile([ended], [paris])) == [("ADD", None)]


def test_later_fact_in_same_batch_wins() -> None:
    facts = extract_facts("I live in Berlin. Actually I just moved to Paris.")
    decisions = reconcile(facts, [])
    assert [d.op for d in decisions] == ["NONE", "ADD"]
    assert decisions[1].fact is not None and decisions[1].fact.value == "Paris"


def test_forget_request_deletes_only_the_named_memory() -> None:
    berlin = stored(1, fact("I live in Berlin."))
    dog = stored(2, fact("I have a dog named Rex."))
    requests = extract_forget_requests("Please forget that I live in Berlin.")
    assert requests == [ForgetRequest("I live in Berlin", "user", "residence", "Berlin")]
    decisions = reconcile([], [berlin, dog], forget=requests)
    assert ops(decisions) == [("DELETE", 1)]


def test_forget_by_slot_name() -> None:
    berlin = stored(1, fact("I live in Berlin."))
    (req,) = extract_forget_requests("please forget my address")
    assert (req.attribute, req.value) == ("residence", None)
    assert ops(reconcile([], [berlin], forget=[req])) == [("DELETE", 1)]


def test_forget_free_text_matches_by_overlap() -> None:
    notes = [Existing(1, "Is training for the Berlin marathon"), Existing(2, "Likes jazz")]
    (req,) = extract_forget_requests("Can you forget about the Berlin marathon training?")
    assert ops(reconcile([], notes, forget=[req])) == [("DELETE", 1)]


def test_idioms_and_assistant_are_not_forget_requests() -> None:
    assert extract_forget_requests("Oh forget it, never mind.") == []
    assert extract_forget_requests("Forget that I live in Berlin.", role="assistant") == []
    assert extract_forget_requests("I live in Berlin.") == []


def test_no_forget_no_delete() -> None:
    old = [stored(1, fact("I live in Berlin.")), Existing(2, "Lives in Berlin")]
    assert all(d.op != "DELETE" for d in reconcile([fact("I live in Berlin.")], old))
