"""Graph reads: entity lookup by name, links, neighbours, relations, entities."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from engramdb.errors import ValidationError
from engramdb.filters import Node
from engramdb.models import Scope
from engramdb.models.graph import EntityRow, MergeRecord, RelationRow
from engramdb.store.graph_base import MAX_PARAMS, MAX_UNION, GraphBase, LookupRequest

#: Most source memory ids reported per relation (the newest).
MAX_SOURCES = 20

_ENTITY_COLS = (
    "e.id, e.name, e.norm, e.kind, e.tenant, e.user_id, e.agent_id, e.run_id, e.created_at, "
    "e.merged_into"
)


class GraphReads(GraphBase):
    """The read half of :class:`~engramdb.store.graphsql.GraphSQL`."""

    def lookup(
        self, scope: Scope, norms: Sequence[str], cap: int, first_words: Sequence[str] = ()
    ) -> list[tuple[str, str, int]]:
        """(entity id, matched normal form, link count up to ``cap + 1``) of the entities in
        scope named by any of ``norms`` directly or through an alias, merges followed; also
        those whose name starts with one of ``first_words`` (candidates for a merge)."""
        return self.lookup_many([(scope, norms, first_words)], cap)[0]

    def lookup_many(
        self, requests: Sequence[LookupRequest], cap: int
    ) -> list[list[tuple[str, str, int]]]:
        """:meth:`lookup` for each ``(scope, norms, first_words)`` of ``requests``, in order.

        The requests share a few UNION queries (each part tagged with its request), so an
        import batch touching a thousand scopes costs tens of round trips, not thousands.
        """
        found: list[list[tuple[str, str, str | None, int]]] = [[] for _ in requests]
        parts: list[str] = []
        params: list[Any] = []

        def flush() -> None:
            if parts:
                for i, entity_id, norm, merged, n in self._q(" UNION ".join(parts), params):
                    found[int(i)].append((str(entity_id), str(norm), merged, int(n)))
                parts.clear()
                params.clear()

        for i, (scope, norms, first_words) in enumerate(requests):
            more, more_params = self._lookup_parts(i, scope, norms, first_words, cap)
            if len(parts) + len(more) > MAX_UNION or len(params) + len(more_params) > MAX_PARAMS:
                flush()
            parts += more
            params += more_params
        flush()
        finals = self._finals(sorted({str(m) for rows in found for _, _, m, _ in rows if m}))
        named: list[dict[str, str]] = []
        counts: dict[str, int] = {}
        for rows in found:
            out: dict[str, str] = {}
            for entity_id, norm, merged, n in rows:
                if merged is None:
                    counts[entity_id] = n
                    out.setdefault(entity_id, norm)
                else:
                    out.setdefault(finals[str(merged)], norm)
            named.append(out)
        # An entity reached only through a merged one still needs its own count.
        missing = sorted({eid for out in named for eid in out if eid not in counts})
        if missing:
            counts.update(self._counts(missing, cap))
        return [[(eid, norm, counts[eid]) for eid, norm in out.items()] for out in named]

    def _lookup_parts(
        self, tag: int, scope: Scope, norms: Sequence[str], first_words: Sequence[str], cap: int
    ) -> tuple[list[str], list[Any]]:
        # Each part yields (tag, entity id, matched norm, merged_into, link count up to cap + 1):
        # the count rides along in the same round trip, where a second query would cost as
        # much again.
        s_sql, s_params = self._scope_sql(scope, "e")
        n_sql = (
            "(SELECT count(*) FROM (SELECT 1 FROM entity_links l WHERE l.entity_id = e.id "
            f"LIMIT {self._mark}) c)"
        )
        head = f"SELECT {int(tag)}, e.id,"
        parts: list[str] = []
        params: list[Any] = []
        if norms:
            marks = self._marks(len(norms))
            parts += [
                f"{head} e.norm, e.merged_into, {n_sql} FROM entities e WHERE {s_sql} AND "
                f"e.norm IN ({marks})",
                f"{head} a.norm, e.merged_into, {n_sql} FROM entity_aliases a JOIN entities e "
                f"ON e.id = a.entity_id WHERE {s_sql} AND a.tenant = {self._mark} AND a.norm IN "
                f"({marks})",
            ]
            params += [cap + 1, *s_params, *norms, cap + 1, *s_params, scope.tenant, *norms]
        for word in first_words:
            # A range on the (tenant, norm) index: the word alone, or the word and a space.
            parts.append(
                f"{head} e.norm, e.merged_into, {n_sql} FROM entities e WHERE {s_sql} AND "
                f"(e.norm = {self._mark} OR (e.norm >= {self._mark} AND e.norm < {self._mark}))"
            )
            params += [cap + 1, *s_params, word, word + " ", word + "!"]
        return parts, params

    def links(
        self,
        scope: Scope,
        where: Node | None,
        entity_ids: Sequence[str],
        within: Sequence[int] | None,
    ) -> list[tuple[str, int, str]]:
        """(entity id, memory rowid, role) for active memories in scope (and ``where``)
        linked to ``entity_ids``; only among ``within`` rowids when given."""
        if not entity_ids or (within is not None and not within):
            return []
        s_sql, s_params = self._scope_sql(scope, "m")
        w_sql, w_params = self._where_sql(where, "m")
        params: list[Any] = list(entity_ids)
        extra = ""
        if within is not None:
            extra = f" AND l.memory_rowid IN ({self._marks(len(within))})"
            params += list(within)
        # CROSS JOIN makes SQLite read the entities' links first and look each memory up by
        # rowid; with a plain JOIN its planner (no statistics) prefers walking every memory
        # of the scope and probing the links, ~60x slower at 20k memories. Postgres plans a
        # CROSS JOIN with a WHERE like any inner join.
        rows = self._q(
            "SELECT l.entity_id, l.memory_rowid, l.role FROM entity_links l CROSS JOIN memories m "
            f"WHERE m.rowid = l.memory_rowid AND l.entity_id IN "
            f"({self._marks(len(entity_ids))}){extra} AND {s_sql} AND m.status = 'active' AND "
            f"(m.expires_at IS NULL OR m.expires_at > {self._mark}) AND {w_sql}",
            [*params, *s_params, self._now, *w_params],
        )
        return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def neighbours(
        self, scope: Scope, entity_ids: Sequence[str], cap: int
    ) -> list[tuple[str, str, int]]:
        """(entity, neighbour, neighbour's links up to ``cap + 1``) for each current relation
        in scope joining them, either direction."""
        if not entity_ids:
            return []
        s_sql, s_params = self._scope_sql(scope, "r")
        touching, t_params = self._touching(entity_ids)
        rows = self._q(
            f"SELECT r.subject_id, r.object_id FROM {touching} CROSS JOIN relations r "
            f"WHERE r.id = t.id AND {s_sql} AND r.invalid_at IS NULL",
            [*t_params, *s_params],
        )
        wanted = set(entity_ids)
        pairs: list[tuple[str, str]] = []
        for subj, obj in rows:
            if subj in wanted:
                pairs.append((str(subj), str(obj)))
            if obj in wanted:
                pairs.append((str(obj), str(subj)))
        others = sorted({dst for _, dst in pairs})
        if not others:
            return []
        counts = dict(self._counts(others, cap))
        return [(src, dst, counts.get(dst, 0)) for src, dst in pairs]

    def relations(
        self,
        scope: Scope,
        entity_ids: Sequence[str] | None,
        *,
        include_invalid: bool,
        limit: int,
    ) -> list[RelationRow]:
        """Relations in scope touching ``entity_ids`` (all when None), newest first, each with
        up to :data:`MAX_SOURCES` of the memories stating it (newest first)."""
        if entity_ids is not None and not entity_ids:
            return []
        s_sql, params = self._scope_sql(scope, "r")
        parts = [s_sql]
        source = "relations r"
        if not include_invalid:
            parts.append("r.invalid_at IS NULL")
        if entity_ids is not None:
            touching, t_params = self._touching(entity_ids)
            source = f"{touching} CROSS JOIN relations r"
            parts.append("r.id = t.id")
            params = [*t_params, *params]
        rows = self._q(
            "SELECT r.id, r.subject_id, s.name, r.predicate, r.object_id, o.name, r.valid_at, "
            f"r.invalid_at, r.created_at FROM {source} JOIN entities s ON s.id = r.subject_id "
            f"JOIN entities o ON o.id = r.object_id WHERE {' AND '.join(parts)} "
            f"ORDER BY r.created_at DESC, r.id LIMIT {self._mark}",
            [*params, limit],
        )
        if not rows:
            return []
        ids = [str(r[0]) for r in rows]
        sources: dict[str, list[str]] = {}
        # The newest few sources per relation, each an index range scan: a relation stated
        # by thousands of memories must not cost a read of all of them.
        picks = " UNION ALL ".join(
            f"SELECT * FROM (SELECT relation_id, memory_id FROM relation_sources WHERE "
            f"relation_id = {self._mark} ORDER BY memory_rowid DESC LIMIT {self._mark}) s{i}"
            for i in range(len(ids))
        )
        for relation_id, memory_id in self._q(
            picks, [v for rid in ids for v in (rid, MAX_SOURCES)]
        ):
            sources.setdefault(str(relation_id), []).append(str(memory_id))
        return [
            RelationRow(
                id=str(r[0]),
                source_id=str(r[1]),
                source=str(r[2]),
                predicate=str(r[3]),
                target_id=str(r[4]),
                target=str(r[5]),
                valid_at=r[6],
                invalid_at=r[7],
                created_at=str(r[8]),
                memory_ids=tuple(sources.get(str(r[0]), ())),
            )
            for r in rows
        ]

    def _touching(self, entity_ids: Sequence[str]) -> tuple[str, list[Any]]:
        # The ids of the relations with an end among entity_ids, as a derived table ``t``:
        # each half is a search of its own index, where "subject IN (..) OR object IN (..)"
        # next to the scope's columns makes SQLite walk every relation of the tenant.
        marks = self._marks(len(entity_ids))
        sql = (
            f"(SELECT id FROM relations WHERE subject_id IN ({marks}) UNION "
            f"SELECT id FROM relations WHERE object_id IN ({marks})) t"
        )
        return sql, [*entity_ids, *entity_ids]

    def entities(
        self, scope: Scope, *, limit: int, ids: Sequence[str] | None = None
    ) -> list[EntityRow]:
        """Entities in scope (merged ones too), most linked first, with their link counts."""
        s_sql, params = self._scope_sql(scope, "e")
        extra = ""
        if ids is not None:
            if not ids:
                return []
            extra = f" AND e.id IN ({self._marks(len(ids))})"
            params = [*params, *ids]
        rows = self._q(
            f"SELECT {_ENTITY_COLS}, (SELECT count(*) FROM entity_links l WHERE l.entity_id = "
            f"e.id) AS n FROM entities e WHERE {s_sql}{extra} ORDER BY n DESC, e.norm, e.id "
            f"LIMIT {self._mark}",
            [*params, limit],
        )
        return [_entity_row(r) for r in rows]

    def merge_record(self, tenant: str, merge_id: str) -> MergeRecord:
        """One merge of the log."""
        rows = self._q(
            "SELECT id, source_id, target_id, created_at, undo, undone_at FROM entity_merges "
            "WHERE tenant = ? AND id = ?",
            (tenant, merge_id),
        )
        if not rows:
            raise ValidationError(f"no entity merge with id {merge_id!r}")
        r = rows[0]
        undo = json.loads(r[4])
        ids = [
            str(x[0])
            for x in (
                self._q(
                    f"SELECT id FROM memories WHERE rowid IN ({self._marks(len(undo['links']))}) "
                    "ORDER BY id",
                    undo["links"],
                )
                if undo["links"]
                else []
            )
        ]
        return MergeRecord(
            id=str(r[0]),
            source_id=str(r[1]),
            target_id=str(r[2]),
            created_at=str(r[3]),
            links=tuple(ids),
            undone_at=r[5],
        )


def _entity_row(r: Sequence[Any]) -> EntityRow:
    return EntityRow(
        id=str(r[0]),
        name=str(r[1]),
        norm=str(r[2]),
        kind=str(r[3]),
        scope=Scope(tenant=str(r[4]), user_id=r[5], agent_id=r[6], run_id=r[7]),
        created_at=str(r[8]),
        merged_into=r[9],
        memories=int(r[10]),
    )
