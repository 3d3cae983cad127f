"""Search and add latency as one scope grows (embedded default store, real embedder).

    python bench/latency.py                 # 1k, 10k, 20k, 100k
    python bench/latency.py --quick         # 1k, 10k
    python bench/latency.py --store postgres  # the Postgres store (bench/postgres.py)

Memories up to each size are bulk-loaded with precomputed vectors (mixtures of real MiniLM
embeddings of varied sentences) so 100k builds in seconds; every timed search and add goes
through ``Memory`` end to end with the real local embedder, on queries never seen before
(no embedding cache hits). Also measures batched ingest (one add() of 500 messages) and peak RSS.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, percentile, print_table, write_json
from engramdb import Memory
from engramdb.embed.base import normalize
from engramdb.graph import retrieve as graph_retrieve
from engramdb.graph.links import for_memory
from engramdb.ingest.plan import text_hash
from engramdb.models import NewMemory, Scope, WriteBatch
from engramdb.timeutil import iso, utcnow

SUBJECTS = ["I", "My sister", "My boss", "Our team", "My friend Sam", "The kids", "My partner"]
#: Size of the pool of named people and places the corpus mentions.
NAMES = 1000
VERBS = ["love", "hate", "started", "finished", "planned", "visited", "booked", "cooked", "read"]


class Corpus:
    """Sentences over a 20k-word vocabulary with Zipf-distributed word frequencies.

    Real conversation text has a long tail of rare words; a small synthetic vocabulary would
    make every keyword match a large fraction of rows and misstate keyword-search cost.

    Names follow the shape of a LoCoMo conversation's graph: besides "Sam" (on one sentence
    in seven, like a chat partner), one sentence in five names someone from a pool of
    :data:`NAMES` with Zipf frequencies (a few regulars, a long tail named once or twice),
    some as "my friend X" so the graph also has relations to hop along.
    """

    def __init__(self, rng: random.Random, vocab_size: int = 20000) -> None:
        import json

        from engramdb.embed.local import default_model_files

        vocab = json.loads(default_model_files()[1].read_text())["model"]["vocab"]
        words = sorted(w for w in vocab if w.isalpha() and len(w) >= 3)
        rng.shuffle(words)
        self.words = words[:vocab_size]
        ranks = np.arange(1, len(self.words) + 1)
        self.p = (1.0 / ranks**1.07) / (1.0 / ranks**1.07).sum()
        self.np = np.random.default_rng(rng.randint(0, 2**31))
        self.rng = rng
        # Names are vocabulary words outside the sentence vocabulary, capitalised.
        self.names = [w.capitalize() for w in words[vocab_size : vocab_size + NAMES]]
        name_ranks = np.arange(1, len(self.names) + 1)
        self.name_p = (1.0 / name_ranks) / (1.0 / name_ranks).sum()

    def name(self) -> str:
        """A name from the pool, Zipf-distributed."""
        return self.names[int(self.np.choice(len(self.names), p=self.name_p))]

    def sentence(self, n_words: int | None = None, *, names: bool = False) -> str:
        """A sentence of 6-16 words; with ``names``, some name people (see the class)."""
        n = n_words or self.rng.randint(6, 16)
        picked = self.np.choice(len(self.words), size=n, p=self.p)
        subject = self.rng.choice(SUBJECTS)
        text = " ".join(self.words[i] for i in picked)
        if names and self.rng.random() < 0.2:
            if self.rng.random() < 0.25:
                subject = f"My friend {self.name()}"
            else:
                text += f" with {self.name()}"
        return f"{subject} {text}"


def bulk_load(
    m: Memory, scope: Scope, n: int, corpus: Corpus, pool_vecs: np.ndarray, rng: random.Random
) -> None:
    """Insert n memories; vectors are mixtures of real embeddings (fast, realistic spread).

    Each memory gets its graph rows (entities, links) as ``add()`` would write them.
    """
    at = iso(utcnow())
    nprng = np.random.default_rng(rng.randint(0, 2**31))
    for start in range(0, n, 5000):
        size = min(5000, n - start)
        a = nprng.integers(0, len(pool_vecs), size)
        b = nprng.integers(0, len(pool_vecs), size)
        w = nprng.uniform(0.55, 0.9, size)[:, None]
        vecs = normalize(
            w * pool_vecs[a]
            + (1 - w) * pool_vecs[b]
            + 0.05 * nprng.standard_normal((size, pool_vecs.shape[1]))
        )
        batch = WriteBatch(at=at)
        for i in range(size):
            text = corpus.sentence(names=True)
            memory_id = str(uuid.uuid4())
            batch.inserts.append(
                NewMemory(
                    id=memory_id,
                    memory=text,
                    scope=scope,
                    vector=vecs[i],
                    metadata={"n": start + i},
                    created_at=at,
                    hash=text_hash(text),
                )
            )
            batch.graph.append(for_memory(memory_id, text, scope, at=at))
        m.store.apply(batch)


def measure(
    m: Memory, corpus: Corpus, searches: int, adds: int, tag: str, off: Memory | None = None
) -> dict[str, float]:
    """Timed end-to-end searches and single adds on fresh text.

    With ``off`` (the same store with the graph channel off), each query is also searched
    there, alternating which goes first: on shared, busy cores the load drifts over a run,
    and interleaving makes both sides see the same load. The off query differs only in its
    last token, so neither hits the other's embedding cache and both do the same graph work.
    """
    s_times: list[float] = []
    off_times: list[float] = []
    a_times: list[float] = []
    for i in range(searches):
        # Every other query names a person of the corpus, so the graph channel has work:
        # "Sam" (linked to thousands of memories) or a name from the pool (a few links).
        who = "" if i % 2 == 0 else "Sam" if i % 4 == 1 else corpus.name()
        words = f"what did {who} {corpus.sentence(5)}"
        runs = [(m, f"{words} {tag}{i}", s_times)]
        if off is not None:
            runs.append((off, f"{words} off{tag}{i}", off_times))
            if i % 2:
                runs.reverse()
        for mem, q, times in runs:
            t = time.perf_counter()
            mem.search(q, user_id="bench", limit=10)
            times.append((time.perf_counter() - t) * 1000)
    for i in range(adds):
        text = f"{corpus.sentence()} ({tag} add {i})"
        t = time.perf_counter()
        m.add(text, user_id="bench", infer=False)
        a_times.append((time.perf_counter() - t) * 1000)
    out = {
        "search_p50_ms": median(s_times),
        "search_p95_ms": percentile(s_times, 95),
        "add_p50_ms": median(a_times),
        "add_p95_ms": percentile(a_times, 95),
    }
    if off_times:
        out["search_p50_ms_graph_off"] = median(off_times)
        out["search_p95_ms_graph_off"] = percentile(off_times, 95)
    return out


def measure_topic(
    on: Memory, off: Memory, corpus: Corpus, searches: int, tag: str
) -> dict[str, float]:
    """Search p50 with ``retrieval.topic_query`` on and off, on the same store, for queries
    naming a broad person (Sam, on a seventh of the memories) and queries naming nobody.

    The variants alternate query by query, so load from other processes hits both alike,
    and every query is fresh text (no embedding cache hits).
    """
    times: dict[str, list[float]] = {}
    dropped = 0
    for i in range(searches):
        order = [("on", on), ("off", off)] if i % 2 else [("off", off), ("on", on)]
        for who in ("Sam", "they"):
            for variant, m in order:
                words = " ".join(corpus.sentence(5).split()[-5:])
                q = f"what did {who} say about {words} {tag}{variant}{i}"
                if who == "Sam" and variant == "on":
                    # What the search will embed: the name should be left out of it.
                    scope = Scope(user_id="bench", tenant=m.tenant)
                    found = graph_retrieve.match(m.store, scope, q, 50)
                    dropped += graph_retrieve.topic(q, found, 50) != q
                t = time.perf_counter()
                m.search(q, user_id="bench", limit=10)
                key = f"{variant} {'named' if who == 'Sam' else 'unnamed'}"
                times.setdefault(key, []).append((time.perf_counter() - t) * 1000)
    out: dict[str, float] = {k: median(v) for k, v in sorted(times.items())}
    out["named_queries_without_the_name"] = dropped / searches
    return out


def vector_recall(m: Memory, scope: Scope, corpus: Corpus, queries: int = 50) -> float:
    """recall@10 of the store's vector search (sketch preselection above 30k) vs exact search."""
    m.store.vector_search(scope, None, m.embedder.embed(["warm"])[0], 10)
    cache = m.store._caches[scope]  # type: ignore[attr-defined]  # the SQLite cache, on purpose
    live = cache.rowids[: cache.n] >= 0
    hits = 0
    for i in range(queries):
        q = m.embedder.embed([f"{corpus.sentence()} recall{i}"])[0]
        exact_scores = cache.matrix[: cache.n] @ q
        exact_scores[~live] = -np.inf
        exact = set(cache.rowids[np.argsort(-exact_scores)[:10]].tolist())
        got = {r for r, _ in m.store.vector_search(scope, None, q, 10)}
        hits += len(exact & got)
    return hits / (10 * queries)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="1000,10000,20000,100000")
    ap.add_argument("--quick", action="store_true", help="sizes 1000,10000 and fewer probes")
    ap.add_argument("--searches", type=int, default=200)
    ap.add_argument("--adds", type=int, default=100)
    ap.add_argument("--json", default="bench/results/latency.json")
    ap.add_argument(
        "--compare-graph",
        action="store_true",
        help="also time searches with the graph channel off, on the same store, interleaved "
        "query by query with the graph-on searches",
    )
    ap.add_argument(
        "--compare-topic",
        action="store_true",
        help="also time searches with retrieval.topic_query off, on the same store, for "
        "queries naming a broad person and not",
    )
    ap.add_argument(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="postgres: run bench/postgres.py (scoped search, recall, ingest); "
        "options it does not share with this script are passed on to it",
    )
    args, rest = ap.parse_known_args()
    if args.store == "postgres":
        import postgres

        sys.argv = [sys.argv[0], *rest, "--json", args.json.replace("latency", "postgres")]
        postgres.main()
        return
    if rest:
        ap.error(f"unrecognized arguments: {' '.join(rest)}")
    sizes = [1000, 10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    searches = 50 if args.quick else args.searches
    adds = 30 if args.quick else args.adds
    rng = random.Random(7)
    rows, out = [], []
    with tempfile.TemporaryDirectory() as home:
        m = Memory(path=home)
        scope = Scope(user_id="bench", tenant=m.tenant)
        corpus = Corpus(rng)
        pool_vecs = m.embedder.embed([corpus.sentence() for _ in range(3000)])
        # Batched ingest through the public API: 4 calls of 500 messages.
        t = time.perf_counter()
        for _ in range(4):
            m.add([corpus.sentence() for _ in range(500)], user_id="ingest", infer=False)
        ingest_rate = 2000 / (time.perf_counter() - t)
        current = 0
        for n in sizes:
            bulk_load(m, scope, n - current, corpus, pool_vecs, rng)
            current = n
            t = time.perf_counter()
            m.search("warm the cache", user_id="bench")
            cold = (time.perf_counter() - t) * 1000
            off = None
            if args.compare_graph:
                off = Memory(
                    config={"retrieval": {"use_graph": False}}, store=m.store, embedder=m.embedder
                )
            res = measure(m, corpus, searches, adds, f"n{n}", off)
            current += adds
            if off is not None:
                print(
                    f"{n:,}: search p50 {res['search_p50_ms']:.2f} ms graph on, "
                    f"{res['search_p50_ms_graph_off']:.2f} ms off (interleaved)",
                    flush=True,
                )
            if args.compare_topic:
                off = Memory(
                    config={"retrieval": {"topic_query": False}},
                    store=m.store,
                    embedder=m.embedder,
                )
                res["search_p50_ms_topic"] = measure_topic(m, off, corpus, searches, f"t{n}")
                print(f"{n:,}: search p50 ms {res['search_p50_ms_topic']}", flush=True)
            res["n"] = n
            res["cold_first_search_ms"] = cold
            res["vector_recall@10"] = vector_recall(m, scope, corpus)
            out.append(res)
            rows.append(
                [
                    f"{n:,}",
                    res["search_p50_ms"],
                    res["search_p95_ms"],
                    res["add_p50_ms"],
                    res["add_p95_ms"],
                    cold,
                ]
            )
        m.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print_table(
        "engramdb latency (embedded SQLite, local MiniLM, one scope)",
        [
            "memories",
            "search p50 ms",
            "search p95 ms",
            "add p50 ms",
            "add p95 ms",
            "first search ms",
        ],
        rows,
    )
    print(f"batched ingest: {ingest_rate:.0f} memories/s (add() of 500 messages, infer=False)")
    print(f"peak RSS: {rss_mb:.0f} MB")
    write_json(
        args.json,
        {"benchmark": "latency", "sizes": out, "ingest_per_s": ingest_rate, "peak_rss_mb": rss_mb},
    )


if __name__ == "__main__":
    main()
