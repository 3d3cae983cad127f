"""The graph tables' SQL, shared by the SQLite and Postgres stores.

Both databases run these statements as written (``INSERT ... ON CONFLICT DO NOTHING``,
correlated subqueries, ``IN`` lists); only the placeholder differs, so each store hands
:class:`GraphSQL` a ``run(sql, params)`` callable bound to its open transaction or
connection, its placeholder, and its scope/filter compilers. Writes run inside the store's
``apply`` transaction: a memory and its graph rows commit or roll back together.

Tables (migration 4): ``entities`` (one row per entity and scope, unique by normal form),
``entity_aliases`` (other normal forms of an entity), ``entity_links`` (memory <-> entity,
``role`` subject or mention), ``relations`` (subject, predicate, object, validity),
``relation_sources`` (which memories state a relation, with their episodes), and
``entity_merges`` (the reversible merge log).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from engramdb.errors import ValidationError
from engramdb.filters import Node
from engramdb.graph.models import EntityRow, GraphWrite, MergeRecord, RelationRow
from engramdb.models import Scope

#: ``run(sql, params)`` → rows (an empty list for statements that return none).
Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
ScopeSQL = Callable[[Scope, str], tuple[str, list[Any]]]
WhereSQL = Callable[[Node | None, str], tuple[str, list[Any]]]

# Ids per IN list: well under SQLite's and Postgres's parameter limits.
_CHUNK = 400
#: Most source memory ids reported per relation (the newest).
MAX_SOURCES = 20

_ENTITY_COLS = (
    "e.id, e.name, e.norm, e.kind, e.tenant, e.user_id, e.agent_id, e.run_id, e.created_at, "
    "e.merged_into"
)


def scope_key(scope: Scope) -> str:
    """The exact scope an entity belongs to, as one indexable text value."""
    return json.dumps([scope.user_id, scope.agent_id, scope.run_id])


class GraphSQL:
    """Graph reads and writes over one connection (see the module docstring)."""

    def __init__(
        self, run: Run, mark: str, scope_sql: ScopeSQL, where_sql: WhereSQL, now: str
    ) -> None:
        self._run = run
        self._mark = mark
        self._scope_sql = scope_sql
        self._where_sql = where_sql
        self._now = now

    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql.replace("?", self._mark), params)

    def _marks(self, n: int) -> str:
        return ", ".join([self._mark] * n)

    # -- writes (inside the store's transaction) ------------------------------------------

    def write(self, item: GraphWrite, rowid: int) -> None:
        """Link one memory (``rowid``) to its entities and relations, replacing old links."""
        self.unlink([rowid])
        scope, key = item.scope, scope_key(item.scope)
        ids: dict[str, str] = {}
        subjects = {r.subject.norm for r in item.relations}
        for mention in item.entities:
            entity_id = self._entity(item, key, mention.norm, mention.name, mention.kind)
            ids[mention.norm] = entity_id
            if mention.alias and mention.alias != mention.norm:
                self._q(
                    "INSERT INTO entity_aliases (tenant, scope_key, norm, entity_id) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (scope.tenant, key, mention.alias, entity_id),
                )
            role = "subject" if mention.subject or mention.norm in subjects else "mention"
            self._q(
                "INSERT INTO entity_links (entity_id, memory_rowid, memory_id, tenant, role) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (entity_id, rowid, item.memory_id, scope.tenant, role),
            )
        episodes = json.dumps(item.episode_ids)
        for rel in item.relations:
            subj, obj = ids.get(rel.subject.norm), ids.get(rel.object.norm)
            if subj is None or obj is None or subj == obj:
                continue
            found = self._q(
                "SELECT id FROM relations WHERE tenant = ? AND scope_key = ? AND subject_id = ? "
                "AND predicate = ? AND object_id = ? AND invalid_at IS NULL",
                (scope.tenant, key, subj, rel.predicate, obj),
            )
            if found:
                relation_id = str(found[0][0])
            else:
                relation_id = str(uuid.uuid4())
                self._q(
                    "INSERT INTO relations (id, tenant, user_id, agent_id, run_id, scope_key, "
                    "subject_id, predicate, object_id, valid_at, created_at) VALUES "
                    f"({self._marks(11)})",
                    (
                        relation_id,
                        scope.tenant,
                        scope.user_id,
                        scope.agent_id,
                        scope.run_id,
                        key,
                        subj,
                        rel.predicate,
                        obj,
                        item.valid_at or item.created_at,
                        item.created_at,
                    ),
                )
            self._q(
                "INSERT INTO relation_sources (relation_id, memory_rowid, memory_id, episode_ids) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (relation_id, rowid, item.memory_id, episodes),
            )

    def _entity(self, item: GraphWrite, key: str, norm: str, name: str, kind: str) -> str:
        tenant = item.scope.tenant
        alias = self._q(
            "SELECT entity_id FROM entity_aliases WHERE tenant = ? AND scope_key = ? AND norm = ?",
            (tenant, key, norm),
        )
        if alias:
            return self._final(str(alias[0][0]))
        self._q(
            "INSERT INTO entities (id, tenant, user_id, agent_id, run_id, scope_key, name, norm, "
            f"kind, created_at) VALUES ({self._marks(10)}) ON CONFLICT DO NOTHING",
            (
                str(uuid.uuid4()),
                tenant,
                item.scope.user_id,
                item.scope.agent_id,
                item.scope.run_id,
                key,
                name,
                norm,
                kind,
                item.created_at,
            ),
        )
        row = self._q(
            "SELECT id, kind FROM entities WHERE tenant = ? AND scope_key = ? AND norm = ?",
            (tenant, key, norm),
        )[0]
        if row[1] == "thing" and kind != "thing":
            # A later, more specific reading of the same name ("in Paris" after "Paris").
            self._q("UPDATE entities SET kind = ? WHERE id = ?", (kind, row[0]))
        return self._final(str(row[0]))

    def _final(self, entity_id: str) -> str:
        # Follow merges (a merged entity points at the one that absorbed it).
        for _ in range(16):
            row = self._q("SELECT merged_into FROM entities WHERE id = ?", (entity_id,))
            if not row or row[0][0] is None:
                return entity_id
            entity_id = str(row[0][0])
        return entity_id

    def unlink(self, rowids: Sequence[int]) -> None:
        """Drop the links and relation sources of memories (before a re-link or delete),
        then whatever they leave orphaned. Large lists go in chunks (parameter limits)."""
        for start in range(0, len(rowids), _CHUNK):
            self._unlink(rowids[start : start + _CHUNK])

    def _unlink(self, rowids: Sequence[int]) -> None:
        if not rowids:
            return
        marks = self._marks(len(rowids))
        rels = [
            str(r[0])
            for r in self._q(
                f"SELECT relation_id FROM relation_sources WHERE memory_rowid IN ({marks})",
                rowids,
            )
        ]
        ents = [
            str(r[0])
            for r in self._q(
                f"SELECT entity_id FROM entity_links WHERE memory_rowid IN ({marks})", rowids
            )
        ]
        self._q(f"DELETE FROM relation_sources WHERE memory_rowid IN ({marks})", rowids)
        self._q(f"DELETE FROM entity_links WHERE memory_rowid IN ({marks})", rowids)
        self._cleanup(rels, ents)

    def _cleanup(self, relation_ids: list[str], entity_ids: list[str]) -> None:
        relation_ids = sorted(set(relation_ids))
        if relation_ids:
            ends = self._q(
                f"SELECT subject_id, object_id FROM relations WHERE id IN "
                f"({self._marks(len(relation_ids))})",
                relation_ids,
            )
            entity_ids = entity_ids + [str(e) for row in ends for e in row]
            self._q(
                f"DELETE FROM relations WHERE id IN ({self._marks(len(relation_ids))}) AND NOT "
                "EXISTS (SELECT 1 FROM relation_sources s WHERE s.relation_id = relations.id)",
                relation_ids,
            )
        entity_ids = sorted(set(entity_ids))
        for start in range(0, len(entity_ids), _CHUNK):
            self._drop_orphans(entity_ids[start : start + _CHUNK])

    def _drop_orphans(self, entity_ids: Sequence[str]) -> None:
        if entity_ids:
            # An entity nothing points at any more goes, unless a merge (reversible) names it.
            self._q(
                f"DELETE FROM entities WHERE id IN ({self._marks(len(entity_ids))}) "
                "AND merged_into IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM entity_links l WHERE l.entity_id = entities.id) "
                "AND NOT EXISTS (SELECT 1 FROM relations r WHERE r.subject_id = entities.id "
                "OR r.object_id = entities.id) "
                "AND NOT EXISTS (SELECT 1 FROM entity_merges g WHERE g.undone_at IS NULL AND "
                "(g.source_id = entities.id OR g.target_id = entities.id))",
                entity_ids,
            )

    def invalidate(self, rowid: int, at: str) -> None:
        """End the relations of a superseded memory that no active memory still states."""
        self._q(
            "UPDATE relations SET invalid_at = ? WHERE invalid_at IS NULL AND id IN "
            "(SELECT relation_id FROM relation_sources WHERE memory_rowid = ?) AND NOT EXISTS "
            "(SELECT 1 FROM relation_sources s JOIN memories m ON m.rowid = s.memory_rowid "
            "WHERE s.relation_id = relations.id AND m.status = 'active')",
            (at, rowid),
        )

    def reset(self, tenant: str | None) -> None:
        """Erase the graph (of one tenant, or all)."""
        for table in ("entity_merges", "relations", "entity_aliases", "entity_links", "entities"):
            if tenant is None:
                self._q(f"DELETE FROM {table}")
            else:
                self._q(f"DELETE FROM {table} WHERE tenant = ?", (tenant,))

    # -- reads ----------------------------------------------------------------------------

    def lookup(
        self, scope: Scope, norms: Sequence[str], cap: int, first_words: Sequence[str] = ()
    ) -> list[tuple[str, str, int]]:
        """(entity id, matched normal form, link count up to ``cap + 1``) of the entities in
        scope named by any of ``norms`` directly or through an alias, merges followed; also
        those whose name starts with one of ``first_words`` (candidates for a merge)."""
        if not norms and not first_words:
            return []
        s_sql, s_params = self._scope_sql(scope, "e")
        parts: list[str] = []
        params: list[Any] = []
        if norms:
            marks = self._marks(len(norms))
            parts += [
                f"SELECT e.id, e.norm, e.merged_into FROM entities e WHERE {s_sql} AND e.norm IN "
                f"({marks})",
                f"SELECT e.id, a.norm, e.merged_into FROM entity_aliases a JOIN entities e ON "
                f"e.id = a.entity_id WHERE {s_sql} AND a.tenant = {self._mark} AND a.norm IN "
                f"({marks})",
            ]
            params += [*s_params, *norms, *s_params, scope.tenant, *norms]
        for word in first_words:
            # A range on the (tenant, norm) index: the word alone, or the word and a space.
            parts.append(
                f"SELECT e.id, e.norm, e.merged_into FROM entities e WHERE {s_sql} AND "
                f"(e.norm = {self._mark} OR (e.norm >= {self._mark} AND e.norm < {self._mark}))"
            )
            params += [*s_params, word, word + " ", word + "!"]
        rows = self._q(" UNION ".join(parts), params)
        out: dict[str, str] = {}
        for entity_id, norm, merged in rows:
            final = self._final(str(merged)) if merged is not None else str(entity_id)
            out.setdefault(final, str(norm))
        if not out:
            return []
        return [(eid, out[eid], n) for eid, n in self._counts(list(out), cap)]

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
        rows = self._q(
            "SELECT l.entity_id, l.memory_rowid, l.role FROM entity_links l JOIN memories m "
            f"ON m.rowid = l.memory_rowid WHERE l.entity_id IN ({self._marks(len(entity_ids))})"
            f"{extra} AND {s_sql} AND m.status = 'active' AND (m.expires_at IS NULL OR "
            f"m.expires_at > {self._mark}) AND {w_sql}",
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
        marks = self._marks(len(entity_ids))
        rows = self._q(
            f"SELECT r.subject_id, r.object_id FROM relations r WHERE {s_sql} AND "
            f"r.invalid_at IS NULL AND (r.subject_id IN ({marks}) OR r.object_id IN ({marks}))",
            [*s_params, *entity_ids, *entity_ids],
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

    def _counts(self, entity_ids: Sequence[str], cap: int) -> list[tuple[str, int]]:
        # Counting stops at cap + 1 links: "more than the cap" is all a caller needs.
        rows = self._q(
            " UNION ALL ".join(
                "SELECT CAST(? AS TEXT), count(*) FROM (SELECT 1 FROM entity_links "
                "WHERE entity_id = ? LIMIT ?) c"
                for _ in entity_ids
            ),
            [v for entity_id in entity_ids for v in (entity_id, entity_id, cap + 1)],
        )
        return [(str(r[0]), int(r[1])) for r in rows]

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
        if not include_invalid:
            parts.append("r.invalid_at IS NULL")
        if entity_ids is not None:
            marks = self._marks(len(entity_ids))
            parts.append(f"(r.subject_id IN ({marks}) OR r.object_id IN ({marks}))")
            params = [*params, *entity_ids, *entity_ids]
        rows = self._q(
            "SELECT r.id, r.subject_id, s.name, r.predicate, r.object_id, o.name, r.valid_at, "
            "r.invalid_at, r.created_at FROM relations r JOIN entities s ON s.id = r.subject_id "
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

    # -- merges ---------------------------------------------------------------------------

    def merge(self, tenant: str, source_id: str, target_id: str, at: str) -> MergeRecord:
        """Move ``source_id``'s links, relations and aliases to ``target_id`` and record how."""
        if source_id == target_id:
            raise ValidationError("cannot merge an entity into itself")
        found = {
            str(r[0]): r
            for r in self._q(
                "SELECT id, scope_key, merged_into, norm FROM entities WHERE tenant = ? AND "
                "id IN (?, ?)",
                (tenant, source_id, target_id),
            )
        }
        for name, entity_id in (("source_id", source_id), ("target_id", target_id)):
            if entity_id not in found:
                raise ValidationError(f"{name} {entity_id!r} is not an entity of this tenant")
            if found[entity_id][2] is not None:
                raise ValidationError(f"{name} {entity_id!r} is already merged into another")
        if found[source_id][1] != found[target_id][1]:
            raise ValidationError("entities of different scopes cannot be merged")
        moved = [
            int(r[0])
            for r in self._q(
                "SELECT memory_rowid FROM entity_links WHERE entity_id = ? AND memory_rowid NOT "
                "IN (SELECT memory_rowid FROM entity_links WHERE entity_id = ?)",
                (source_id, target_id),
            )
        ]
        subj = [
            str(r[0])
            for r in self._q("SELECT id FROM relations WHERE subject_id = ?", (source_id,))
        ]
        obj = [
            str(r[0]) for r in self._q("SELECT id FROM relations WHERE object_id = ?", (source_id,))
        ]
        merge_id = str(uuid.uuid4())
        undo = json.dumps({"links": moved, "subject": subj, "object": obj})
        self._q(
            "INSERT INTO entity_merges (id, tenant, source_id, target_id, undo, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (merge_id, tenant, source_id, target_id, undo, at),
        )
        if moved:
            self._q(
                f"UPDATE entity_links SET entity_id = ? WHERE entity_id = ? AND memory_rowid IN "
                f"({self._marks(len(moved))})",
                [target_id, source_id, *moved],
            )
        self._q("UPDATE relations SET subject_id = ? WHERE subject_id = ?", (target_id, source_id))
        self._q("UPDATE relations SET object_id = ? WHERE object_id = ?", (target_id, source_id))
        self._q("UPDATE entities SET merged_into = ? WHERE id = ?", (target_id, source_id))
        return self.merge_record(tenant, merge_id)

    def unmerge(self, tenant: str, merge_id: str, at: str) -> MergeRecord:
        """Undo a merge: the source gets back the links and relation ends it had."""
        rows = self._q(
            "SELECT source_id, target_id, undo, undone_at FROM entity_merges WHERE tenant = ? "
            "AND id = ?",
            (tenant, merge_id),
        )
        if not rows:
            raise ValidationError(f"no entity merge with id {merge_id!r}")
        source_id, target_id, undo_text, undone = rows[0]
        if undone is not None:
            raise ValidationError(f"merge {merge_id!r} was already undone")
        later = self._q("SELECT merged_into FROM entities WHERE id = ?", (target_id,))
        if later and later[0][0] is not None:
            raise ValidationError("the target was merged again since; undo that merge first")
        undo = json.loads(undo_text)
        links = [int(x) for x in undo["links"]]
        if links:
            self._q(
                f"UPDATE entity_links SET entity_id = ? WHERE entity_id = ? AND memory_rowid IN "
                f"({self._marks(len(links))})",
                [source_id, target_id, *links],
            )
        for column, ids in (("subject_id", undo["subject"]), ("object_id", undo["object"])):
            if ids:
                self._q(
                    f"UPDATE relations SET {column} = ? WHERE id IN ({self._marks(len(ids))})",
                    [source_id, *ids],
                )
        self._q("UPDATE entities SET merged_into = NULL WHERE id = ?", (source_id,))
        self._q("UPDATE entity_merges SET undone_at = ? WHERE id = ?", (at, merge_id))
        return self.merge_record(tenant, merge_id)

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
