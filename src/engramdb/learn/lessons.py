"""Before a task: the stored lessons most relevant to it, failures first among equals.

Candidates are the scope's ``experience`` memories found by the normal hybrid search (so
feedback re-ranking applies to them too). Each is then ranked by::

    rank = similarity · (1 + FAILURE_BOOST · failure_share) · (0.5 + importance)

where ``similarity`` is the cosine between the task and the lesson, ``failure_share`` the
fraction of the lesson's recorded outcomes that were failures or partial results (so a
recorded failure that matches the task outranks a success equally close: it is the thing not
to repeat) and ``importance`` the memory's importance (0.5 by default, moved by feedback).
Lessons whose similarity is below ``threshold`` are left out.
"""

from __future__ import annotations

from typing import Any

from engramdb.retrieve.search import Hit

#: How much more a lesson that only ever failed weighs than one that only ever succeeded.
FAILURE_BOOST = 0.5
#: Lessons less similar than this to the task are not returned (by default).
DEFAULT_THRESHOLD = 0.3


def _count(meta: dict[str, Any], key: str) -> int:
    value = meta.get(key, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def rank(hit: Hit) -> float:
    """The lesson rank of one search hit (see the module docstring).

    >>> from engramdb.models import MemoryRecord, Scope
    >>> rec = MemoryRecord("i", "t", Scope(agent_id="a"), {"failures": 1}, "", "")
    >>> round(rank(Hit(rec, 1.0, 0.8)), 3)
    1.2
    """
    meta = hit.record.metadata
    bad = _count(meta, "failures") + _count(meta, "partials")
    seen = bad + _count(meta, "successes")
    share = bad / seen if seen else 0.0
    return hit.similarity * (1.0 + FAILURE_BOOST * share) * (0.5 + hit.record.importance)


def lesson_dict(hit: Hit, score: float) -> dict[str, Any]:
    """A lesson as returned by ``Memory.lessons``: the memory, its parts and its evidence."""
    rec = hit.record
    meta = rec.metadata
    stored = meta.get("lesson")
    parts: dict[str, Any] = stored if isinstance(stored, dict) else {}
    return {
        "id": rec.id,
        "lesson": rec.memory,
        "task": parts.get("task"),
        "outcome": meta.get("last_outcome", parts.get("outcome")),
        "cause": parts.get("cause") or None,
        "advice": parts.get("advice") or None,
        "conditions": parts.get("conditions") or None,
        "score": round(score, 6),
        "similarity": round(hit.similarity, 6),
        "importance": rec.importance,
        "evidence": {
            "successes": _count(meta, "successes"),
            "failures": _count(meta, "failures"),
            "partials": _count(meta, "partials"),
            "last_outcome": meta.get("last_outcome"),
            "last_seen_at": meta.get("last_seen_at"),
            "episode_ids": meta.get("episode_ids", []),
            "batch_ids": meta.get("batch_ids", []),
        },
        "user_id": rec.scope.user_id,
        "agent_id": rec.scope.agent_id,
        "created_at": rec.created_at,
        "updated_at": rec.updated_at,
    }


def select(hits: list[Hit], limit: int, threshold: float) -> list[dict[str, Any]]:
    """The ``limit`` best lessons of ``hits`` by :func:`rank`, as dicts."""
    scored = [(rank(h), h) for h in hits if h.similarity >= threshold]
    scored.sort(key=lambda sh: -sh[0])
    return [lesson_dict(h, s) for s, h in scored[:limit]]
