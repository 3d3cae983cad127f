"""Date expressions resolve against the message's timestamp, never against today."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from engramdb.text.dates import find_time_expressions, resolve_time

# A Friday in the past, so any accidental use of "now" shows up as a wrong year.
ANCHOR = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)


def day(phrase: str, anchor: datetime = ANCHOR, **kw: str) -> str | None:
    found = resolve_time(phrase, anchor, **kw)  # type: ignore[arg-type]
    return found.date().isoformat() if found else None


def test_yesterday_and_tomorrow_are_relative_to_the_anchor() -> None:
    assert day("I did it yesterday") == "2024-03-14"
    assert day("see you tomorrow") == "2024-03-16"
    assert day("the day before yesterday") == "2024-03-13"


def test_result_is_aware_utc_start_of_period() -> None:
    found = resolve_time("last month", ANCHOR)
    assert found == datetime(2024, 2, 1, tzinfo=UTC)
    assert found is not None and found.tzinfo is UTC


def test_anchor_in_another_zone_is_converted_first() -> None:
    # 01:00 on the 16th in UTC+5 is still the 15th in UTC.
    anchor = datetime(2024, 3, 16, 1, 0, tzinfo=timezone(timedelta(hours=5)))
    assert day("yesterday", anchor) == "2024-03-14"


def test_weeks_months_years() -> None:
    assert day("last week") == "2024-03-04"
    assert day("next week") == "2024-03-18"
    assert day("two years ago") == "2022-01-01"
    assert day("3 days ago") == "2024-03-12"
    assert day("in two weeks") == "2024-03-25"
    assert day("a couple of years ago") == "2022-01-01"
    assert day("next year") == "2025-01-01"


def test_weekdays() -> None:
    assert day("last Friday") == "2024-03-08"
    assert day("next Tuesday") == "2024-03-19"
    assert day("on Monday", prefer="past") == "2024-03-11"
    assert day("on Monday", prefer="future") == "2024-03-18"


def test_month_and_day_without_year_follow_the_tense() -> None:
    assert day("on May 3", prefer="past") == "2023-05-03"
    assert day("on May 3", prefer="future") == "2024-05-03"
    assert day("in May", prefer="future") == "2024-05-01"
    assert day("last May") == "2023-05-01"


def test_absolute_dates() -> None:
    assert day("in 2019") == "2019-01-01"
    assert day("May 3rd, 2021") == "2021-05-03"
    assert day("the 3rd of May 2020") == "2020-05-03"
    assert day("in June 2020") == "2020-06-01"
    assert day("on 2023-11-02") == "2023-11-02"
    assert day("back in the 90s") == "1990-01-01"


def test_seasons() -> None:
    assert day("this summer") == "2024-06-01"
    assert day("last summer") == "2023-06-01"
    assert day("next winter") == "2024-12-01"
    october = datetime(2024, 10, 2, tzinfo=UTC)
    assert day("last summer", october) == "2024-06-01"


def test_weekend() -> None:
    assert day("last weekend") == "2024-03-09"
    assert day("this weekend") == "2024-03-16"


def test_spans_and_descriptions() -> None:
    text = "I moved to Paris last month"
    (expr,) = find_time_expressions(text, ANCHOR)
    assert text[expr.span[0] : expr.span[1]] == "last month"
    assert expr.granularity == "month"
    assert expr.describe() == "in February 2024"
    (since,) = find_time_expressions("I have lived here since 2015", ANCHOR)
    assert since.describe() == "since 2015"


def test_without_anchor_only_absolute_dates_resolve() -> None:
    found = find_time_expressions("last month, and also in 2019", None)
    assert [e.text for e in found] == ["last month", "in 2019"]
    assert found[0].start is None
    assert found[1].start == datetime(2019, 1, 1, tzinfo=UTC)


def test_no_false_dates() -> None:
    assert find_time_expressions("I may go out", ANCHOR) == []
    assert find_time_expressions("I work out on Fridays", ANCHOR) == []
    assert resolve_time("nothing here", ANCHOR) is None
