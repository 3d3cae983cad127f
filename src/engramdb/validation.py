"""Argument checks shared by the facade, the server and the CLI. Each error names the culprit."""

from __future__ import annotations

import json
from typing import Any

from engramdb.errors import ValidationError

MAX_LIMIT = 10_000
MAX_QUERY_CHARS = 10_000


def check_id(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be a non-empty string, not {value!r}")
    if len(value) > 256:
        raise ValidationError(f"{name} is longer than 256 characters")
    return value


def check_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValidationError(f"metadata must be a dict, not {type(metadata).__name__}")
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata is not JSON-serialisable: {exc}") from exc
    return dict(metadata)


def check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_LIMIT}, not {limit!r}")
    return limit


def check_importance(value: Any) -> float:
    """An importance: a number from 0 to 1."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError(f"importance must be a number from 0 to 1, not {value!r}")
    return float(value)


def check_reason(value: Any) -> str | None:
    """An optional short free-text reason (at most 500 characters)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 500:
        raise ValidationError("reason must be a string of at most 500 characters")
    return value
