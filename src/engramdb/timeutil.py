"""Time handling: everything stored is UTC ISO-8601; naive inputs are taken as UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from engramdb.errors import ValidationError

TimeInput = datetime | str | int | float


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def to_datetime(value: TimeInput, *, field: str = "timestamp") -> datetime:
    """Parse a datetime, ISO-8601 string or Unix epoch seconds into aware UTC.

    >>> to_datetime("2023-05-08T13:56:00+02:00").isoformat()
    '2023-05-08T11:56:00+00:00'
    """
    if isinstance(value, bool):
        raise ValidationError(f"{field} must be a datetime, ISO-8601 string or epoch seconds")
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, int | float):
        try:
            dt = datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValidationError(f"{field} {value!r} is not a valid epoch time") from exc
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValidationError(f"{field} {value!r} is not an ISO-8601 time") from exc
    else:
        raise ValidationError(
            f"{field} must be a datetime, ISO-8601 string or epoch seconds, "
            f"not {type(value).__name__}"
        )
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """Canonical stored form: UTC with microseconds, so strings sort in time order."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def to_iso(value: TimeInput, *, field: str = "timestamp") -> str:
    """Parse ``value`` and return its canonical stored string."""
    return iso(to_datetime(value, field=field))
