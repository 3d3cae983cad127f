"""Time intent of queries and time cues in memories (retrieve/temporal.py), pure parts."""

from __future__ import annotations

import pytest

from engramdb.retrieve.temporal import SLACK_DAYS, TimeIntent, has_time_cue, intent


@pytest.mark.parametrize(
    "query",
    [
        "When did Jon open his studio?",
        "how long has Nate had his turtles?",
        "What year did Maria move?",
        "Which month was the wedding?",
        "Since when has she been vegan?",
        "How many years has Tim played?",
        "In what year did he graduate?",
    ],
)
def test_questions_about_time_ask_when(query: str) -> None:
    found = intent(query)
    assert found is not None and found.asks_when and found.window is None


@pytest.mark.parametrize(
    "query", ["What does Jon like to eat?", "Where does Maria live?", "Who is Tim's coach?"]
)
def test_other_questions_are_not_about_time(query: str) -> None:
    assert intent(query) is None


def test_a_named_period_becomes_a_window_stretched_after_its_end() -> None:
    july = intent("Where did Joanna travel to in July 2022?")
    assert july == TimeIntent(
        False,
        ("2022-07-01T00:00:00.000000+00:00", f"2022-08-{1 + SLACK_DAYS:02d}T00:00:00.000000+00:00"),
    )
    day = intent("What movie did Joanna watch on 1 May, 2022?")
    assert day is not None and day.window == (
        "2022-05-01T00:00:00.000000+00:00",
        f"2022-05-{2 + SLACK_DAYS:02d}T00:00:00.000000+00:00",
    )
    year = intent("when did she visit Japan in 2019")
    assert year is not None and year.asks_when
    assert year.window == ("2019-01-01T00:00:00.000000+00:00", "2020-01-08T00:00:00.000000+00:00")
    december = intent("What did they do in December 2023?")
    assert december is not None and december.window is not None
    assert december.window[1].startswith("2024-01-08")


def test_a_month_without_a_year_is_any_years_month() -> None:
    may = intent("Which outdoor spot did Joanna visit in May?")
    assert may == TimeIntent(False, None, 5)
    assert intent("what did we do during early June") == TimeIntent(False, None, 6)
    # A relative phrase has no anchor in a query: it names no window.
    assert intent("what did Tim do last month?") is None


@pytest.mark.parametrize(
    "text",
    [
        "Yesterday I went to a fair",
        "I painted that lake sunrise last year!",
        "I've known these friends for 4 years",
        "We met three weeks ago",
        "I'll be in Seattle next month",
        "It happened on Friday",
        "Back in May we moved",
        "I got him in 2013",
        "We married on 12 June",
        "Seven years now, and I love it",
    ],
)
def test_time_cues(text: str) -> None:
    assert has_time_cue(text)


@pytest.mark.parametrize(
    "text",
    [
        "I love painting landscapes",
        "I may go to the gym",
        "My last attempt failed",
        "The march for rights was huge",
        "I ran 5 km",
    ],
)
def test_no_time_cue(text: str) -> None:
    assert not has_time_cue(text)
