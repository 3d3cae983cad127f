"""Ingest rate with precomputed vectors through the public import path, SQLite and Postgres.

    python bench/ingest.py                 # 20,000 memories over 1,000 users
    python bench/ingest.py --n 100000 --dsn postgresql://...   # an existing server
    python bench/ingest.py --only bulk     # one path: sqlite, postgres or bulk

An export file (JSON Lines with vectors, as ``engramdb export --vectors`` writes) is made
once; each run imports it into an empty store with ``import_jsonl`` (what ``engramdb import``
and ``POST /v1/import`` call): parsing, validation, the batched id check and the writes, in
transactions of ``--batch`` memories. On Postgres it is run twice: keeping the HNSW index up to
date row by row, and ``bulk=True`` (index dropped for the load and rebuilt once at the end; the
rebuild is inside the timing). Memories/s = rows / wall time.
"""

from __future__ import annotations

import argparse
import json
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

from _common import print_table, write_json
from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.store.postgres import devserver
from engramdb.transfer import import_jsonl
from latency import Corpus
from postgres import mixtures


def export_lines(n: int, users: int, embedder: LocalEmbedder) -> list[str]:
    """A real export of ``n`` memories with vectors, made by engramdb itself."""
    rng = random.Random(11)
    nprng = np.random.default_rng(11)
    corpus = Corpus(rng)
    pool = embedder.embed([corpus.sentence() for _ in range(2000)])
    vecs = mixtures(pool, n, nprng)
    header = {
        "type": "header",
        "format": "engramdb-jsonl",
        "version": 1,
        "embedder": embedder.name,
        "dims": embedder.dims,
        "vectors": True,
    }
    lines = [json.dumps(header)]
    for i in range(n):
        lines.append(
            json.dumps(
                {
                    "type": "memory",
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "memory": corpus.sentence(),
                    "user_id": f"user{i % users}",
                    "metadata": {"n": i},
                    "created_at": "2025-01-01T00:00:00Z",
                    "vector": [round(float(x), 7) for x in vecs[i]],
                }
            )
        )
    return lines


def timed_import(m: Memory, lines: list[str], batch: int, bulk: bool) -> tuple[int, float]:
    t = time.perf_counter()
    report = import_jsonl(m, lines, batch_size=batch, bulk=bulk)
    secs = time.perf_counter() - t
    assert report.reembedded == 0, "vectors must be used as given"
    return report.imported, secs


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=1000, help="memories per transaction")
    ap.add_argument("--dsn", help="an existing Postgres (default: start one in a temp dir)")
    ap.add_argument("--json", default="bench/results/ingest.json")
    ap.add_argument(
        "--only",
        choices=["sqlite", "postgres", "bulk"],
        help="run one path (postgres: HNSW upkept; bulk: postgres with bulk=True)",
    )
    args = ap.parse_args()
    runs = [args.only] if args.only else ["sqlite", "postgres", "bulk"]

    embedder = LocalEmbedder()
    lines = export_lines(args.n, args.users, embedder)
    print(f"export file: {args.n:,} memories with vectors, {sum(map(len, lines)) / 1e6:.0f} MB")
    rows: list[list[Any]] = []
    results: dict[str, Any] = {}

    if "sqlite" in runs:
        with tempfile.TemporaryDirectory() as home, Memory(path=home, embedder=embedder) as m:
            n, secs = timed_import(m, lines, args.batch, bulk=False)
        rows.append(["sqlite", "import", n, secs, n / secs])
        results["sqlite import"] = {"rows": n, "seconds": secs, "per_s": n / secs}

    pg_runs = [run == "bulk" for run in runs if run != "sqlite"]
    tmp = None if args.dsn or not pg_runs else tempfile.mkdtemp(prefix="engramdb-bench-ingest-")
    base = args.dsn or (devserver.start(str(tmp)) if pg_runs else "")
    try:
        for bulk in pg_runs:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}".encode())
            dsn = make_conninfo(base, options=f"-c search_path={schema},public")
            cfg = {"store": {"provider": "postgres", "dsn": dsn}}
            try:
                with Memory(config=cfg, embedder=embedder) as m:
                    n, secs = timed_import(m, lines, args.batch, bulk=bulk)
                    # The index is back and serves a scoped search.
                    assert m.search("anything at all", user_id="user1")["results"]
            finally:
                with psycopg.connect(base, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())
            label = "import --bulk (index rebuilt once)" if bulk else "import (HNSW upkept)"
            rows.append(["postgres", label, n, secs, n / secs])
            results[f"postgres {label}"] = {"rows": n, "seconds": secs, "per_s": n / secs}
    finally:
        if tmp is not None:
            devserver._remove_server(Path(tmp))

    print_table(
        f"engramdb ingest with precomputed vectors ({args.n:,} memories, batches of {args.batch})",
        ["store", "path", "rows", "seconds", "memories/s"],
        rows,
    )
    write_json(args.json, {"benchmark": "ingest", "n": args.n, "runs": results})


if __name__ == "__main__":
    main()
