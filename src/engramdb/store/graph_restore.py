"""Writing an exported graph back with its ids, in the store's transaction (see
:mod:`engramdb.transfer`).

Rows name memories by id; the write finds their row ids in the target store and drops
what names a memory it does not hold in the row's own scope.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Sequence

from engramdb.errors import ConflictError
from engramdb.models.graph import GraphEntity, GraphImport, GraphMerge, GraphRelation
from engramdb.store.graph_base import GraphBase, scope_key
from engramdb.store.graph_dump import row_scope

# Ids derived for rows imported into a scope where their own id is taken (see _placed).
_NAMESPACE = uuid.UUID("6f1d3c52-2a8e-4c61-9d0b-3c1f6f0e8a47")


def _rowid(rowids: dict[str, tuple[int, str]], memory_id: str, key: str | None) -> int | None:
    """The row id of a memory the store holds in the scope ``key``, else None."""
    found = rowids.get(memory_id)
    return found[0] if found is not None and found[1] == key else None


class GraphRestore(GraphBase):
    """The import write of :class:`~engramdb.store.graphsql.GraphSQL`."""

    def restore(self, tenant: str, graph: GraphImport) -> dict[str, int]:
        """Write an exported graph into ``tenant`` with its ids; return what was written.

        Idempotent: an entity, relation or merge whose id is stored is kept as it is, and
        links and sources already there are skipped. An entity whose normal form its scope
        already has under another id is that entity (as when the write path resolves a
        name), and so is a current relation matching a stored current one. Links, sources
        and merge moves naming a memory ``tenant`` does not hold in the row's own scope are
        dropped (a graph row never points into another scope); a relation left without a
        source is not written, and a new entity left with no link, relation or merge goes
        (the store keeps neither). An id that belongs to another tenant raises
        :class:`ConflictError`.
        """
        counts: Counter[str] = Counter()
        rowids = self._memory_rowids(tenant, graph)
        keys = {e.id: scope_key(e.scope) for e in graph.entities}
        entities, fresh = self._restore_entities(tenant, graph.entities, counts)
        for item in graph.links:
            for entity_id, role in item.links:
                rowid = _rowid(rowids, item.memory_id, keys.get(entity_id))
                if rowid is None:
                    counts["links_dropped"] += 1
                    continue
                counts["entity_links"] += len(
                    self._q(
                        "INSERT INTO entity_links (entity_id, memory_rowid, memory_id, tenant, "
                        "role) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                        (entities.get(entity_id, entity_id), rowid, item.memory_id, tenant, role),
                    )
                )
        relations = self._restore_relations(tenant, graph.relations, entities, rowids, counts)
        for merge in graph.merges:
            self._restore_merge(tenant, merge, keys, entities, relations, rowids, counts)
        dropped = self._drop_unused(fresh)
        counts["entities"] -= dropped
        counts["entities_dropped"] += dropped
        return {k: v for k, v in sorted(counts.items()) if v}

    def _drop_unused(self, entity_ids: Sequence[str]) -> int:
        """Delete those of the new entities nothing links, relates or merges, as the store's
        own cleanup would (a merged one stays: its name still finds the target); how many."""
        gone = 0
        for marks, part in self._chunks(entity_ids):
            gone += len(
                self._q(
                    f"DELETE FROM entities WHERE id IN ({marks}) "
                    "AND merged_into IS NULL "
                    "AND NOT EXISTS (SELECT 1 FROM entity_links l WHERE l.entity_id = entities.id) "
                    "AND NOT EXISTS (SELECT 1 FROM relations r WHERE r.subject_id = entities.id "
                    "OR r.object_id = entities.id) "
                    "AND NOT EXISTS (SELECT 1 FROM entity_merges g WHERE "
                    "g.source_id = entities.id OR g.target_id = entities.id) RETURNING 1",
                    part,
                )
            )
        return gone

    def _memory_rowids(self, tenant: str, graph: GraphImport) -> dict[str, tuple[int, str]]:
        """Row id and scope key of each memory the graph names that ``tenant`` holds."""
        named = sorted(
            {item.memory_id for item in graph.links}
            | {m for r in graph.relations for m, _ in r.sources}
            | {m for g in graph.merges for m in g.links}
        )
        out: dict[str, tuple[int, str]] = {}
        for marks, part in self._chunks(named):
            out.update(
                (str(r[0]), (int(r[1]), scope_key(row_scope(r[2:]))))
                for r in self._q(
                    f"SELECT id, rowid, tenant, user_id, agent_id, run_id FROM memories WHERE "
                    f"tenant = ? AND id IN "
                    f"({marks})",
                    [tenant, *part],
                )
            )
        return out

    def _placed(
        self, table: str, row_id: str, tenant: str, key: str, column: str = "scope_key"
    ) -> tuple[str, bool]:
        """The id ``row_id`` takes in ``tenant`` where ``column`` is ``key`` (its scope; a
        merge's source entity), and whether it is stored.

        An id stored with another ``key`` in the tenant (the file imported again for another
        user) gets an id of its own derived from both, so importing it again finds it; an id
        of another tenant raises :class:`ConflictError`, as a memory id does."""
        rows = self._q(f"SELECT tenant, {column} FROM {table} WHERE id = ?", (row_id,))
        if not rows:
            return row_id, False
        if rows[0][0] != tenant:
            raise ConflictError(
                f"id {row_id!r} of the import is taken in {table} by another tenant"
            )
        if rows[0][1] == key:
            return row_id, True
        own = str(uuid.uuid5(_NAMESPACE, f"{key}\n{row_id}"))
        return own, bool(self._q(f"SELECT 1 FROM {table} WHERE id = ?", (own,)))

    def _restore_entities(
        self, tenant: str, items: Sequence[GraphEntity], counts: Counter[str]
    ) -> tuple[dict[str, str], list[str]]:
        """Insert the entities; return file id -> stored id for those stored under another,
        and the stored ids of those inserted."""
        renamed: dict[str, str] = {}
        fresh: list[str] = []
        for e in items:
            key = scope_key(e.scope)
            own, stored = self._placed("entities", e.id, tenant, key)
            if not stored:
                same = self._q(
                    "SELECT id FROM entities WHERE tenant = ? AND scope_key = ? AND norm = ?",
                    (tenant, key, e.norm),
                )
                if same:
                    # Merges followed, as the write path resolves a name.
                    first = str(same[0][0])
                    own, stored = self._finals([first])[first], True
            if own != e.id:
                renamed[e.id] = own
            if stored:
                counts["entities_existing"] += 1
            else:
                self._q(
                    "INSERT INTO entities (id, tenant, user_id, agent_id, run_id, scope_key, "
                    f"name, norm, kind, created_at) VALUES ({self._marks(10)})",
                    (
                        own,
                        tenant,
                        e.scope.user_id,
                        e.scope.agent_id,
                        e.scope.run_id,
                        key,
                        e.name,
                        e.norm,
                        e.kind,
                        e.created_at,
                    ),
                )
                fresh.append(e.id)
                counts["entities"] += 1
            for alias in e.aliases:
                counts["aliases"] += len(
                    self._q(
                        "INSERT INTO entity_aliases (tenant, scope_key, norm, entity_id) VALUES "
                        "(?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                        (tenant, key, alias, own),
                    )
                )
        # After every entity is in: a merged one may point at one listed after it.
        merged = {e.id: e.merged_into for e in items if e.merged_into}
        for file_id in fresh:
            if file_id in merged:
                self._q(
                    "UPDATE entities SET merged_into = ? WHERE id = ?",
                    (renamed.get(merged[file_id], merged[file_id]), renamed.get(file_id, file_id)),
                )
        return renamed, [renamed.get(f, f) for f in fresh]

    def _restore_relations(
        self,
        tenant: str,
        items: Sequence[GraphRelation],
        entities: dict[str, str],
        rowids: dict[str, tuple[int, str]],
        counts: Counter[str],
    ) -> dict[str, str]:
        """Insert relations and their sources; return file id -> stored id where they differ."""
        renamed: dict[str, str] = {}
        for r in items:
            key = scope_key(r.scope)
            sources = [
                (m, rowid, eps)
                for m, eps in r.sources
                if (rowid := _rowid(rowids, m, key)) is not None
            ]
            counts["sources_dropped"] += len(r.sources) - len(sources)
            subj = entities.get(r.subject_id, r.subject_id)
            obj = entities.get(r.object_id, r.object_id)
            if not sources or subj == obj:
                counts["relations_dropped"] += 1
                continue
            relation_id, stored = self._placed("relations", r.id, tenant, key)
            if not stored and r.invalid_at is None:
                # As the write path keeps it: one current relation per (subject, predicate,
                # object) in a scope.
                found = self._q(
                    "SELECT id FROM relations WHERE tenant = ? AND scope_key = ? AND "
                    "subject_id = ? AND predicate = ? AND object_id = ? AND invalid_at IS NULL",
                    (tenant, key, subj, r.predicate, obj),
                )
                if found:
                    relation_id, stored = str(found[0][0]), True
            if relation_id != r.id:
                renamed[r.id] = relation_id
            if stored:
                counts["relations_existing"] += 1
            else:
                self._q(
                    "INSERT INTO relations (id, tenant, user_id, agent_id, run_id, scope_key, "
                    "subject_id, predicate, object_id, valid_at, invalid_at, created_at) VALUES "
                    f"({self._marks(12)})",
                    (
                        relation_id,
                        tenant,
                        r.scope.user_id,
                        r.scope.agent_id,
                        r.scope.run_id,
                        key,
                        subj,
                        r.predicate,
                        obj,
                        r.valid_at,
                        r.invalid_at,
                        r.created_at,
                    ),
                )
                counts["relations"] += 1
            for memory_id, rowid, episodes in sources:
                counts["relation_sources"] += len(
                    self._q(
                        "INSERT INTO relation_sources (relation_id, memory_rowid, memory_id, "
                        "episode_ids) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                        (relation_id, rowid, memory_id, json.dumps(list(episodes))),
                    )
                )
        return renamed

    def _restore_merge(
        self,
        tenant: str,
        merge: GraphMerge,
        keys: dict[str, str],
        entities: dict[str, str],
        relations: dict[str, str],
        rowids: dict[str, tuple[int, str]],
        counts: Counter[str],
    ) -> None:
        source = entities.get(merge.source_id, merge.source_id)
        target = entities.get(merge.target_id, merge.target_id)
        merge_id, stored = self._placed("entity_merges", merge.id, tenant, source, "source_id")
        if stored:
            counts["merges_existing"] += 1
            return
        known = dict(
            self._q(
                "SELECT id, merged_into FROM entities WHERE tenant = ? AND id IN (?, ?)",
                (tenant, source, target),
            )
        )
        # A merge still in force must be what the stored source says (merged into the
        # target); one the store contradicts (the name was already there, unmerged) is left
        # out rather than recorded as a merge that never happened here.
        if (
            source == target
            or len(known) != 2
            or (merge.undone_at is None and known[source] != target)
        ):
            counts["merges_dropped"] += 1
            return
        undo = {
            "links": [
                rowid
                for m in merge.links
                if (rowid := _rowid(rowids, m, keys.get(merge.source_id))) is not None
            ],
            "subject": [relations.get(x, x) for x in merge.subject],
            "object": [relations.get(x, x) for x in merge.object],
        }
        self._q(
            "INSERT INTO entity_merges (id, tenant, source_id, target_id, undo, created_at, "
            "undone_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (merge_id, tenant, source, target, json.dumps(undo), merge.created_at, merge.undone_at),
        )
        counts["merges"] += 1
