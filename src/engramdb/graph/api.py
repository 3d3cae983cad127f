"""What :class:`~engramdb.Memory`'s graph methods do, kept out of the facade.

Each function takes the store and a scope already validated by the facade and returns
public dicts. Writes go through the store's own transactions.
"""

from __future__ import annotations

from typing import Any

from engramdb.embed.base import Embedder
from engramdb.errors import ValidationError
from engramdb.graph import links
from engramdb.graph.resolve import normalise
from engramdb.models import Scope, WriteBatch
from engramdb.models.graph import EntityRow
from engramdb.store.base import Store
from engramdb.timeutil import iso, utcnow

#: Most nodes :func:`graph` returns (a dashboard draws no more than this usefully).
MAX_NODES = 500


def link(store: Store, embedder: Embedder | None, batch: WriteBatch) -> WriteBatch:
    """Resolve ``batch.graph`` against the scope's entities (before ``store.apply``)."""
    if batch.graph:
        links.resolve(store, embedder, batch)
    return batch


def entities(store: Store, scope: Scope, *, limit: int) -> list[dict[str, Any]]:
    """Entities of a scope, most linked first (merged ones are left out)."""
    rows = store.graph_entities(scope, limit=limit)
    return [e.to_dict() for e in rows if e.merged_into is None]


def _entity_ids(store: Store, scope: Scope, entity: str) -> list[str]:
    if not isinstance(entity, str) or not entity.strip():
        raise ValidationError(f"entity must be a non-empty name or id, not {entity!r}")
    by_id = [e.id for e in store.graph_entities(scope, limit=1, ids=[entity])]
    if by_id:
        return by_id
    return [eid for eid, _, _ in store.graph_lookup(scope, [normalise(entity)], 0)]


def relations(
    store: Store,
    scope: Scope,
    *,
    entity: str | None,
    include_invalid: bool,
    limit: int,
) -> list[dict[str, Any]]:
    """Relations of a scope (touching ``entity``, a name or id, when given), newest first."""
    ids = None if entity is None else _entity_ids(store, scope, entity)
    if ids is not None and not ids:
        return []
    rows = store.graph_relations(scope, ids, include_invalid=include_invalid, limit=limit)
    return [{"id": r.id, **r.to_dict()} for r in rows]


def graph(store: Store, scope: Scope, *, limit: int, include_invalid: bool) -> dict[str, Any]:
    """Nodes (entities) and edges (relations) of a scope, for drawing."""
    nodes: list[EntityRow] = [
        e for e in store.graph_entities(scope, limit=min(limit, MAX_NODES)) if not e.merged_into
    ]
    shown = {e.id for e in nodes}
    edges = [
        r
        for r in store.graph_relations(
            scope, None, include_invalid=include_invalid, limit=limit * 4
        )
        if r.source_id in shown and r.target_id in shown
    ]
    return {
        "nodes": [e.to_dict() for e in nodes],
        "edges": [
            {"id": r.id, "source_id": r.source_id, "target_id": r.target_id, **r.to_dict()}
            for r in edges
        ],
    }


def _check_id(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be a non-empty string, not {value!r}")
    return value


def merge(store: Store, tenant: str, source_id: Any, target_id: Any) -> dict[str, Any]:
    """Merge entity ``source_id`` into ``target_id``; the merge record (for unmerge)."""
    source = _check_id("source_id", source_id)
    target = _check_id("target_id", target_id)
    return store.merge_entities(tenant, source, target, iso(utcnow())).to_dict()


def unmerge(store: Store, tenant: str, merge_id: Any) -> dict[str, Any]:
    """Undo a merge by its id; the updated merge record."""
    return store.unmerge_entities(tenant, _check_id("merge_id", merge_id), iso(utcnow())).to_dict()
