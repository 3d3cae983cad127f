"""The graph as an export carries it: paged reads of the stored rows with their ids, and one
write that puts such rows back (see :mod:`engramdb.transfer`).

Rows name memories by id, never by row id: row ids differ between two stores, so the reads
translate them to memory ids and the write translates back, dropping what names a memory
the target store does not hold.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

from engramdb.errors import ConflictError
from engramdb.graph.models import (
    GraphEntity,
    GraphImport,
    GraphItem,
    GraphMerge,
    GraphPart,
    GraphRelation,
    MemoryLinks,
)
from engramdb.models import Scope
from engramdb.store.graph_base import CHUNK, GraphBase, scope_key

# Ids derived for rows imported into a scope where their own id is taken (see _placed).
_NAMESPACE = uuid.UUID("6f1d3c52-2a8e-4c61-9d0b-3c1f6f0e8a47")


def _scope(r: Sequence[Any]) -> Scope:
    return Scope(tenant=str(r[0]), user_id=r[1], agent_id=r[2], run_id=r[3])


class GraphTransfer(GraphBase):
    """Export reads and the import write of :class:`~engramdb.store.graphsql.GraphSQL`."""

    # -- reads ----------------------------------------------------------------------------

    def export(self, scope: Scope, part: GraphPart, after: str, limit: int) -> list[GraphItem]:
        """Up to ``limit`` rows of one part of the scope's graph whose key (the id; the
        memory id for links) sorts after ``after``, in key order: page by the last key."""
        if part == "entities":
            return list(self._export_entities(scope, after, limit))
        if part == "links":
            return list(self._export_links(scope, after, limit))
        if part == "relations":
            return list(self._export_relations(scope, after, limit))
        return list(self._export_merges(scope, after, limit))

    def _export_entities(self, scope: Scope, after: str, limit: int) -> list[GraphEntity]:
        s_sql, s_params = self._scope_sql(scope, "e")
        rows = self._q(
            "SELECT e.tenant, e.user_id, e.agent_id, e.run_id, e.id, e.name, e.norm, e.kind, "
            f"e.created_at, e.merged_into FROM entities e WHERE {s_sql} AND e.id > ? "
            "ORDER BY e.id LIMIT ?",
            [*s_params, after, limit],
        )
        aliases: dict[str, list[str]] = {}
        ids = [str(r[4]) for r in rows]
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            for entity_id, norm in self._q(
                f"SELECT entity_id, norm FROM entity_aliases WHERE entity_id IN "
                f"({self._marks(len(part))}) ORDER BY norm",
                part,
            ):
                aliases.setdefault(str(entity_id), []).append(str(norm))
        return [
            GraphEntity(
                id=str(r[4]),
                name=str(r[5]),
                norm=str(r[6]),
                kind=str(r[7]),
                scope=_scope(r),
                created_at=str(r[8]),
                merged_into=r[9],
                aliases=tuple(aliases.get(str(r[4]), ())),
            )
            for r in rows
        ]

    def _export_links(self, scope: Scope, after: str, limit: int) -> list[MemoryLinks]:
        # Paged by memory, so that one memory's links never straddle two pages.
        s_sql, s_params = self._scope_sql(scope, "m")
        memories = [
            str(r[0])
            for r in self._q(
                f"SELECT m.id FROM memories m WHERE {s_sql} AND m.id > ? AND EXISTS (SELECT 1 "
                "FROM entity_links l WHERE l.memory_rowid = m.rowid) ORDER BY m.id LIMIT ?",
                [*s_params, after, limit],
            )
        ]
        links: dict[str, list[tuple[str, str]]] = {}
        for start in range(0, len(memories), CHUNK):
            part = memories[start : start + CHUNK]
            for memory_id, entity_id, role in self._q(
                "SELECT l.memory_id, l.entity_id, l.role FROM entity_links l JOIN memories m ON "
                f"m.rowid = l.memory_rowid WHERE m.id IN ({self._marks(len(part))}) "
                "ORDER BY l.entity_id",
                part,
            ):
                links.setdefault(str(memory_id), []).append((str(entity_id), str(role)))
        return [MemoryLinks(m, tuple(links.get(m, ()))) for m in memories]

    def _export_relations(self, scope: Scope, after: str, limit: int) -> list[GraphRelation]:
        s_sql, s_params = self._scope_sql(scope, "r")
        rows = self._q(
            "SELECT r.tenant, r.user_id, r.agent_id, r.run_id, r.id, r.subject_id, r.predicate, "
            f"r.object_id, r.valid_at, r.invalid_at, r.created_at FROM relations r WHERE {s_sql} "
            "AND r.id > ? ORDER BY r.id LIMIT ?",
            [*s_params, after, limit],
        )
        sources: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        ids = [str(r[4]) for r in rows]
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            for relation_id, memory_id, episodes in self._q(
                "SELECT relation_id, memory_id, episode_ids FROM relation_sources WHERE "
                f"relation_id IN ({self._marks(len(part))}) ORDER BY memory_rowid",
                part,
            ):
                sources.setdefault(str(relation_id), []).append(
                    (str(memory_id), tuple(json.loads(episodes)))
                )
        return [
            GraphRelation(
                id=str(r[4]),
                subject_id=str(r[5]),
                predicate=str(r[6]),
                object_id=str(r[7]),
                scope=_scope(r),
                valid_at=r[8],
                invalid_at=r[9],
                created_at=str(r[10]),
                sources=tuple(sources.get(str(r[4]), ())),
            )
            for r in rows
        ]

    def _export_merges(self, scope: Scope, after: str, limit: int) -> list[GraphMerge]:
        # The merge log has no scope of its own: a merge belongs to its source's scope.
        s_sql, s_params = self._scope_sql(scope, "e")
        rows = self._q(
            "SELECT g.id, g.source_id, g.target_id, g.created_at, g.undone_at, g.undo FROM "
            f"entity_merges g JOIN entities e ON e.id = g.source_id WHERE {s_sql} AND g.id > ? "
            "ORDER BY g.id LIMIT ?",
            [*s_params, after, limit],
        )
        undo = [json.loads(r[5]) for r in rows]
        rowids = sorted({int(x) for u in undo for x in u["links"]})
        ids: dict[int, str] = {}
        for start in range(0, len(rowids), CHUNK):
            part = rowids[start : start + CHUNK]
            ids.update(
                (int(rowid), str(memory_id))
                for rowid, memory_id in self._q(
                    f"SELECT rowid, id FROM memories WHERE rowid IN ({self._marks(len(part))})",
                    part,
                )
            )
        return [
            GraphMerge(
                id=str(r[0]),
                source_id=str(r[1]),
                target_id=str(r[2]),
                created_at=str(r[3]),
                undone_at=r[4],
                links=tuple(sorted(ids[int(x)] for x in u["links"] if int(x) in ids)),
                subject=tuple(str(x) for x in u["subject"]),
                object=tuple(str(x) for x in u["object"]),
            )
            for r, u in zip(rows, undo, strict=True)
        ]

    def counts(self, tenant: str) -> dict[str, int]:
        """How many graph rows ``tenant`` has, by kind: what a move must keep."""
        row = self._q(
            "SELECT (SELECT count(*) FROM entities WHERE tenant = ?), "
            "(SELECT count(*) FROM entities WHERE tenant = ? AND merged_into IS NOT NULL), "
            "(SELECT count(*) FROM entity_aliases WHERE tenant = ?), "
            "(SELECT count(*) FROM entity_links WHERE tenant = ?), "
            "(SELECT count(*) FROM relations WHERE tenant = ?), "
            "(SELECT count(*) FROM relations WHERE tenant = ? AND invalid_at IS NOT NULL), "
            "(SELECT count(*) FROM relation_sources s JOIN relations r ON r.id = s.relation_id "
            "WHERE r.tenant = ?), "
            "(SELECT count(*) FROM entity_merges WHERE tenant = ?)",
            [tenant] * 8,
        )[0]
        names = (
            "entities",
            "merged_entities",
            "aliases",
            "entity_links",
            "relations",
            "ended_relations",
            "relation_sources",
            "merges",
        )
        return {name: int(n) for name, n in zip(names, row, strict=True)}

    # -- the write ------------------------------------------------------------------------

    def restore(self, tenant: str, graph: GraphImport) -> dict[str, int]:
        """Write an exported graph into ``tenant`` with its ids; return what was written.

        Idempotent: an entity, relation or merge whose id is stored is kept as it is, and
        links and sources already there are skipped. An entity whose normal form its scope
        already has under another id is that entity (as when the write path resolves a
        name), and so is a current relation matching a stored current one. Links, sources
        and merge moves naming a memory ``tenant`` does not hold are dropped; a relation left
        without a source is not written (the store keeps no relation no memory states). An
        id that belongs to another tenant raises :class:`ConflictError`.
        """
        counts: Counter[str] = Counter()
        rowids = self._memory_rowids(tenant, graph)
        entities = self._restore_entities(tenant, graph.entities, counts)
        for item in graph.links:
            rowid = rowids.get(item.memory_id)
            if rowid is None:
                counts["links_dropped"] += len(item.links)
                continue
            for entity_id, role in item.links:
                counts["entity_links"] += len(
                    self._q(
                        "INSERT INTO entity_links (entity_id, memory_rowid, memory_id, tenant, "
                        "role) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                        (entities.get(entity_id, entity_id), rowid, item.memory_id, tenant, role),
                    )
                )
        relations = self._restore_relations(tenant, graph.relations, entities, rowids, counts)
        for merge in graph.merges:
            self._restore_merge(tenant, merge, entities, relations, rowids, counts)
        return {k: v for k, v in sorted(counts.items()) if v}

    def _memory_rowids(self, tenant: str, graph: GraphImport) -> dict[str, int]:
        named = sorted(
            {item.memory_id for item in graph.links}
            | {m for r in graph.relations for m, _ in r.sources}
            | {m for g in graph.merges for m in g.links}
        )
        out: dict[str, int] = {}
        for start in range(0, len(named), CHUNK):
            part = named[start : start + CHUNK]
            out.update(
                (str(memory_id), int(rowid))
                for memory_id, rowid in self._q(
                    f"SELECT id, rowid FROM memories WHERE tenant = ? AND id IN "
                    f"({self._marks(len(part))})",
                    [tenant, *part],
                )
            )
        return out

    def _placed(self, table: str, row_id: str, tenant: str, key: str | None) -> tuple[str, bool]:
        """The id ``row_id`` takes in ``tenant`` (and scope ``key``), and whether it is stored.

        An id stored in another scope of the tenant (the file imported again for another
        user) gets an id of its own derived from both, so a third import finds it; an id of
        another tenant raises :class:`ConflictError`, as a memory id does."""
        cols = "tenant" if key is None else "tenant, scope_key"
        rows = self._q(f"SELECT {cols} FROM {table} WHERE id = ?", (row_id,))
        if not rows:
            return row_id, False
        if rows[0][0] != tenant:
            raise ConflictError(
                f"id {row_id!r} of the import is taken in {table} by another tenant"
            )
        if key is None or rows[0][1] == key:
            return row_id, True
        own = str(uuid.uuid5(_NAMESPACE, f"{key}\n{row_id}"))
        return own, bool(self._q(f"SELECT 1 FROM {table} WHERE id = ?", (own,)))

    def _restore_entities(
        self, tenant: str, items: Sequence[GraphEntity], counts: Counter[str]
    ) -> dict[str, str]:
        """Insert the entities; return file id -> stored id for those stored under another."""
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
                    own, stored = str(same[0][0]), True
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
        return renamed

    def _restore_relations(
        self,
        tenant: str,
        items: Sequence[GraphRelation],
        entities: dict[str, str],
        rowids: dict[str, int],
        counts: Counter[str],
    ) -> dict[str, str]:
        """Insert relations and their sources; return file id -> stored id where they differ."""
        renamed: dict[str, str] = {}
        for r in items:
            sources = [(m, eps) for m, eps in r.sources if m in rowids]
            counts["sources_dropped"] += len(r.sources) - len(sources)
            subj = entities.get(r.subject_id, r.subject_id)
            obj = entities.get(r.object_id, r.object_id)
            if not sources or subj == obj:
                counts["relations_dropped"] += 1
                continue
            key = scope_key(r.scope)
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
            for memory_id, episodes in sources:
                counts["relation_sources"] += len(
                    self._q(
                        "INSERT INTO relation_sources (relation_id, memory_rowid, memory_id, "
                        "episode_ids) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                        (relation_id, rowids[memory_id], memory_id, json.dumps(list(episodes))),
                    )
                )
        return renamed

    def _restore_merge(
        self,
        tenant: str,
        merge: GraphMerge,
        entities: dict[str, str],
        relations: dict[str, str],
        rowids: dict[str, int],
        counts: Counter[str],
    ) -> None:
        if self._placed("entity_merges", merge.id, tenant, None)[1]:
            counts["merges_existing"] += 1
            return
        source = entities.get(merge.source_id, merge.source_id)
        target = entities.get(merge.target_id, merge.target_id)
        known = self._q(
            "SELECT count(*) FROM entities WHERE tenant = ? AND id IN (?, ?)",
            (tenant, source, target),
        )
        if source == target or int(known[0][0]) != 2:
            counts["merges_dropped"] += 1
            return
        undo = {
            "links": [rowids[m] for m in merge.links if m in rowids],
            "subject": [relations.get(x, x) for x in merge.subject],
            "object": [relations.get(x, x) for x in merge.object],
        }
        self._q(
            "INSERT INTO entity_merges (id, tenant, source_id, target_id, undo, created_at, "
            "undone_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (merge.id, tenant, source, target, json.dumps(undo), merge.created_at, merge.undone_at),
        )
        counts["merges"] += 1
