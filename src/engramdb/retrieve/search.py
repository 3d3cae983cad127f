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
from engramdb.store.base import Store
from engramdb.text.terms import terms


@dataclass
class Hit:
    """A search result: the record, its fused score and its cosine similarity to the query
    as searched (the embedding of :func:`search_text`)."""

    record: MemoryRecord
    score: float
    similarity: float


def search_text(
    query: str, entities: graph.QueryEntities | None, cfg: RetrievalConfig, limit: int = 0
) -> str:
    """The text a search for ``query`` embeds, given the query's ``entities`` in the scope.

    With ``cfg.topic_query`` it is :func:`engramdb.graph.retrieve.topic`: the query without
    the names linked to more memories than the candidate budget (``max(cfg.candidates,
    limit)``), else the whole query. ``entities`` None (graph off, or an ``as_of`` search,
    which has no graph channel to keep the named person's memories in front) means the
    whole query. Searches and :meth:`engramdb.Memory.feedback` both embed this text, so a
    judgement's query vector and a later search for the same question are alike. Feedback
    has no ``limit`` and matches in the judged memory's own scope: a search with ``limit``
    above ``cfg.candidates``, or in a wider scope, may count a name differently, and the
    judgement then counts as for a paraphrase (a cosine below 1).

    >>> cfg, melanie = RetrievalConfig(), graph.QueryEntities({"m": ("melanie", 80)})
    >>> search_text(" Where do Melanie's kids play? ", melanie, cfg)
    'Where do kids play?'
    >>> search_text("Where do Melanie's kids play?", None, cfg)
    "Where do Melanie's kids play?"
    """
    text = query.strip()
    if entities is None or not cfg.topic_query:
        return text
    return graph.topic(text, entities, max(cfg.candidates, limit))


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
) -> list[Hit]:
    """Hybrid search; ``threshold`` drops hits whose cosine similarity is below it.

    ``query_vector`` is the embedding of :func:`search_text`: vector search looks for it,
    and reported similarities, ``threshold`` and the feedback re-rank are cosines to it.
    Keyword and graph search read ``query`` whole. ``entities`` are the query's entities
    when the caller already matched them (see :func:`engramdb.graph.retrieve.match`); with
    ``cfg.use_graph`` they are matched here otherwise.
    """
    k = max(cfg.candidates, limit)
    ranked: dict[str, list[tuple[int, float]]] = {}
    if cfg.use_vector and query_vector is not None:
        ranked["vector"] = store.vector_search(scope, where, query_vector, k)
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
    sims = dict(ranked.get("vector", []))
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
