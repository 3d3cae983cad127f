"""The offline extractor: first-person facts, negation, questions, hypotheticals, others."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engramdb.ingest.heuristics import CATEGORIES, extract_facts
from engramdb.ingest.ops import Fact

AT = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)


def slots(text: str, **kw: object) -> set[tuple[str, str | None, str | None]]:
    return {(f.subject, f.attribute, f.value) for f in extract_facts(text, **kw)}  # type: ignore[arg-type]


def one(text: str, **kw: object) -> Fact:
    facts = extract_facts(text, **kw)  # type: ignore[arg-type]
    assert len(facts) == 1, facts
    return facts[0]


def test_residence_is_single_valued() -> None:
    f = one("I live in Berlin.")
    assert (f.attribute, f.value, f.single_valued, f.text) == (
        "residence",
        "Berlin",
        True,
        "Lives in Berlin",
    )
    assert f.subject == "user" and f.source_role == "user" and "location" in f.categories


def test_move_resolves_relative_date_against_message_time() -> None:
    f = one("I moved to Paris last month.", timestamp=AT)
    assert (f.attribute, f.value) == ("residence", "Paris")
    assert f.event_time is not None and (f.event_time.year, f.event_time.month) == (2024, 2)
    assert f.text == "Moved to Paris in February 2024"


def test_relative_date_dropped_from_text_without_timestamp() -> None:
    f = one("I moved to Paris last month.")
    assert f.event_time is None and f.text == "Moved to Paris"


@pytest.mark.parametrize(
    "text",
    [
        "I don't live in Berlin.",
        "I do not work at Google.",
        "I never lived in Paris? No.",
        "It's not true that I live in Berlin.",
        "My mom thinks I live in Berlin.",
    ],
)
def test_negated_or_reported_statements_give_no_positive_fact(text: str) -> None:
    assert not any(f.attribute in ("residence", "employer") for f in extract_facts(text))


def test_ended_facts() -> None:
    assert slots("I don't live in Berlin anymore.") == {("user", "former_residence", "Berlin")}
    assert slots("I no longer work at Google.") == {("user", "former_employer", "Google")}
    assert slots("I used to live in London.") == {("user", "former_residence", "London")}


@pytest.mark.parametrize(
    "text",
    [
        "Do you like pizza?",
        "Where should I live?",
        "Do I have a dog named Rex?",
        "what do you think, should I move to Paris",
        "If I lived in Paris, I'd eat croissants every day.",
        "Imagine I worked at NASA.",
        "I'd love to live in Paris someday.",
        "I think the second option is better.",
        "I like your suggestion.",
        "I'm going to paste my code below.",
        "Thanks, that's helpful!",
        "Write a poem about how I love my cat.",
    ],
)
def test_no_facts_from_questions_hypotheticals_and_chat(text: str) -> None:
    assert extract_facts(text, timestamp=AT) == []


def test_statement_before_a_question_is_kept() -> None:
    assert slots("Since I'm vegan, what should I cook tonight?") == {("user", "diet", "vegan")}


def test_assistant_statements_are_not_user_facts() -> None:
    assert extract_facts("I recommend the pasta. I love jazz.", role="assistant") == []
    assert extract_facts("Since you live in Berlin, try the zoo.", role="assistant") == []
    (f,) = extract_facts("I'm Ava, your assistant.", role="assistant")
    assert (f.subject, f.attribute, f.value, f.source_role) == (
        "assistant",
        "name",
        "Ava",
        "assistant",
    )
    assert extract_facts("I live in Berlin.", role="system") == []


def test_contractions_and_case_variants() -> None:
    assert slots("im 34 and i live in berlin") == {
        ("user", "age", "34"),
        ("user", "residence", "berlin"),
    }
    assert slots("I’m allergic to peanuts") == {("user", "allergy", "peanuts")}
    assert slots("I can't stand horror movies") == {("user", "preference:horror movie", "dislikes")}


def test_pets_are_multi_valued() -> None:
    facts = extract_facts("I have a dog named Rex. We also have two cats, Tom and Jerry.")
    assert {(f.attribute, f.value) for f in facts} == {
        ("pet", "Rex"),
        ("pet", "Tom"),
        ("pet", "Jerry"),
    }
    assert all(not f.single_valued and f.text.startswith("Has a ") for f in facts)


def test_preferences_share_one_slot_per_object() -> None:
    love, hate = extract_facts("I love coffee. I hate coffee.")
    assert love.attribute == hate.attribute == "preference:coffee"
    assert (love.value, hate.value) == ("likes", "dislikes")
    assert love.single_valued and hate.single_valued


def test_favourites_normalise_spelling_and_number() -> None:
    (a,) = extract_facts("My favorite movies are the Matrix films.")
    (b,) = extract_facts("Sushi is my favourite food")
    assert a.attribute == "favourite:movie" and b.attribute == "favourite:food"
    assert b.text == "Favourite food is Sushi"


def test_identity_work_and_education() -> None:
    assert slots("Hi, I'm Sarah and I'm 34 years old.") == {
        ("user", "name", "Sarah"),
        ("user", "age", "34"),
    }
    assert slots("I'm a nurse at St. Mary's Hospital.") == {
        ("user", "job_title", "nurse"),
        ("user", "employer", "St. Mary's Hospital"),
    }
    assert slots("I'm French.") == {("user", "nationality", "French")}
    assert slots("I'm a German teacher.") == {("user", "job_title", "German teacher")}
    assert slots("I'm studying computer science at Georgia Tech.") == {
        ("user", "field_of_study", "computer science"),
        ("user", "school", "Georgia Tech"),
    }


def test_other_people_get_their_own_subject() -> None:
    facts = extract_facts("My sister Anna lives in Rome.")
    assert {(f.subject, f.attribute, f.value) for f in facts} == {
        ("Anna", "residence", "Rome"),
        ("user", "sibling", "Anna"),
    }
    assert "Sister Anna lives in Rome" in [f.text for f in facts]
    (friend,) = extract_facts("My friend loves jazz.")
    assert (friend.subject, friend.attribute, friend.text) == (
        "friend",
        "preference:jazz",
        "Friend loves jazz",
    )


def test_plans_use_future_dates() -> None:
    (f,) = extract_facts("I'm going to visit Japan in April.", timestamp=AT)
    assert (f.attribute, f.value, f.text) == (
        "plan",
        "visit Japan",
        "Plans to visit Japan in April 2024",
    )
    assert f.event_time == datetime(2024, 4, 1, tzinfo=UTC)
    assert "plans" in f.categories and "events" not in f.categories


def test_dated_life_events() -> None:
    (married,) = extract_facts("I got married in 2019.", timestamp=AT)
    assert married.attribute == "relationship_status" and married.value == "married"
    assert married.event_time == datetime(2019, 1, 1, tzinfo=UTC)
    (grad,) = extract_facts("I graduated last year.", timestamp=AT)
    assert grad.event_time == datetime(2023, 1, 1, tzinfo=UTC)


def test_multiple_sentences_and_clauses() -> None:
    got = slots("I'm from Canada but I live in Seattle now. I speak French and German.")
    assert got == {
        ("user", "origin", "Canada"),
        ("user", "residence", "Seattle"),
        ("user", "language", "French"),
        ("user", "language", "German"),
    }


def test_forget_request_is_not_stored_as_a_fact() -> None:
    assert extract_facts("Forget that I live in Berlin.") == []


def test_categories_come_from_the_fixed_list() -> None:
    text = (
        "I live in Oslo. I work at Equinor as a geologist. I have a cat named Pix. "
        "I'm allergic to nuts. I play chess. I'm going to visit Rome next week."
    )
    facts = extract_facts(text, timestamp=AT)
    assert len(facts) >= 6
    assert all(c in CATEGORIES for f in facts for c in f.categories)
