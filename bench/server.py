"""REST server throughput and latency: search and add(infer=False) at concurrency 1, 8 and 32.

    python bench/server.py                 # 20k memories, 300 requests per cell (cap 30 s)
    python bench/server.py --quick         # 5k memories, 100 requests per cell

Memories are bulk-loaded into one scope with precomputed vectors (as bench/latency.py does),
then ``engramdb serve`` runs as a subprocess on 127.0.0.1 and an asyncio httpx load generator
sends each request through HTTP, auth and the real local embedder, on text never seen before.
Target: search p50 <= 15 ms at concurrency 8 with 20k memories.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, percentile, print_table, write_json
from engramdb import Memory
from engramdb.models import Scope
from latency import Corpus, bulk_load

ADMIN = "bench-admin-key"
TENANT = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load(home: str, n: int, rng: random.Random) -> Corpus:
    """Fill tenant ``bench``, user ``bench`` with ``n`` memories."""
    corpus = Corpus(rng)
    with Memory(path=home) as m:
        pool = m.embedder.embed([corpus.sentence() for _ in range(2000)])
        bulk_load(m, Scope(user_id="bench", tenant=TENANT), n, corpus, pool, rng)
    return corpus


def start_server(home: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ENGRAMDB_ADMIN_KEY": ADMIN, "ENGRAMDB_RATE_LIMIT": "0"}
    cmd = [sys.executable, "-m", "engramdb", "serve", "--home", home, "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("engramdb serve did not start")
        time.sleep(0.1)


async def run_cell(
    client: httpx.AsyncClient,
    make: Any,
    concurrency: int,
    requests: int,
    max_seconds: float,
) -> dict[str, float]:
    """``requests`` calls from ``concurrency`` workers (stopping early after ``max_seconds``)."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal issued, errors
        while issued < requests and time.perf_counter() < deadline:
            issued += 1
            method, path, body = make(issued)
            t = time.perf_counter()
            r = await client.request(method, path, json=body)
            latencies.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / wall,
        "p50_ms": median(latencies),
        "p99_ms": percentile(latencies, 99),
    }


async def bench(
    url: str, key: str, corpus: Corpus, args: argparse.Namespace
) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    headers = {"Authorization": f"Bearer {key}"}
    out = []
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as c:
        for i in range(20):  # warm: embedder session, vector cache of the scope, connections
            await c.post("/v1/search", json={"query": f"warm up {i}", "user_id": "bench"})

        def search(i: int) -> tuple[str, str, dict[str, Any]]:
            q = f"what about {corpus.sentence(5)} q{i}"
            return "POST", "/v1/search", {"query": q, "user_id": "bench", "limit": 10}

        def add(i: int) -> tuple[str, str, dict[str, Any]]:
            text = f"{corpus.sentence()} (add {i})"
            return "POST", "/v1/memories", {"messages": text, "user_id": "bench", "infer": False}

        for op, make in (("search", search), ("add", add)):
            for conc in (1, 8, 32):
                res = await run_cell(c, make, conc, args.requests, args.max_seconds)
                out.append({"op": op, "concurrency": conc, **res})
                print(
                    f"{op:6} c={conc:<2} {res['rps']:7.1f} req/s  p50 {res['p50_ms']:6.1f} ms  "
                    f"p99 {res['p99_ms']:6.1f} ms  errors {res['errors']}",
                    flush=True,
                )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--memories", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=300, help="requests per cell")
    ap.add_argument("--max-seconds", type=float, default=30.0, help="time cap per cell")
    ap.add_argument("--quick", action="store_true", help="5k memories, 100 requests per cell")
    ap.add_argument("--json", default="bench/results/server.json")
    args = ap.parse_args()
    if args.quick:
        args.memories, args.requests = 5_000, 100
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="engramdb-bench-server-") as home:
        t = time.perf_counter()
        corpus = load(home, args.memories, rng)
        print(f"loaded {args.memories:,} memories in {time.perf_counter() - t:.1f} s", flush=True)
        port = free_port()
        proc = start_server(home, port)
        url = f"http://127.0.0.1:{port}"
        try:
            key = httpx.post(
                url + "/v1/keys", json={"tenant": TENANT}, headers={"X-API-Key": ADMIN}
            ).json()["key"]
            rows = asyncio.run(bench(url, key, corpus, args))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print_table(
        f"engramdb serve on loopback ({args.memories:,} memories in the searched scope)",
        ["op", "concurrency", "req/s", "p50 ms", "p99 ms", "requests", "errors"],
        [
            [
                r["op"],
                r["concurrency"],
                r["rps"],
                r["p50_ms"],
                r["p99_ms"],
                r["requests"],
                r["errors"],
            ]
            for r in rows
        ],
    )
    target = next(r for r in rows if r["op"] == "search" and r["concurrency"] == 8)
    print(f"target search p50 <= 15 ms at concurrency 8: {target['p50_ms']:.1f} ms")
    write_json(
        args.json,
        {"benchmark": "server", "memories": args.memories, "cpus": os.cpu_count(), "cells": rows},
    )


if __name__ == "__main__":
    main()
