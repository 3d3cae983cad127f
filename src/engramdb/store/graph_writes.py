"""Graph writes, inside the store's transaction: links (see graph_linking), cleanup, merges."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from engramdb.errors import EntityNotFoundError, ValidationError
from engramdb.models.graph import GraphWrite, MergeRecord
from engramdb.store.graph_base import CHUNK
from engramdb.store.graph_linking import GraphLinking


class GraphWrites(GraphLinking):
    """The write half of :class:`~engramdb.store.graphsql.GraphSQL` (merges report their
    record through the read half)."""

    def write(self, items: Sequence[tuple[GraphWrite, int]]) -> None:
        """Link memories (``GraphWrite``, rowid) to their entities and relations, replacing
        their old links; a memory written twice in ``items`` keeps its last links."""
        last = {rowid: i for i, (_, rowid) in enumerate(items)}
        items = [pair for i, pair in enumerate(items) if last[pair[1]] == i]
        self.unlink([rowid for _, rowid in items])
        self.link(items)

    def unlink(self, rowids: Sequence[int]) -> None:
        """Drop the links and relation sources of memories (before a re-link or delete),
        then whatever they leave orphaned. Large lists go in chunks (parameter limits)."""
        for start in range(0, len(rowids), CHUNK):
            self._unlink(rowids[start : start + CHUNK])

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
        for start in range(0, len(entity_ids), CHUNK):
            self._drop_orphans(entity_ids[start : start + CHUNK])

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

    def erase(self, rowids: Sequence[int], tenant: str) -> dict[str, int]:
        """For ``forget``: drop the graph rows of memories ``rowids``, then every entity of
        ``tenant`` left with no link and no relation, with its aliases and merge records (a
        merge record names entities, so it would keep what was forgotten). Returns counts."""
        links = sources = 0
        for marks, part in self._chunks(rowids):
            marks = marks
            links += int(
                self._q(f"SELECT count(*) FROM entity_links WHERE memory_rowid IN ({marks})", part)[
                    0
                ][0]
            )
            sources += int(
                self._q(
                    f"SELECT count(*) FROM relation_sources WHERE memory_rowid IN ({marks})", part
                )[0][0]
            )
        before = int(self._q("SELECT count(*) FROM entities WHERE tenant = ?", (tenant,))[0][0])
        self.unlink(rowids)
        orphans = [
            str(r[0])
            for r in self._q(
                "SELECT e.id FROM entities e WHERE e.tenant = ? "
                "AND NOT EXISTS (SELECT 1 FROM entity_links l WHERE l.entity_id = e.id) "
                "AND NOT EXISTS (SELECT 1 FROM relations r WHERE r.subject_id = e.id "
                "OR r.object_id = e.id)",
                (tenant,),
            )
        ]
        for start in range(0, len(orphans), CHUNK):
            ids = orphans[start : start + CHUNK]
            marks = self._marks(len(ids))
            self._q(
                f"DELETE FROM entity_merges WHERE source_id IN ({marks}) OR target_id IN ({marks})",
                [*ids, *ids],
            )
            self._q(f"DELETE FROM entity_aliases WHERE entity_id IN ({marks})", ids)
            self._q(f"DELETE FROM entities WHERE id IN ({marks})", ids)
        after = int(self._q("SELECT count(*) FROM entities WHERE tenant = ?", (tenant,))[0][0])
        return {"entity_links": links, "relation_sources": sources, "entities": before - after}

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
                raise EntityNotFoundError(f"{name} {entity_id!r} is not an entity of this tenant")
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
            raise EntityNotFoundError(f"no entity merge with id {merge_id!r}")
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
