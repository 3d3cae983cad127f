"""Linking a batch of memories into the graph: entities, aliases, links, relations, sources.

One write (an import batch of a thousand memories, or one ``add``) reads what it needs in a
few queries and inserts each table's new rows in a few multi-row statements, instead of a
dozen statements per memory. The rows are those linking the memories one at a time, in
order, would write: :func:`plan_links` replays that sequence in memory over what the store
already holds (aliases, entities, open relations), so the first mention of a new entity names
it, a later more specific kind replaces ``thing``, an alias written for one memory resolves
the same name in a later one, and a relation stated twice is one relation with two sources.
"""

from __future__ import annotations

import json
import uuid
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from engramdb.models.graph import EntityMention, GraphWrite
from engramdb.store.graph_base import MAX_PARAMS, scope_key
from engramdb.store.graph_reads import GraphReads

#: (tenant, scope key, normal form): how an entity, or an alias of one, is found.
EntityKey = tuple[str, str, str]
#: An entity before its id is known: a stored id (via an alias) or the key it is upserted by.
Ref = str | EntityKey


@dataclass
class _NewEntity:
    """The first mention of an entity key in the batch (it names the row when inserted) and
    the kinds of every mention of it in order (a specific kind replaces a stored ``thing``)."""

    item: GraphWrite
    mention: EntityMention
    kinds: list[str] = field(default_factory=list)


@dataclass
class _Relation:
    item: GraphWrite
    rowid: int
    subject: Ref
    predicate: str
    object: Ref


@dataclass
class LinkPlan:
    """What linking a batch writes, with entities still named by :data:`Ref`."""

    entities: dict[EntityKey, _NewEntity] = field(default_factory=dict)
    aliases: list[tuple[EntityKey, Ref]] = field(default_factory=list)
    links: list[tuple[Ref, int, str, str, str]] = field(default_factory=list)
    relations: list[_Relation] = field(default_factory=list)


def plan_links(
    items: Sequence[tuple[GraphWrite, int]], stored_aliases: dict[EntityKey, str]
) -> LinkPlan:
    """The rows linking ``items`` (memory, rowid) one after another would write.

    Pure: ``stored_aliases`` are the store's aliases among the batch's names; aliases the
    batch itself adds are seen by the memories after the one adding them, as they would be.
    """
    plan = LinkPlan()
    aliases: dict[EntityKey, Ref] = dict(stored_aliases)
    for item, rowid in items:
        tenant, key = item.scope.tenant, scope_key(item.scope)
        refs: dict[str, Ref] = {}
        subjects = {r.subject.norm for r in item.relations}
        for mention in item.entities:
            ekey = (tenant, key, mention.norm)
            ref = aliases.get(ekey)
            if ref is None:
                ref = ekey
                seen = plan.entities.get(ekey)
                if seen is None:
                    plan.entities[ekey] = _NewEntity(item, mention, [mention.kind])
                else:
                    seen.kinds.append(mention.kind)
            refs[mention.norm] = ref
            if mention.alias and mention.alias != mention.norm:
                akey = (tenant, key, mention.alias)
                if akey not in aliases:
                    aliases[akey] = ref
                    plan.aliases.append((akey, ref))
            role = "subject" if mention.subject or mention.norm in subjects else "mention"
            plan.links.append((ref, rowid, item.memory_id, tenant, role))
        for rel in item.relations:
            subj, obj = refs.get(rel.subject.norm), refs.get(rel.object.norm)
            if subj is not None and obj is not None:
                plan.relations.append(_Relation(item, rowid, subj, rel.predicate, obj))
    return plan


