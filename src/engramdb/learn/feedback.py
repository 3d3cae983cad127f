"""Feedback on a memory turned into one write: the feedback row, the memory's new importance
or status, and a ``FEEDBACK`` history row saying why, applied in one transaction.

Importance moves a step toward 1 for ``useful`` and toward 0 for ``not_useful``::

    useful:      importance + STEP · (1 - importance)
    not_useful:  importance - STEP · importance

so it stays in 0..1 and repeated votes have diminishing effect. ``wrong`` flags the memory:
status ``flagged`` and ``invalid_at`` set, which takes it out of search and listings (it stays
readable by id, with its history).
"""

from __future__ import annotations

import uuid
from typing import Any

from engramdb.errors import ValidationError
from engramdb.models import Change, Feedback, MemoryRecord, WriteBatch, nudged
from engramdb.validation import check_utf8

SIGNALS = ("useful", "not_useful", "wrong")
#: Fraction of the remaining distance to 1 (useful) or 0 (not_useful) one judgement moves.
STEP = 0.1
#: Status of a memory judged wrong.
FLAGGED = "flagged"
MAX_NOTE_CHARS = 2000


def check(signal: Any, note: Any, query: Any) -> tuple[str, str | None, str | None]:
    """Validated ``(signal, note, query)``; raises :class:`ValidationError` naming the problem."""
    if signal not in SIGNALS:
        raise ValidationError(f"signal must be one of {', '.join(SIGNALS)}, not {signal!r}")
    out: list[str | None] = []
    for name, value in (("note", note), ("query", query)):
        if value is None:
            out.append(None)
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"{name} must be a non-empty string or None, not {value!r}")
        if len(value) > MAX_NOTE_CHARS:
            raise ValidationError(f"{name} is longer than {MAX_NOTE_CHARS} characters")
        check_utf8(name, value)
        out.append(value.strip())
    return signal, out[0], out[1]


def new_importance(importance: float, signal: str) -> float:
    """Importance after one judgement (unchanged for ``wrong``).

    >>> new_importance(0.5, "useful"), new_importance(0.5, "not_useful")
    (0.55, 0.45)
    """
    step = _nudge(signal)
    return importance if step is None else nudged(importance, step)


def _nudge(signal: str) -> float | None:
    return {"useful": STEP, "not_useful": -STEP}.get(signal)


def plan(
    record: MemoryRecord,
    signal: str,
    note: str | None,
    query: str | None,
    query_vector: Any,
    at: str,
) -> tuple[WriteBatch, dict[str, Any]]:
    """The write for one judgement on ``record`` and the public result dict."""
    row = Feedback(
        id=str(uuid.uuid4()),
        memory_id=record.id,
        tenant=record.scope.tenant,
        signal=signal,
        created_at=at,
        note=note,
        query=query,
        query_vector=query_vector,
    )
    reason = signal + (f": {note}" if note else "") + (f" (query: {query})" if query else "")
    change = Change(id=record.id, event="FEEDBACK", reason=reason[:4000])
    importance = new_importance(record.importance, signal)
    if signal == "wrong" and record.status == "active":
        change.status = FLAGGED
        change.invalid_at = at
    elif importance != record.importance:
        # The store computes the new value from the one it holds when it writes: another
        # writer's judgement between our read and our write is built on, not overwritten.
        change.nudge = _nudge(signal)
    result = {
        **row.to_dict(),
        "importance": importance,
        "status": change.status or record.status,
    }
    return WriteBatch(changes=[change], feedback=[row], at=at), result
