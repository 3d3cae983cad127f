"""Pure rank fusion of candidate lists from several retrievers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def rrf(
    ranked: Mapping[str, Sequence[tuple[int, float]]],
    *,
    k: int = 60,
    weights: Mapping[str, float] | None = None,
) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion: ``sum_r w_r / (k + rank_r)``, best first.

    >>> rrf({"vec": [(1, .9), (2, .8)], "kw": [(2, 7.0), (3, 5.0)]})[0][0]
    2
    """
    scores: dict[int, float] = {}
    for name, items in ranked.items():
        w = 1.0 if weights is None else weights.get(name, 1.0)
        if w == 0:
            continue
        for rank, (rowid, _) in enumerate(items):
            scores[rowid] = scores.get(rowid, 0.0) + w / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def normalized(
    ranked: Mapping[str, Sequence[tuple[int, float]]],
    *,
    weights: Mapping[str, float] | None = None,
) -> list[tuple[int, float]]:
    """Weighted sum of min-max normalised scores per retriever (a "convex combination")."""
    scores: dict[int, float] = {}
    for name, items in ranked.items():
        w = 1.0 if weights is None else weights.get(name, 1.0)
        if not items or w == 0:
            continue
        values = [s for _, s in items]
        lo, hi = min(values), max(values)
        for rowid, s in items:
            # With one candidate (or all tied) there is no spread: each counts fully.
            norm = (s - lo) / (hi - lo) if hi > lo else 1.0
            scores[rowid] = scores.get(rowid, 0.0) + w * norm
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
