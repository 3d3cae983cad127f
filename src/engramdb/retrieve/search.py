"""One search: embed, gather vector and keyword candidates in scope, fuse, cut."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engramdb.config import RetrievalConfig
from engramdb.filters import Node
from engramdb.graph import retrieve as graph
from engramdb.models import MemoryRecord, Scope
from engramdb.retrieve import decay, feedback, fusion, temporal
from engramdb.retrieve.text import terms
from engramdb.store.base import Store


@dataclass
class Hit:
    """A search result: the record, its fused score and its cosine similarity to the query."""

    record: MemoryRecord
    score: float
    similarity: float


def search(
    store: Store,
    query_vector: npt.NDArray[np.float32] | None,
    query: str,
    scope: Scope,
    where: Node | None,
    *,
    limit: int,
    threshold: float | None,
    cfg: RetrievalConfig,
    entities: graph.QueryEntities | None = None,
    topic_vector: npt.NDArray[np.float32] | None = None,
) -> list[Hit]:
    """Hybrid search; ``threshold`` drops hits whose cosine similarity is below it.

    ``entities`` are the query's entities when the caller already matched them (see
    :func:`engramdb.graph.retrieve.match`); with ``cfg.use_graph`` they are matched here
    otherwise. ``topic_vector``, when given, is what vector search looks for (the embedding
    of :func:`engramdb.graph.retrieve.topic`); similarities and feedback still use
    ``query_vector``.
    """
    k = max(cfg.candidates, limit)
    ranked: dict[str, list[tuple[int, float]]] = {}
    if cfg.use_vector and query_vector is not None:
        seek = query_vector if topic_vector is None else topic_vector
        ranked["vector"] = store.vector_search(scope, where, seek, k)
    if cfg.use_keyword:
        ranked["keyword"] = store.keyword_search(scope, where, terms(query), k)
    if cfg.use_graph and cfg.graph_weight > 0:
        if entities is None:
            entities = graph.match(store, scope, query, k)
        seen = sorted({r for items in ranked.values() for r, _ in items})
        ranked["graph"] = graph.ranked(
            store,
            scope,
            where,
            entities,
            seen,
            k=k,
            hops=cfg.graph_hops,
            mention_factor=cfg.graph_mention_factor,
        )
    weights = {
        "vector": cfg.vector_weight,
        "keyword": cfg.keyword_weight,
        "graph": cfg.graph_weight,
    }
    if cfg.temporal:
        extra = temporal.channels(store, query, ranked)
        ranked.update(extra)
        weights.update(
            temporal.weights_for(list(extra), cfg.time_cue_weight, cfg.time_window_weight)
        )
    if cfg.fusion == "rrf":
        fused = fusion.rrf(ranked, k=cfg.rrf_k, weights=weights)
    else:
        fused = fusion.normalized(ranked, weights=weights)
    fused = feedback.rerank(store, scope.tenant, fused, query_vector, cfg)
    if cfg.decay.enabled:
        pool = fused[: max(cfg.decay.pool, limit)]
        fused = decay.reweight(pool, store.get_many([r for r, _ in pool]), cfg.decay)
    if threshold is None:
        fused = fused[:limit]
    # The vector list's scores are cosines to the query only when it searched for the query.
    sims = dict(ranked.get("vector", [])) if topic_vector is None else {}
    if query_vector is not None:
        # Keyword-only hits need their cosine too: it is reported, and thresholds use it.
        missing = [r for r, _ in fused if r not in sims]
        sims.update(zip(missing, store.similarities(scope, missing, query_vector), strict=True))
    if threshold is not None:
        fused = [(r, s) for r, s in fused if sims.get(r, 0.0) >= threshold][:limit]
    if not fused:
        return []
    top = fused[0][1] or 1.0
    # Rows deleted between ranking and fetching simply drop out.
    records = store.get_many([r for r, _ in fused])
    return [
        Hit(records[rowid], score / top, sims.get(rowid, 0.0))
        for rowid, score in fused
        if rowid in records
    ]
