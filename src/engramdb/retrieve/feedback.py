"""Re-rank fused candidates by the feedback given on them (``Memory.feedback``).

A judgement counts for the queries it resembles. For a candidate with feedback rows
``f_1..f_n`` and the current query ``q``::

    weight(f) = (cos(q, q_f) - τ) / (1 - τ)   when cos(q, q_f) >= τ, else 0
              = GENERAL_WEIGHT                 when f was given without a query
    net       = Σ sign(f) · weight(f)          sign: useful +1, not_useful -1
    score'    = (score + FLOOR · top) · exp(α · clamp(net, -NET_CAP, NET_CAP))

with ``τ = RetrievalConfig.feedback_similarity`` and ``α = RetrievalConfig.feedback_weight``:
one ``not_useful`` for the same query multiplies a score by e^-α (0.37 at the default α=1),
a paraphrase (cosine 0.875, default τ=0.75) by e^-α/2, an unrelated query (cosine < τ) not at
all. One judgement sinks a result among close ones; against results that barely match it
takes two or three (a clear "this is false" is ``wrong``).
``top`` is the best fused score: the small floor lets a judged memory fall below candidates
whose normalised score is 0 (min-max fusion gives the last candidate exactly 0). The floor is
added to every candidate, so the order of candidates without feedback never changes.
``wrong`` needs no re-rank: it takes the memory out of search. ``use_feedback=False`` skips it.
Cost: one indexed lookup of the candidates' feedback per search; nothing else when there is none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from engramdb.config import RetrievalConfig
from engramdb.models import Feedback
from engramdb.store.base import Store

#: How much a judgement given without a query counts, for every query.
GENERAL_WEIGHT = 0.25
#: Most the net judgement may count, so a pile of votes cannot push a score to zero.
NET_CAP = 3.0
#: Fraction of the best score added to every score before scaling (see above).
FLOOR = 0.1
SIGN = {"useful": 1.0, "not_useful": -1.0}


def net_judgement(
    feedback: Sequence[Feedback], query: npt.NDArray[np.float32] | None, threshold: float
) -> float:
    """Σ sign · weight over ``feedback`` for ``query`` (see the module docstring).

    >>> import numpy as np
    >>> q = np.array([1.0, 0.0], np.float32)
    >>> f = Feedback("f", "m", "t", "not_useful", "2024-01-01", query="x", query_vector=q)
    >>> net_judgement([f], q, 0.6)
    -1.0
    """
    net = 0.0
    for f in feedback:
        sign = SIGN.get(f.signal)
        if sign is None:
            continue
        if f.query_vector is None:
            net += sign * GENERAL_WEIGHT
        elif query is not None:
            cos = float(np.asarray(f.query_vector, np.float32) @ query)
            if cos >= threshold:
                net += sign * min(1.0, (cos - threshold) / (1.0 - threshold))
    return max(-NET_CAP, min(NET_CAP, net))


def rerank(
    store: Store,
    tenant: str,
    fused: list[tuple[int, float]],
    query: npt.NDArray[np.float32] | None,
    cfg: RetrievalConfig,
) -> list[tuple[int, float]]:
    """``fused`` (rowid, score) with feedback applied, best first; unchanged when none."""
    if not cfg.use_feedback or not fused or cfg.feedback_weight == 0:
        return fused
    given: dict[int, list[Feedback]] = {}
    for rowid, f in store.feedback_for(tenant, [r for r, _ in fused]):
        given.setdefault(rowid, []).append(f)
    if not given:
        return fused
    floor = FLOOR * max(s for _, s in fused)
    out = []
    for rowid, score in fused:
        score += floor
        if rowid in given:
            net = net_judgement(given[rowid], query, cfg.feedback_similarity)
            score *= math.exp(cfg.feedback_weight * net)
        out.append((rowid, score))
    # Stable: ties keep the fused order.
    return sorted(out, key=lambda rs: -rs[1])
