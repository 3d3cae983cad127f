"""The offline extractor's general patterns: subject-less fragments, carried subjects,
fans and supporters, jobs named by activity, name pronouns, "anymore", value trimming and
living-with. Each pattern has its negatives: questions, hypotheticals, imperatives,
generic statements and other people's facts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engramdb.ingest.fragments import resolve_name_pronouns, restore_subject, split_clauses
from engramdb.ingest.heuristics import extract_facts

AT = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)
Slot = tuple[str, str | None, str | None]


def slots(text: str) -> set[Slot]:
    return {(f.subject, f.attribute, f.value) for f in extract_facts(text, timestamp=AT)}


# --- subject-less fragments ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Not a big fan of cilantro tbh", {("user", "preference:cilantro", "dislikes")}),
        ("Just moved to Denver last month", {("user", "residence", "Denver")}),
        (
            "Originally from Kerala, now living in Pune.",
            {
                ("user", "origin", "Kerala"),
                ("user", "residence", "Pune"),
            },
        ),
        (
            "Love hiking and hate running",
            {
                ("user", "preference:hiking", "likes"),
                ("user", "preference:running", "dislikes"),
            },
        ),
        ("lol allergic to cats, unfortunately", {("user", "allergy", "cats")}),
        (
            "Married, two kids.",
            {("user", "relationship_status", "married"), ("user", "children", "2")},
        ),
        ("Moved to Denver last month, any tips?", {("user", "residence", "Denver")}),
    ],
)
def test_fragments_get_a_first_person_subject(text: str, want: set[Slot]) -> None:
    assert slots(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "Living in a big city has pros and cons.",
        "Learning Rust is hard.",
        "Married couples often argue about money.",
        "Vegan recipes please.",
        "Live in the moment!",
        "Do not eat the last cookie",
        "Have a nice day!",
        "Got it, thanks.",
        "Not sure that's right.",
        "Big fan of this approach!",
        "Love this, thanks!",
        "Hate to bother you, can you check this?",
        "From what I understand, it's fine.",
        "Moved to Denver?",
        "Retired people get discounts there.",
    ],
)
def test_imperatives_and_generic_statements_are_not_fragments(text: str) -> None:
    assert extract_facts(text, timestamp=AT) == []


def test_restore_subject_leaves_full_sentences_and_questions_alone() -> None:
    assert restore_subject("I live in Berlin") == "I live in Berlin"
    assert restore_subject("Just moved here?") == "Just moved here?"
    assert restore_subject("lol just moved here") == "lol I just moved here"
    assert restore_subject("Originally from Kerala") == "I am originally from Kerala"


# --- clauses sharing a subject -----------------------------------------------------------


def test_and_but_and_commas_carry_the_subject() -> None:
    assert split_clauses("I am 41 and just took up surfing") == [
        "I am 41",
        "I just took up surfing",
    ]
    assert split_clauses("I am 34, married, two kids") == [
        "I am 34",
        "I am married",
        "I have two kids",
    ]
    assert split_clauses("My husband Raj is a chef and loves cooking") == [
        "My husband Raj is a chef",
        "My husband Raj loves cooking",
    ]
    # Lists of objects stay whole.
    assert split_clauses("I love jazz and live music") == ["I love jazz and live music"]
    assert split_clauses("I speak French and German") == ["I speak French and German"]


def test_carried_subjects_in_facts() -> None:
    assert slots("I'm 41 and just took up surfing.") == {
        ("user", "age", "41"),
        ("user", "hobby", "surfing"),
    }
    assert slots("I'm gluten-free, celiac actually.") == {
        ("user", "diet", "gluten-free"),
        ("user", "condition", "celiac"),
    }
    assert slots("My brother Sam is a dentist and he lives in Toronto") == {
        ("user", "sibling", "Sam"),
        ("Sam", "job_title", "dentist"),
        ("Sam", "residence", "Toronto"),
    }


def test_carried_subject_never_crosses_people() -> None:
    # "she" cannot stand for a brother; the second clause is someone else's.
    assert ("Sam", "residence", "Boston") not in slots(
        "My brother Sam is a nurse and she lives in Boston"
    )
    assert slots("My wife is a teacher and I am an engineer.") == {
        ("wife", "job_title", "teacher"),
        ("user", "job_title", "engineer"),
    }
    assert slots("My dad doesn't like jazz and hates rock.") == {
        ("dad", "preference:jazz", "dislikes"),
        ("dad", "preference:rock", "dislikes"),
    }


# --- fans and supporters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("I'm a huge Arsenal fan.", {("user", "preference:arsenal", "likes")}),
        ("I am a die-hard Celtics supporter", {("user", "preference:celtics", "likes")}),
        ("I support Arsenal.", {("user", "preference:arsenal", "likes")}),
        ("I'm not a big Yankees fan", {("user", "preference:yankees", "dislikes")}),
        (
            "My daughter is a huge Taylor Swift fan.",
            {("daughter", "preference:taylor swift", "likes")},
        ),
    ],
)
def test_fans_and_supporters(text: str, want: set[Slot]) -> None:
    assert slots(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "Are you a Yankees fan?",
        "If I were a Celtics fan I'd be sad.",
        "Write a story where I'm a huge Lakers fan.",
        "I'm a huge fan.",
        "I'm a fan.",
        "I support the idea.",
        "I support my family.",
        "I used to be a huge Arsenal fan",
    ],
)
def test_fan_negatives(text: str) -> None:
    assert not any(
        f.attribute and f.attribute.startswith("preference:") and f.subject == "user"
        for f in extract_facts(text, timestamp=AT)
    )


# --- jobs named by what people do --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("I teach third grade in Ohio.", {("user", "job_title", "third grade teacher")}),
        ("I teach piano lessons on weekends", {("user", "job_title", "piano teacher")}),
        (
            "I teach math at Lincoln High School.",
            {
                ("user", "job_title", "math teacher"),
                ("user", "employer", "Lincoln High School"),
            },
        ),
        ("My mom teaches English in Japan.", {("mom", "job_title", "English teacher")}),
        ("I code for a living.", {("user", "job_title", "programmer")}),
    ],
)
def test_jobs_from_activities(text: str, want: set[Slot]) -> None:
    assert slots(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "I teach my son to swim.",
        "I teach myself guitar.",
        "Can you teach me Python?",
        "I would teach English if I could.",
        "I don't teach anymore.",
        "If I taught math, I'd be strict.",
    ],
)
def test_job_activity_negatives(text: str) -> None:
    assert not any(f.attribute == "job_title" for f in extract_facts(text, timestamp=AT))


# --- his/her/its name ----------------------------------------------------------------------


def test_name_pronoun_resolves_to_the_speakers_pet_or_relative() -> None:
    assert slots("We got a puppy last week! His name is Waffles.") == {("user", "pet", "Waffles")}
    assert slots("We adopted a kitten, her name is Luna") == {("user", "pet", "Luna")}
    assert slots("I have a sister. Her name is Anna.") == {("user", "sibling", "Anna")}
    assert resolve_name_pronouns("Our dog is lazy. Its name is Rex.") == (
        "Our dog is lazy. My dog's name is Rex."
    )


@pytest.mark.parametrize(
    "text",
    [
        "I saw a dog at the park. His name is Rex.",
        "My sister got a dog. Its name is Rex.",
        "I have a brother. Her name is Anna.",
        "I met a guy at the bar. His name is Tom.",
        "Its name is Rex.",
    ],
)
def test_name_pronoun_negatives(text: str) -> None:
    assert not any(
        f.subject == "user" and f.attribute in ("pet", "sibling") for f in extract_facts(text)
    )


# --- anymore / no longer / quitting ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("I don't really drink alcohol anymore.", {("user", "dietary_restriction", "alcohol")}),
        ("I no longer eat meat.", {("user", "dietary_restriction", "meat")}),
        ("I stopped eating red meat last year.", {("user", "dietary_restriction", "red meat")}),
        ("I quit smoking two years ago.", {("user", "event", "quit smoking")}),
        ("I gave up drinking last year", {("user", "event", "quit drinking")}),
        ("I don't like sushi anymore", {("user", "preference:sushi", "dislikes")}),
    ],
)
def test_ended_habits_are_facts(text: str, want: set[Slot]) -> None:
    assert slots(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "I stopped caring.",
        "I quit going to church when I was 16",
        "Should I quit smoking?",
        "If I gave up coffee I'd be grumpy.",
        "I'm not vegetarian, I just don't like meat much.",
        "I don't eat the skin.",
        "I love coffee but I don't drink much of it.",
    ],
)
def test_ended_habit_negatives(text: str) -> None:
    facts = extract_facts(text, timestamp=AT)
    assert not any(
        f.attribute in ("event", "dietary_restriction") or f.value == "dislikes" for f in facts
    )


# --- value trimming and living-with ------------------------------------------------------------


def test_values_stop_at_place_phrases() -> None:
    assert slots("My brother Tom works as a firefighter in Chicago.") == {
        ("user", "sibling", "Tom"),
        ("Tom", "job_title", "firefighter"),
    }
    assert slots("I work at a small design agency in Brooklyn as a UX designer.") == {
        ("user", "employer", "a small design agency"),
        ("user", "job_title", "UX designer"),
    }
    # A place that is part of how the organisation is named stays.
    assert slots("I work remotely for a company based in Toronto.") == {
        ("user", "employer", "a company based in Toronto")
    }
    assert slots("I'm a photographer based in Bristol") == {
        ("user", "job_title", "photographer"),
        ("user", "residence", "Bristol"),
    }


def test_living_with_someone_somewhere() -> None:
    assert slots("I live with my girlfriend Maya in a flat in Leeds.") == {
        ("user", "partner", "Maya"),
        ("user", "residence", "Leeds"),
    }
    assert slots("I live in a small town in Ohio.") == {
        ("user", "residence", "a small town in Ohio")
    }
    assert slots("I live with my parents.") == set()
    for text in (
        "Do you live with your parents in Leeds?",
        "If I lived with my sister in Rome I'd be happy.",
        "My friend lives with her boyfriend in Paris",
    ):
        assert not any(
            f.subject == "user" and f.attribute == "residence" for f in extract_facts(text)
        )


def test_values_do_not_swallow_hedges_or_new_predicates() -> None:
    assert slots("Not into sports at all.") == {("user", "preference:sport", "dislikes")}
    assert slots("My son loves dinosaurs and wants to be a vet.") == {
        ("son", "preference:dinosaur", "likes")
    }
    assert slots("Studying for finals, wish me luck.") == set()
