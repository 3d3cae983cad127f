"""Search as memory stood at a past time: exact scoring of the memories valid then.

The default search reads the vector caches and indexes, which hold only active memories. A
question "as of T" must also see memories superseded since, so it takes its own path: the
store selects the scope's memories valid at T (a user's or run's memories: small), and they
are scored here exactly, with the same fusion as the default search:

- vector: cosine of each memory's vector with the query vector;
- keyword: BM25 over the query's content words (:func:`~engramdb.text.terms.terms`, whole
  words, case-insensitive, no stemming), with statistics from the candidates themselves.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from engramdb.config import RetrievalConfig
from engramdb.models import MemoryRecord
from engramdb.retrieve import decay, fusion
from engramdb.retrieve.search import Hit
from engramdb.text.terms import terms

_K1, _B = 1.2, 0.75


def bm25(docs: Sequence[str], query: str) -> list[tuple[int, float]]:
    """(index, score > 0) of ``docs`` matching any content word of ``query``, best first.

    >>> bm25(["lives in Porto", "works at a bakery"], "where does she live? Porto")
    [(0, 0.7361701090084937)]
    """
    words = terms(query)
    if not words or not docs:
        return []
    # One C-level regex pass per document finds the query words; tokenising every document
    # in Python cost ~15 us a document, the bulk of an as-of search.
    find = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, words)) + r")(?!\w)").findall
    lowered = [d.lower() for d in docs]
    bags = [Counter(find(d)) for d in lowered]
    lengths = [len(d.split()) for d in lowered]
    avg = max(1.0, sum(lengths) / len(lengths))
    n = len(bags)
    out: list[tuple[int, float]] = []
    df = {w: sum(1 for b in bags if w in b) for w in words}
    for i, bag in enumerate(bags):
        length = lengths[i]
        score = 0.0
        for w in words:
            tf = bag.get(w, 0)
            if tf:
                idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                score += idf * tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * length / avg))
        if score > 0:
            out.append((i, score))
    return sorted(out, key=lambda kv: (-kv[1], kv[0]))


def search_as_of(
    records: Sequence[MemoryRecord],
    query_vector: npt.NDArray[np.float32] | None,
    query: str,
    *,
    at: float,
    limit: int,
    threshold: float | None,
    cfg: RetrievalConfig,
) -> list[Hit]:
    """Rank ``records`` (each with its vector) for ``query``; ``at`` is T in epoch seconds,
    the time decay measures ages from when it is enabled."""
    ranked: dict[str, list[tuple[int, float]]] = {}
    sims: dict[int, float] = {}
    if query_vector is not None and records:
        matrix = np.stack([np.asarray(r.vector, np.float32) for r in records])
        cos = matrix @ np.asarray(query_vector, np.float32)
        sims = {i: float(c) for i, c in enumerate(cos)}
        if cfg.use_vector:
            order = np.argsort(-cos, kind="stable")[: cfg.candidates]
            ranked["vector"] = [(int(i), float(cos[i])) for i in order]
    if cfg.use_keyword:
        ranked["keyword"] = bm25([r.memory for r in records], query)[: cfg.candidates]
    weights = {"vector": cfg.vector_weight, "keyword": cfg.keyword_weight}
    if cfg.fusion == "rrf":
        fused = fusion.rrf(ranked, k=cfg.rrf_k, weights=weights)
    else:
        fused = fusion.normalized(ranked, weights=weights)
    if cfg.decay.enabled:
        fused = decay.reweight(fused, dict(enumerate(records)), cfg.decay, at=at)
    if threshold is not None:
        fused = [(i, s) for i, s in fused if sims.get(i, 0.0) >= threshold]
    fused = fused[:limit]
    if not fused:
        return []
    top = fused[0][1] or 1.0
    hits = []
    for i, score in fused:
        record = records[i]
        record.vector = None
        hits.append(Hit(record, score / top, sims.get(i, 0.0)))
    return hits
