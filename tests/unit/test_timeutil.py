"""Time parsing: every stored time is UTC ISO-8601; naive inputs are UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from engramdb.errors import ValidationError
from engramdb.timeutil import iso, to_datetime, to_iso, utcnow


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-05-08T13:56:00+02:00", datetime(2023, 5, 8, 11, 56, tzinfo=UTC)),
        ("2023-05-08T13:56:00-05:30", datetime(2023, 5, 8, 19, 26, tzinfo=UTC)),
        ("2023-05-08T13:56:00Z", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
        ("2023-05-08T13:56:00z", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
        ("2023-05-08T13:56:00", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
        ("2023-05-08 13:56:00.123456", datetime(2023, 5, 8, 13, 56, 0, 123456, tzinfo=UTC)),
        ("2023-05-08", datetime(2023, 5, 8, tzinfo=UTC)),
        ("  2023-05-08T00:00:00+00:00  ", datetime(2023, 5, 8, tzinfo=UTC)),
    ],
)
def test_iso_strings(value: str, expected: datetime) -> None:
    dt = to_datetime(value)
    assert dt == expected
    assert dt.utcoffset() == timedelta(0)


def test_naive_datetime_is_taken_as_utc() -> None:
    dt = to_datetime(datetime(2024, 1, 2, 3, 4, 5))
    assert dt == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert dt.tzinfo is not None


def test_aware_datetime_is_converted() -> None:
    tz = timezone(timedelta(hours=9))
    dt = to_datetime(datetime(2024, 1, 2, 3, 0, tzinfo=tz))
    assert dt == datetime(2024, 1, 1, 18, 0, tzinfo=UTC)
    assert dt.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1_700_000_000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        (1_700_000_000.5, datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)),
    ],
)
def test_epoch_seconds(value: float, expected: datetime) -> None:
    assert to_datetime(value) == expected


@pytest.mark.parametrize("value", [True, False, None, [2024], b"2024-01-01", {"t": 1}])
def test_wrong_types_are_rejected(value: object) -> None:
    with pytest.raises(ValidationError, match="timestamp"):
        to_datetime(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["yesterday", "", "2024-13-01", "2024-01-01T25:00"])
def test_bad_strings_are_rejected_and_quoted(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        to_datetime(value)
    assert repr(value) in str(info.value)
    assert "ISO-8601" in str(info.value)


@pytest.mark.parametrize("value", [1e20, float("nan"), float("inf"), -1e20])
def test_bad_epochs_are_rejected(value: float) -> None:
    with pytest.raises(ValidationError, match="epoch"):
        to_datetime(value)


def test_field_name_appears_in_errors() -> None:
    with pytest.raises(ValidationError, match="created_at"):
        to_datetime("nope", field="created_at")


def test_iso_is_canonical_utc_with_microseconds() -> None:
    assert iso(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05.000000+00:00"
    tz = timezone(timedelta(hours=-3))
    assert iso(datetime(2024, 1, 2, 3, 4, 5, 7, tzinfo=tz)) == "2024-01-02T06:04:05.000007+00:00"


def test_to_iso_round_trips() -> None:
    s = to_iso("2023-05-08T13:56:00+02:00")
    assert s == "2023-05-08T11:56:00.000000+00:00"
    assert to_iso(s) == s
    assert to_datetime(s) == datetime(2023, 5, 8, 11, 56, tzinfo=UTC)


def test_iso_strings_sort_in_time_order() -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    times = [base + timedelta(microseconds=n * 999_983) for n in range(200)]
    times += [base - timedelta(days=400), base + timedelta(days=4000)]
    strings = [iso(t) for t in times]
    assert sorted(strings) == [iso(t) for t in sorted(times)]
