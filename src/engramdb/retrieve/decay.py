"""Recency and importance weighting of search scores: pure functions, no I/O.

The formula, for a memory of type ``t`` with relevance score ``s`` (the fused score)::

    age      = now - max(valid_at or created_at, last_accessed_at)     in days, >= 0
    recency  = 0.5 ** (age / half_life[t])                  1 now, 0.5 after one half-life
    s'       = s * (1 - wr + wr * recency) * (1 - wi + 2 * wi * importance)

``wr`` (``recency_weight``) is the share of the score that decays: with 0.3 a memory never
loses more than 30 %. ``wi`` (``importance_weight``) scales by importance in 0..1 around the
default 0.5 (factor 1): importance 1.0 gives ``1 + wi``, 0.0 gives ``1 - wi``. Being accessed
counts as being seen again, so memories that keep being used stay fresh.

>>> from engramdb.config import DecayConfig
>>> from engramdb.models import MemoryRecord, Scope
>>> t = "2024-01-01T00:00:00+00:00"
>>> r = MemoryRecord("a", "x", Scope(), {}, t, t)
>>> round(factor(r, at=1704067200.0 + 365 * 86400, cfg=DecayConfig()), 3)   # one half-life
0.85
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from engramdb.config import DecayConfig
from engramdb.models import MemoryRecord
from engramdb.timeutil import to_datetime

_DAY = 86400.0


def last_seen(record: MemoryRecord) -> float:
    """Epoch seconds of when the memory was last true-from or used, whichever is later."""
    seen = to_datetime(record.valid_at or record.created_at).timestamp()
    if record.last_accessed_at:
        seen = max(seen, to_datetime(record.last_accessed_at).timestamp())
    return seen


def factor(record: MemoryRecord, *, at: float, cfg: DecayConfig) -> float:
    """The multiplier of one memory's score at time ``at`` (epoch seconds); see module."""
    half_life = cfg.half_life_days.get(record.memory_type, cfg.default_half_life_days)
    age = max(0.0, at - last_seen(record)) / _DAY
    recency = 0.5 ** (age / half_life)
    importance = min(1.0, max(0.0, record.importance))
    wr, wi = cfg.recency_weight, cfg.importance_weight
    return float((1 - wr + wr * recency) * (1 - wi + 2 * wi * importance))


def reweight(
    fused: Sequence[tuple[int, float]],
    records: Mapping[int, MemoryRecord],
    cfg: DecayConfig,
    *,
    at: float | None = None,
) -> list[tuple[int, float]]:
    """``fused`` (rowid, score) re-scored by :func:`factor` and re-sorted, best first.

    Rows missing from ``records`` (deleted meanwhile) keep their score.
    """
    now = time.time() if at is None else at
    out = [
        (rowid, score * factor(records[rowid], at=now, cfg=cfg) if rowid in records else score)
        for rowid, score in fused
    ]
    return sorted(out, key=lambda kv: (-kv[1], kv[0]))
