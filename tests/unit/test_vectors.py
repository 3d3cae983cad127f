"""The in-memory vector caches: exact search against brute force, and the sign-sketch prefilter."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from engramdb.models import Scope
from engramdb.store.sqlite.vectors import (
    PREFILTER_MIN_ROWS,
    BinaryPrefilter,
    Row,
    ScopeMatrix,
    matches,
)

DIMS = 32
F32 = npt.NDArray[np.float32]


def _unit(rng: np.random.Generator, n: int, dims: int = DIMS) -> F32:
    x = rng.standard_normal((n, dims)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _rows(vectors: F32, start: int = 1, expires: list[float] | None = None) -> list[Row]:
    return [
        Row(
            rowid=start + i,
            tenant="default",
            user_id="u",
            agent_id=None,
            run_id=None,
            active=True,
            expires=math.inf if expires is None else expires[i],
            vector=v,
        )
        for i, v in enumerate(vectors)
    ]


def _brute(
    vectors: dict[int, F32],
    query: F32,
    k: int,
    *,
    now: float = 0.0,
    expires: dict[int, float] | None = None,
    allowed: set[int] | None = None,
) -> list[tuple[int, float]]:
    scored = [
        (rowid, float(v @ query))
        for rowid, v in vectors.items()
        if (expires is None or expires[rowid] > now) and (allowed is None or rowid in allowed)
    ]
    scored.sort(key=lambda t: -t[1])
    return scored[:k]


def _assert_same(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> None:
    assert [r for r, _ in got] == [r for r, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)


# -- matches ------------------------------------------------------------------------------


def test_matches() -> None:
    v = np.ones(DIMS, np.float32)
    row = Row(1, "t", "u", "a", "r", True, math.inf, v)
    assert matches(Scope(tenant="t", user_id="u"), row)
    assert matches(Scope(tenant="t", user_id="u", agent_id="a", run_id="r"), row)
    assert matches(Scope(tenant="t", agent_id="a"), row)
    assert not matches(Scope(tenant="other", user_id="u"), row)
    assert not matches(Scope(tenant="t", user_id="v"), row)
    assert not matches(Scope(tenant="t", user_id="u", run_id="other"), row)
    assert not matches(Scope(tenant="t", user_id="u"), Row(1, "t", "u", "a", "r", False, 0, v))
    assert not matches(Scope(tenant="t", user_id="u"), Row(1, "t", "u", "a", "r", True, 0, None))


# -- exact search ---------------------------------------------------------------------------


def test_empty_matrix() -> None:
    m = ScopeMatrix(dims=DIMS)
    assert m.live == 0
    assert m.search(np.ones(DIMS, np.float32), 5, 0.0) == []


def test_exact_search_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    vecs = _unit(rng, 3000)
    m = ScopeMatrix(dims=DIMS)
    m.load(_rows(vecs[:1000]))
    m.load(_rows(vecs[1000:], start=1001))  # grows past the first capacity
    by_id = {i + 1: vecs[i] for i in range(3000)}
    assert m.live == 3000
    for q in _unit(rng, 20):
        for k in (1, 10, 100):
            _assert_same(m.search(q, k, 0.0), _brute(by_id, q, k))


def test_k_larger_than_rows_returns_all_sorted() -> None:
    rng = np.random.default_rng(2)
    vecs = _unit(rng, 7)
    m = ScopeMatrix(dims=DIMS)
    m.load(_rows(vecs))
    q = _unit(rng, 1)[0]
    got = m.search(q, 50, 0.0)
    _assert_same(got, _brute({i + 1: vecs[i] for i in range(7)}, q, 50))
    assert m.search(q, 0, 0.0) == []


def test_tombstones_are_never_returned() -> None:
    rng = np.random.default_rng(3)
    vecs = _unit(rng, 500)
    m = ScopeMatrix(dims=DIMS)
    m.load(_rows(vecs))
    by_id = {i + 1: vecs[i] for i in range(500)}
    removed = set(rng.choice(np.arange(1, 501), 200, replace=False).tolist())
    for rowid in removed:
        m.remove(rowid)
        del by_id[rowid]
    m.remove(99_999)  # unknown: no-op
    m.remove(next(iter(removed)))  # twice: no-op
    assert m.dead == 200
    assert m.live == 300
    for q in _unit(rng, 10):
        got = m.search(q, 400, 0.0)
        assert not {r for r, _ in got} & removed
        _assert_same(got, _brute(by_id, q, 400))
    # Searching for a removed row's own vector does not find it.
    rowid = next(iter(removed))
    assert rowid not in {r for r, _ in m.search(vecs[rowid - 1], 5, 0.0)}
    assert m.vector_of(rowid) is None


def test_remove_then_reload_is_an_update() -> None:
    rng = np.random.default_rng(4)
    vecs = _unit(rng, 10)
    m = ScopeMatrix(dims=DIMS)
    m.load(_rows(vecs))
    new = _unit(rng, 1)
    m.remove(3)
    m.load(_rows(new, start=3))
    np.testing.assert_array_equal(m.vector_of(3), new[0])
    got = m.search(new[0], 1, 0.0)
    assert got[0][0] == 3
    assert got[0][1] == pytest.approx(1.0, abs=1e-5)
    assert m.live == 10


def test_expired_rows_are_skipped() -> None:
    rng = np.random.default_rng(5)
    vecs = _unit(rng, 400)
    expires = [math.inf if i % 3 else 1000.0 + i for i in range(400)]
    m = ScopeMatrix(dims=DIMS)
    m.load(_rows(vecs, expires=expires))
    by_id = {i + 1: vecs[i] for i in range(400)}
    exp = {i + 1: expires[i] for i in range(400)}
    for now in (0.0, 1200.0, 5000.0):
        for q in _unit(rng, 5):
            _assert_same(m.search(q, 50, now), _brute(by_id, q, 50, now=now, expires=exp))
    # All expired: nothing at all.
    m2 = ScopeMatrix(dims=DIMS)
    m2.load(_rows(vecs[:5], expires=[10.0] * 5))
    assert m2.search(vecs[0], 5, 11.0) == []


def test_allowed_mask() -> None:
    rng = np.random.default_rng(6)
    vecs = _unit(rng, 1000)
    m = ScopeMatrix(dims=DIMS)
    m.load(_rows(vecs))
    by_id = {i + 1: vecs[i] for i in range(1000)}
    for rowid in range(1, 1001, 7):
        m.remove(rowid)
        del by_id[rowid]
    allowed = set(rng.choice(np.arange(1, 1001), 150, replace=False).tolist())
    mask = np.array(sorted(allowed), np.int64)
    for q in _unit(rng, 10):
        got = m.search(q, 20, 0.0, mask)
        assert {r for r, _ in got} <= allowed
        _assert_same(got, _brute(by_id, q, 20, allowed=allowed))
    assert m.search(vecs[0], 5, 0.0, np.zeros(0, np.int64)) == []
    # A mask naming unknown rows only returns nothing.
    assert m.search(vecs[0], 5, 0.0, np.array([5000, 6000], np.int64)) == []


def test_allowed_mask_with_expiry_and_tombstones_together() -> None:
    rng = np.random.default_rng(7)
    vecs = _unit(rng, 300)
    expires = [50.0 if i % 2 else math.inf for i in range(300)]
    m = ScopeMatrix(dims=DIMS)
    m.load(_rows(vecs, expires=expires))
    by_id = {i + 1: vecs[i] for i in range(300)}
    exp = {i + 1: expires[i] for i in range(300)}
    for rowid in range(1, 301, 5):
        m.remove(rowid)
        del by_id[rowid]
    allowed = set(range(1, 301, 3))
    mask = np.array(sorted(allowed), np.int64)
    for q in _unit(rng, 5):
        _assert_same(
            m.search(q, 30, 100.0, mask),
            _brute(by_id, q, 30, now=100.0, expires=exp, allowed=allowed),
        )


# -- binary prefilter ---------------------------------------------------------------------


def _clustered(rng: np.random.Generator, centres: F32, n: int, noise: float) -> F32:
    which = rng.integers(0, len(centres), n)
    x = centres[which] + noise * rng.standard_normal((n, centres.shape[1])).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def big() -> tuple[F32, F32]:
    """40k vectors in 200 topics (nearest-neighbour cosine ~0.5, like sentence embeddings).

    Queries come from the same topics: 50 paraphrase-like perturbations of stored rows and
    50 new points. (Queries pointing nowhere near any stored topic recall less; they also
    have no meaningful nearest neighbours.)
    """
    rng = np.random.default_rng(42)
    dims = 384
    centres = _unit(rng, 200, dims)
    data = _clustered(rng, centres, 40_000, 0.06)
    near = data[rng.choice(len(data), 50, replace=False)]
    near = near + 0.03 * rng.standard_normal(near.shape).astype(np.float32)
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    fresh = _clustered(rng, centres, 50, 0.06)
    return data, np.concatenate([near, fresh]).astype(np.float32)


def test_prefilter_recall_on_40k_clustered_vectors(big: tuple[F32, F32]) -> None:
    data, queries = big
    assert len(data) >= PREFILTER_MIN_ROWS
    m = ScopeMatrix(dims=data.shape[1])
    m.load(_rows(data))
    k = 10
    hits = 0
    for q in queries:
        got = m.search(q, k, 0.0)
        assert len(got) == k
        exact = np.argsort(-(data @ q))[:k] + 1
        hits += len({r for r, _ in got} & set(exact.tolist()))
        # Scores reported are exact cosines of the rows returned.
        for rowid, score in got:
            assert score == pytest.approx(float(data[rowid - 1] @ q), abs=1e-4)
    assert m.prefilter is not None, "40k rows should use the prefilter"
    recall = hits / (k * len(queries))
    assert recall >= 0.95, f"prefilter recall@{k} {recall:.3f}"


def test_prefilter_respects_tombstones_expiry_and_appends(big: tuple[F32, F32]) -> None:
    data, queries = big
    m = ScopeMatrix(dims=data.shape[1])
    expires = [math.inf] * len(data)
    expires[1] = 10.0  # row 2 expires
    m.load(_rows(data, expires=expires))
    m.search(queries[0], 5, 0.0)
    assert m.prefilter is not None
    m.remove(1)
    got = {r for r, _ in m.search(data[0], 10, 0.0)}
    assert 1 not in got
    assert 2 not in {r for r, _ in m.search(data[1], 10, 100.0)}
    assert 2 in {r for r, _ in m.search(data[1], 10, 0.0)}
    # Rows appended after the sketch was built are sketched too and findable.
    rng = np.random.default_rng(9)
    extra = _unit(rng, 50, data.shape[1])
    m.load(_rows(extra, start=100_001))
    assert m.n in m.prefilter.bits.shape  # one sketch per row (layout is private)
    for i in range(0, 50, 7):
        top = m.search(extra[i], 1, 0.0)
        assert top[0][0] == 100_001 + i


def test_prefilter_candidates_small_input() -> None:
    rng = np.random.default_rng(10)
    data = _unit(rng, 20, 70)  # 70 bits: padded to whole uint64 words
    pf = BinaryPrefilter.build(data)
    assert pf.bits.dtype == np.uint64
    assert pf.bits.size == 20 * 2  # 70 bits round up to two 64-bit words per row
    assert sorted(pf.candidates(data[0], 50).tolist()) == list(range(20))
    assert 3 in pf.candidates(data[3], 5).tolist()


def _bm25_reference(
    docs: dict[int, int], postings: list[set[int]], k1: float = 1.2, b: float = 0.75
) -> dict[int, float]:
    """Textbook BM25 with tf = 1, over ``docs`` (rowid -> length)."""
    n = len(docs)
    avg = sum(docs.values()) / n
    out: dict[int, float] = {}
    for posting in postings:
        holders = posting & docs.keys()
        if not holders:
            continue
        idf = math.log(1 + (n - len(holders) + 0.5) / (len(holders) + 0.5))
        for r in holders:
            norm = k1 * (1 - b + b * docs[r] / avg)
            out[r] = out.get(r, 0.0) + idf * (k1 + 1) / (1 + norm)
    return out


def test_bm25_matches_a_reference_and_ignores_rows_outside_the_scope() -> None:
    rng = np.random.default_rng(3)
    rows = _rows(_unit(rng, 60))
    for i, row in enumerate(rows):
        row.length = 10 + (i * 7) % 50
    cache = ScopeMatrix(dims=DIMS)
    cache.load(rows)
    cache.remove(5)  # a tombstone must not count as a document or a hit
    docs = {r.rowid: r.length for r in rows if r.rowid != 5}
    # Postings come from the global index: they may name rows of other scopes (1000+).
    postings = [
        np.array([1, 2, 3, 5, 1001, 1002], np.int64),
        np.array([3, 4, 40, 2000], np.int64),
        np.array([7], np.int64),
    ]
    got = cache.bm25(postings, k=10, now=0.0)
    want = _bm25_reference(docs, [set(p.tolist()) for p in postings])
    assert [r for r, _ in got] == sorted(want, key=lambda r: (-want[r], r))[: len(got)]
    for rowid, score in got:
        assert score == pytest.approx(want[rowid])
    assert 5 not in {r for r, _ in got}


def test_bm25_respects_allowed_rows_and_empty_input() -> None:
    rng = np.random.default_rng(4)
    cache = ScopeMatrix(dims=DIMS)
    cache.load(_rows(_unit(rng, 10)))
    postings = [np.array([1, 2, 3], np.int64)]
    assert {r for r, _ in cache.bm25(postings, 10, 0.0, np.array([2], np.int64))} == {2}
    assert cache.bm25(postings, 10, 0.0, np.array([], np.int64)) == []
    assert cache.bm25([], 10, 0.0) == []
