"""Argument checks shared by the facade, the server and the CLI. Each error names the culprit."""

from __future__ import annotations

import json
from typing import Any

from engramdb.errors import ValidationError

MAX_LIMIT = 10_000
MAX_QUERY_CHARS = 10_000


def check_id(name: str, value: Any) -> str | None:
    """A scope id (user_id, agent_id, run_id): None, or a non-empty string of <= 256 chars."""
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
    """A page size: an integer from 1 to :data:`MAX_LIMIT`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_LIMIT}, not {limit!r}")
    return limit


#: Largest ``offset`` accepted; databases store 64-bit integers, and no scope is this large.
MAX_OFFSET = 10**12


def check_offset(offset: Any) -> int:
    """A page start: an integer from 0 to :data:`MAX_OFFSET`."""
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise ValidationError(f"offset must be an integer from 0 to {MAX_OFFSET}, not {offset!r}")
    return offset


def check_utf8(name: str, value: str) -> None:
    """Raise :class:`ValidationError` when ``value`` cannot be stored as UTF-8 (a lone
    surrogate, which a JSON ``\\ud800`` escape decodes to).

    >>> check_utf8("query", "caf\u00e9")
    """
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{name} holds an unpaired surrogate, which is not text") from None


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


def check_query(query: Any) -> None:
    """A search query or task: a non-empty string of at most :data:`MAX_QUERY_CHARS`, UTF-8."""
    if not isinstance(query, str) or not query.strip():
        raise ValidationError("query must be a non-empty string")
    if len(query) > MAX_QUERY_CHARS:
        raise ValidationError(f"query is longer than {MAX_QUERY_CHARS} characters")
    check_utf8("query", query)