class GraphLinking(GraphReads):
    """The batched linker of :class:`~engramdb.store.graphsql.GraphSQL`."""

    def link(self, items: Sequence[tuple[GraphWrite, int]]) -> None:
        """Write the graph rows of memories (``GraphWrite``, rowid) that have none yet."""
        if not items:
            return
        names = {
            (g.scope.tenant, scope_key(g.scope), n)
            for g, _ in items
            for m in g.entities
            for n in (m.norm, m.alias)
            if n
        }
        plan = plan_links(items, self._stored_aliases(sorted(names)))
        by_key = self._upsert_entities(plan.entities)
        refs = [ref for ref, *_ in plan.links] + [ref for _, ref in plan.aliases]
        refs += [ref for r in plan.relations for ref in (r.subject, r.object)]
        raw = {ref: ref if isinstance(ref, str) else by_key[ref] for ref in refs}
        finals = self._finals(sorted(set(raw.values())))
        ids = {ref: finals[entity_id] for ref, entity_id in raw.items()}
        self._insert(
            "INSERT INTO entity_aliases (tenant, scope_key, norm, entity_id)",
            [(*akey, ids[ref]) for akey, ref in plan.aliases],
            "ON CONFLICT DO NOTHING",
        )
        links: dict[tuple[str, int], tuple[str, int, str, str, str]] = {}
        for ref, rowid, memory_id, tenant, role in plan.links:
            links.setdefault((ids[ref], rowid), (ids[ref], rowid, memory_id, tenant, role))
        self._insert(
            "INSERT INTO entity_links (entity_id, memory_rowid, memory_id, tenant, role)",
            list(links.values()),
            "ON CONFLICT DO NOTHING",
        )
        self._write_relations(plan.relations, ids)

    def _stored_aliases(self, keys: Sequence[EntityKey]) -> dict[EntityKey, str]:
        out: dict[EntityKey, str] = {}
        per = MAX_PARAMS // 3
        for start in range(0, len(keys), per):
            part = keys[start : start + per]
            rows = self._q(
                "SELECT tenant, scope_key, norm, entity_id FROM entity_aliases WHERE "
                f"(tenant, scope_key, norm) IN (VALUES {', '.join(['(?, ?, ?)'] * len(part))})",
                [v for k in part for v in k],
            )
            out.update(((str(t), str(k), str(n)), str(e)) for t, k, n, e in rows)
        return out

    def _entity_rows(self, keys: Sequence[EntityKey]) -> dict[EntityKey, tuple[str, str]]:
        out: dict[EntityKey, tuple[str, str]] = {}
        per = MAX_PARAMS // 3
        for start in range(0, len(keys), per):
            part = keys[start : start + per]
            rows = self._q(
                "SELECT tenant, scope_key, norm, id, kind FROM entities WHERE "
                f"(tenant, scope_key, norm) IN (VALUES {', '.join(['(?, ?, ?)'] * len(part))})",
                [v for k in part for v in k],
            )
            out.update(((str(t), str(k), str(n)), (str(i), str(d))) for t, k, n, i, d in rows)
        return out

    def _upsert_entities(self, new: dict[EntityKey, _NewEntity]) -> dict[EntityKey, str]:
        """Insert the entities not stored yet (a concurrent writer's row wins the key) and
        give each key its row's id, upgrading ``thing`` to a later mention's kind."""
        if not new:
            return {}
        self._insert(
            "INSERT INTO entities (id, tenant, user_id, agent_id, run_id, scope_key, name, "
            "norm, kind, created_at)",
            [
                (
                    str(uuid.uuid4()),
                    tenant,
                    e.item.scope.user_id,
                    e.item.scope.agent_id,
                    e.item.scope.run_id,
                    key,
                    e.mention.name,
                    norm,
                    e.mention.kind,
                    e.item.created_at,
                )
                for (tenant, key, norm), e in new.items()
            ],
            "ON CONFLICT DO NOTHING",
        )
        stored = self._entity_rows(list(new))
        upgrades: dict[str, list[str]] = {}
        for ekey, e in new.items():
            entity_id, kind = stored[ekey]
            # Each mention in turn: "thing" gives way to the first specific kind read.
            final = kind
            for later in e.kinds:  # the first mention's included: the row may be older
                if final == "thing" and later != "thing":
                    final = later
            if final != kind:
                upgrades.setdefault(final, []).append(entity_id)
        for kind, entity_ids in sorted(upgrades.items()):
            for marks, part in self._chunks(entity_ids):
                self._q(
                    f"UPDATE entities SET kind = ? WHERE id IN ({marks})",
                    [kind, *part],
                )
        return {ekey: entity_id for ekey, (entity_id, _) in stored.items()}

    def _write_relations(self, relations: list[_Relation], ids: dict[Ref, str]) -> None:
        """A current relation with the same ends and predicate in the scope gains a source;
        otherwise a new relation starts at its first memory's time."""
        wanted: list[tuple[tuple[str, str, str, str, str], _Relation]] = []
        for rel in relations:
            subj, obj = ids[rel.subject], ids[rel.object]
            if subj != obj:
                scope = rel.item.scope
                wanted.append(((scope.tenant, scope_key(scope), subj, rel.predicate, obj), rel))
        if not wanted:
            return
        self._serialise_relations(sorted({"\x1f".join(k) for k, _ in wanted}))
        current = self._current_relations(sorted({k[2] for k, _ in wanted}))
        new_rows: list[tuple[object, ...]] = []
        sources: dict[tuple[str, int], tuple[str, int, str, str]] = {}
        for rkey, rel in wanted:
            relation_id = current.get(rkey)
            if relation_id is None:
                relation_id = current[rkey] = str(uuid.uuid4())
                scope, item = rel.item.scope, rel.item
                new_rows.append(
                    (
                        relation_id,
                        scope.tenant,
                        scope.user_id,
                        scope.agent_id,
                        scope.run_id,
                        rkey[1],
                        rkey[2],
                        rel.predicate,
                        rkey[4],
                        item.valid_at or item.created_at,
                        item.created_at,
                    )
                )
            sources.setdefault(
                (relation_id, rel.rowid),
                (relation_id, rel.rowid, rel.item.memory_id, json.dumps(rel.item.episode_ids)),
            )
        self._insert(
            "INSERT INTO relations (id, tenant, user_id, agent_id, run_id, scope_key, "
            "subject_id, predicate, object_id, valid_at, created_at)",
            new_rows,
        )
        self._insert(
            "INSERT INTO relation_sources (relation_id, memory_rowid, memory_id, episode_ids)",
            list(sources.values()),
            "ON CONFLICT DO NOTHING",
        )

    @abstractmethod
    def _serialise_relations(self, keys: Sequence[str]) -> None:
        """Make writers of the same relation keys take turns until this transaction ends, so
        that the current relations read next include any a concurrent writer committed."""

    def _current_relations(
        self, subject_ids: Sequence[str]
    ) -> dict[tuple[str, str, str, str, str], str]:
        # (tenant, scope key, subject, predicate, object) -> id of a relation not yet ended.
        out: dict[tuple[str, str, str, str, str], str] = {}
        for marks, part in self._chunks(subject_ids):
            for row in self._q(
                "SELECT tenant, scope_key, subject_id, predicate, object_id, id FROM relations "
                f"WHERE subject_id IN ({marks}) AND invalid_at IS NULL "
                "ORDER BY id",
                part,
            ):
                key = (str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]))
                out.setdefault(key, str(row[5]))
        return out
