"""The graph as an export carries it: paged reads of the stored rows with their ids (see
:mod:`engramdb.transfer`), and counts of them for ``stats``.

Rows name memories by id, never by row id: row ids differ between two stores, so the merge
log's row ids are translated to memory ids here (and back by
:mod:`~engramdb.store.graph_restore`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from engramdb.models import Scope
from engramdb.models.graph import (
    GraphEntity,
    GraphItem,
    GraphMerge,
    GraphPart,
    GraphRelation,
    MemoryLinks,
)
from engramdb.store.graph_base import GraphBase


def row_scope(r: Sequence[Any]) -> Scope:
    """The scope of a row's (tenant, user_id, agent_id, run_id) columns."""
    return Scope(tenant=str(r[0]), user_id=r[1], agent_id=r[2], run_id=r[3])


class GraphDump(GraphBase):
    """Export reads of :class:`~engramdb.store.graphsql.GraphSQL`."""

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
        for marks, part in self._chunks(ids):
            for entity_id, norm in self._q(
                f"SELECT entity_id, norm FROM entity_aliases WHERE entity_id IN "
                f"({marks}) ORDER BY norm",
                part,
            ):
                aliases.setdefault(str(entity_id), []).append(str(norm))
        return [
            GraphEntity(
                id=str(r[4]),
                name=str(r[5]),
                norm=str(r[6]),
                kind=str(r[7]),
                scope=row_scope(r),
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
        for marks, part in self._chunks(memories):
            for memory_id, entity_id, role in self._q(
                "SELECT l.memory_id, l.entity_id, l.role FROM entity_links l JOIN memories m ON "
                f"m.rowid = l.memory_rowid WHERE m.id IN ({marks}) "
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
        for marks, part in self._chunks(ids):
            for relation_id, memory_id, episodes in self._q(
                "SELECT relation_id, memory_id, episode_ids FROM relation_sources WHERE "
                f"relation_id IN ({marks}) ORDER BY memory_rowid",
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
                scope=row_scope(r),
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
        for marks, part in self._chunks(rowids):
            ids.update(
                (int(rowid), str(memory_id))
                for rowid, memory_id in self._q(
                    f"SELECT rowid, id FROM memories WHERE rowid IN ({marks})",
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
