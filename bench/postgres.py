"""Postgres store: scoped search latency and recall@10 vs exact search, and ingest rate.

    python bench/postgres.py                      # 100k memories across 1,000 users
    python bench/postgres.py --n 1000000          # 1M (HNSW build takes a long while)
    python bench/postgres.py --dsn postgresql://...   # an existing server (else one is started)

Memories get precomputed vectors (mixtures of real MiniLM embeddings plus noise, as in
bench/latency.py) and are loaded with COPY; the HNSW index is then built once (as a bulk import
would). Measured:

- ingest: ``store.apply`` in batches of 500 with the HNSW index in place (the normal write
  path) and ``store.copy_insert`` (COPY) without it, plus the index build time;
- per-user search (scopes of ~100 rows: the exact plan), and tenant-wide search (the whole
  table: the HNSW + iterative-scan plan), store level, p50/p95 and recall@10 against exact
  numpy search over the same rows;
- the same per-user search end to end through ``Memory.search`` (embedding included).

A scope at or below ``PostgresStore.exact_max_rows`` (after filters) is scanned exactly,
above it HNSW is used; the heavy user shows which side of that line 5% of the table falls.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg.conninfo import make_conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, percentile, print_table, write_json
from engramdb import Memory
from engramdb.embed.base import normalize
from engramdb.embed.local import LocalEmbedder
from engramdb.models import NewMemory, Scope, WriteBatch
from engramdb.store.postgres import PostgresStore, devserver
from engramdb.timeutil import iso, utcnow
from latency import Corpus


def mixtures(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.integers(0, len(pool), n)
    b = rng.integers(0, len(pool), n)
    w = rng.uniform(0.55, 0.9, n)[:, None]
    out: np.ndarray = normalize(
        w * pool[a] + (1 - w) * pool[b] + 0.05 * rng.standard_normal((n, pool.shape[1]))
    ).astype(np.float32)
    return out


def news(
    vecs: np.ndarray, users: np.ndarray, corpus: Corpus, at: str, start: int = 0
) -> list[NewMemory]:
    out = []
    for i in range(len(vecs)):
        text = corpus.sentence()
        out.append(
            NewMemory(
                id=str(uuid.uuid4()),
                memory=text,
                scope=Scope(user_id=f"user{users[i]}"),
                vector=vecs[i],
                metadata={"n": start + i},
                created_at=at,
                hash=str(start + i),
            )
        )
    return out


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=100_000, help="memories in the table")
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--apply-rows", type=int, default=5000, help="rows ingested via apply()")
    ap.add_argument("--dsn", help="an existing server (default: start one in a temp dir)")
    ap.add_argument("--json", default="bench/results/postgres.json")
    args = ap.parse_args()

    rng = random.Random(7)
    nprng = np.random.default_rng(7)
    tmp = None if args.dsn else tempfile.mkdtemp(prefix="engramdb-bench-pg-")
    base = args.dsn or devserver.start(str(tmp))
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    dsn = make_conninfo(base, options=f"-c search_path={schema},public")
    try:
        run(args, dsn, rng, nprng)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())
        if tmp is not None:
            devserver._remove_server(Path(tmp))


def run(args: Any, dsn: str, rng: random.Random, nprng: np.random.Generator) -> None:
    embedder = LocalEmbedder()
    corpus = Corpus(rng)
    pool = embedder.embed([corpus.sentence() for _ in range(3000)])
    store = PostgresStore(dsn, dims=embedder.dims, max_size=4)
    at = iso(utcnow())
    n, users = args.n, args.users
    vecs = mixtures(pool, n, nprng)
    owner = nprng.integers(0, users, n)
    owner[::20] = users  # one heavy user holding 5% of all rows

    # 1. The normal write path, HNSW index in place: apply() batches of 500.
    k = min(args.apply_rows, n)
    t = time.perf_counter()
    for s in range(0, k, 500):
        store.apply(WriteBatch(inserts=news(vecs[s : s + 500], owner[s : s + 500], corpus, at, s)))
    apply_rate = k / (time.perf_counter() - t)

    # 2. Bulk import: COPY without the index, then build it once.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP INDEX memories_embedding")
    copy_s = 0.0
    for s in range(k, n, 20_000):
        batch = news(vecs[s : s + 20_000], owner[s : s + 20_000], corpus, at, s)
        t = time.perf_counter()
        store.copy_insert(batch)
        copy_s += time.perf_counter() - t
    copy_rate = (n - k) / copy_s if n > k else float("nan")
    t = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        conn.execute(
            "CREATE INDEX memories_embedding ON memories USING hnsw (embedding vector_cosine_ops)"
        )
        conn.execute("ANALYZE memories")
        rowid_of = dict(conn.execute("SELECT hash, rowid FROM memories").fetchall())
    index_s = time.perf_counter() - t
    rowids = np.array([rowid_of[str(i)] for i in range(n)], dtype=np.int64)

    queries = mixtures(pool, args.queries, nprng)

    def exact(mask: np.ndarray | None, q: np.ndarray) -> set[int]:
        idx = np.arange(n) if mask is None else np.flatnonzero(mask)
        scores = vecs[idx] @ q
        return set(rowids[idx[np.argsort(-scores)[:10]]].tolist())

    rows, results = [], {}
    for name, scope_of in (
        ("per user (~100 rows, exact plan)", lambda i: Scope(user_id=f"user{i % users}")),
        (f"heavy user ({n // 20:,} rows)", lambda i: Scope(user_id=f"user{users}")),
        ("tenant-wide (all rows, HNSW plan)", lambda i: Scope()),
    ):
        lat, hits = [], 0
        for i, q in enumerate(queries):
            scope = scope_of(i)
            got, ms = timed(store.vector_search, scope, None, q, 10)
            lat.append(ms)
            mask = None if scope.user_id is None else owner == int(scope.user_id[4:])
            hits += len({r for r, _ in got} & exact(mask, q))
        recall = hits / (10 * len(queries))
        results[name] = {
            "p50_ms": median(lat),
            "p95_ms": percentile(lat, 95),
            "recall@10": recall,
        }
        rows.append([f"vector {name}", median(lat), percentile(lat, 95), recall])

    # The plan choice itself: both plans forced on a small and on the heavy scope.
    plans = {}
    for plan, limit in (("exact", 10**9), ("hnsw", 0)):
        forced = PostgresStore(dsn, dims=embedder.dims, exact_max_rows=limit, min_size=1)
        for label, user in (("user ~100 rows", 0), (f"heavy user {n // 20:,} rows", users)):
            lat, hits = [], 0
            for q in queries[:100]:
                got, ms = timed(forced.vector_search, Scope(user_id=f"user{user}"), None, q, 10)
                lat.append(ms)
                hits += len({r for r, _ in got} & exact(owner == user, q))
            recall = hits / (10 * len(queries[:100]))
            plans[f"{plan} / {label}"] = {
                "p50_ms": median(lat),
                "p95_ms": percentile(lat, 95),
                "recall@10": recall,
            }
            rows.append([f"forced {plan}: {label}", median(lat), percentile(lat, 95), recall])
        forced.close()
    results["forced plans"] = plans

    lat = []
    for i in range(args.queries):
        terms = corpus.sentence(4).split()[1:]
        _, ms = timed(store.keyword_search, Scope(user_id=f"user{i % users}"), None, terms, 10)
        lat.append(ms)
    results["keyword per user"] = {"p50_ms": median(lat), "p95_ms": percentile(lat, 95)}
    rows.append(["keyword per user (BM25)", median(lat), percentile(lat, 95), "-"])
    store.close()

    m = Memory(config={"store": {"provider": "postgres", "dsn": dsn}}, embedder=embedder)
    lat = []
    for i in range(min(args.queries, 200)):
        _, ms = timed(
            lambda q, u: m.search(q, user_id=u, limit=10),
            f"what about {corpus.sentence(5)} q{i}",
            f"user{i % users}",
        )
        lat.append(ms)
    m.close()
    results["Memory.search per user"] = {"p50_ms": median(lat), "p95_ms": percentile(lat, 95)}
    rows.append(["Memory.search per user (end to end)", median(lat), percentile(lat, 95), "-"])

    print_table(
        f"engramdb Postgres store: {n:,} memories, {users:,} users, 384-d",
        ["search", "p50 ms", "p95 ms", "recall@10"],
        rows,
    )
    print(f"ingest via apply() (HNSW in place, batches of 500): {apply_rate:,.0f} memories/s")
    print(f"ingest via COPY (no index): {copy_rate:,.0f} memories/s; HNSW build {index_s:.1f} s")
    write_json(
        args.json,
        {
            "benchmark": "postgres",
            "n": n,
            "users": users,
            "search": results,
            "ingest_apply_per_s": apply_rate,
            "ingest_copy_per_s": copy_rate,
            "hnsw_build_s": index_s,
        },
    )


if __name__ == "__main__":
    main()
