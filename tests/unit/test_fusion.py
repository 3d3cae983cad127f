"""Rank fusion is pure arithmetic: check it exactly."""

from __future__ import annotations

import pytest

from engramdb.retrieve.fusion import normalized, rrf


def test_rrf_doc_example() -> None:
    assert rrf({"vec": [(1, 0.9), (2, 0.8)], "kw": [(2, 7.0), (3, 5.0)]})[0][0] == 2


def test_rrf_exact_scores() -> None:
    out = dict(rrf({"a": [(1, 0.0), (2, 0.0)], "b": [(2, 0.0), (3, 0.0)]}, k=10))
    assert out[1] == pytest.approx(1 / 11)
    assert out[2] == pytest.approx(1 / 12 + 1 / 11)
    assert out[3] == pytest.approx(1 / 12)


def test_rrf_ignores_raw_scores() -> None:
    a = rrf({"x": [(1, 100.0), (2, -5.0)]})
    b = rrf({"x": [(1, 0.1), (2, 0.0)]})
    assert a == b


def test_rrf_weights_and_zero_weight() -> None:
    ranked = {"a": [(1, 0.0)], "b": [(2, 0.0)]}
    assert [r for r, _ in rrf(ranked, weights={"a": 1.0, "b": 2.0})] == [2, 1]
    assert rrf(ranked, weights={"a": 1.0, "b": 0.0}) == [(1, pytest.approx(1 / 61))]
    # A retriever missing from weights counts with weight 1.
    assert dict(rrf(ranked, weights={"a": 3.0}))[2] == pytest.approx(1 / 61)


def test_rrf_ties_break_by_rowid() -> None:
    assert [r for r, _ in rrf({"a": [(5, 0.0)], "b": [(3, 0.0)]})] == [3, 5]


def test_rrf_empty() -> None:
    assert rrf({}) == []
    assert rrf({"a": []}) == []


def test_normalized_min_max() -> None:
    out = dict(normalized({"v": [(1, 0.9), (2, 0.5), (3, 0.1)]}))
    assert out == {1: pytest.approx(1.0), 2: pytest.approx(0.5), 3: pytest.approx(0.0)}


def test_normalized_weighted_sum() -> None:
    out = dict(
        normalized(
            {"v": [(1, 0.8), (2, 0.4)], "k": [(2, 10.0), (3, 2.0)]},
            weights={"v": 0.5, "k": 2.0},
        )
    )
    assert out[1] == pytest.approx(0.5)
    assert out[2] == pytest.approx(0.0 + 2.0)
    assert out[3] == pytest.approx(0.0)


def test_normalized_order_and_ties() -> None:
    out = normalized({"v": [(9, 1.0), (4, 1.0), (7, 0.0)]})
    # Equal fused scores are ordered by rowid.
    assert [r for r, _ in out] == [4, 9, 7]


def test_normalized_all_equal_scores_do_not_divide_by_zero() -> None:
    # No spread means no evidence against any candidate: each counts fully, not as zero
    # (a lone keyword hit must not score 0 and sink below weaker vector hits).
    assert normalized({"v": [(1, 0.3), (2, 0.3)]}) == [(1, 1.0), (2, 1.0)]


def test_normalized_skips_empty_and_zero_weight() -> None:
    assert normalized({"v": [], "k": [(1, 3.0)]}, weights={"k": 0.0}) == []
