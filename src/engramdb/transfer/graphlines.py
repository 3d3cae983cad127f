"""Validating the graph lines of an export: entities, entity links, relations, entity merges.

Each line is checked on its own as it is read, then :meth:`GraphLines.check` checks what the
lines name: an entity id used by a link, relation, merge or ``merged_into`` must be defined
by an entity line of the same file (an export always carries every entity of its scope). Memory
ids are looked up when writing instead: a memory may already be stored, and links or sources
naming one found neither in the file nor in the store are dropped (see
:meth:`GraphRestore.restore <engramdb.store.graph_restore.GraphRestore.restore>`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engramdb.graph.resolve import normalise
from engramdb.models.graph import (
    ENTITY_KINDS,
    GraphEntity,
    GraphImport,
    GraphMerge,
    GraphRelation,
    MemoryLinks,
)
from engramdb.timeutil import iso, utcnow
from engramdb.transfer.parse import BadLine, Defaults, _time

#: The line types of the graph, in the order an export writes them.
GRAPH_TYPES = ("entity", "entity_links", "relation", "entity_merge")
_ROLES = ("subject", "mention")
_MAX_NAME = 2000


def _id(obj: dict[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise BadLine(f"{what} needs a {key!r} string of 1 to 256 characters")
    return value


def _text(obj: dict[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_NAME:
        raise BadLine(f"{what} needs a non-empty {key!r} string of at most {_MAX_NAME} characters")
    return value


def _strings(obj: dict[str, Any], key: str, what: str) -> tuple[str, ...]:
    value = obj.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise BadLine(f"{what} {key!r} must be a list of non-empty strings")
    return tuple(value)


def _entity(obj: dict[str, Any], defaults: Defaults) -> GraphEntity:
    name = _text(obj, "name", "entity")
    norm = obj.get("norm", normalise(name))
    if not isinstance(norm, str) or not norm.strip() or len(norm) > _MAX_NAME:
        raise BadLine("entity 'norm' must be a non-empty string")
    kind = obj.get("kind") or "thing"
    if kind not in ENTITY_KINDS:
        raise BadLine(f"entity kind must be one of {', '.join(ENTITY_KINDS)}, not {kind!r}")
    merged = obj.get("merged_into")
    return GraphEntity(
        id=_id(obj, "id", "entity"),
        name=name,
        norm=norm,
        kind=kind,
        scope=defaults.scope(obj),
        created_at=_time(obj, "created_at") or iso(utcnow()),
        merged_into=None if merged is None else _id(obj, "merged_into", "entity"),
        aliases=_strings(obj, "aliases", "entity"),
    )


def _links(obj: dict[str, Any]) -> MemoryLinks:
    raw = obj.get("links")
    if not isinstance(raw, list) or not raw:
        raise BadLine("entity_links needs a non-empty 'links' list")
    links: list[tuple[str, str]] = []
    for link in raw:
        if not isinstance(link, dict):
            raise BadLine("each of 'links' must be an object {entity_id, role}")
        role = link.get("role") or "mention"
        if role not in _ROLES:
            raise BadLine(f"a link's role must be one of {', '.join(_ROLES)}, not {role!r}")
        links.append((_id(link, "entity_id", "a link"), role))
    return MemoryLinks(memory_id=_id(obj, "memory_id", "entity_links"), links=tuple(links))


def _relation(obj: dict[str, Any], defaults: Defaults) -> GraphRelation:
    raw = obj.get("sources") or []
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise BadLine("relation 'sources' must be a list of objects {memory_id, episode_ids}")
    sources = tuple(
        (_id(s, "memory_id", "a relation source"), _strings(s, "episode_ids", "a source's"))
        for s in raw
    )
    subject = _id(obj, "subject_id", "relation")
    target = _id(obj, "object_id", "relation")
    if subject == target:
        raise BadLine("a relation's subject_id and object_id must differ")
    predicate = _text(obj, "predicate", "relation")
    return GraphRelation(
        id=_id(obj, "id", "relation"),
        subject_id=subject,
        predicate=predicate,
        object_id=target,
        scope=defaults.scope(obj),
        valid_at=_time(obj, "valid_at"),
        invalid_at=_time(obj, "invalid_at"),
        created_at=_time(obj, "created_at") or iso(utcnow()),
        sources=sources,
    )


def _merge(obj: dict[str, Any]) -> GraphMerge:
    source = _id(obj, "source_id", "entity_merge")
    target = _id(obj, "target_id", "entity_merge")
    if source == target:
        raise BadLine("an entity_merge's source_id and target_id must differ")
    return GraphMerge(
        id=_id(obj, "id", "entity_merge"),
        source_id=source,
        target_id=target,
        created_at=_time(obj, "created_at") or iso(utcnow()),
        undone_at=_time(obj, "undone_at"),
        links=_strings(obj, "moved_links", "entity_merge"),
        subject=_strings(obj, "subject_relations", "entity_merge"),
        object=_strings(obj, "object_relations", "entity_merge"),
    )


@dataclass
class GraphLines:
    """The valid graph lines of a file, each with its line number."""

    declared: bool = False
    """The file carries the graph: its header says so (the graph may be empty) or it has
    graph lines, valid or not. Its memories are then not linked anew on import."""
    entities: list[tuple[int, GraphEntity]] = field(default_factory=list)
    links: list[tuple[int, MemoryLinks]] = field(default_factory=list)
    relations: list[tuple[int, GraphRelation]] = field(default_factory=list)
    merges: list[tuple[int, GraphMerge]] = field(default_factory=list)

    def handles(self, kind: object) -> bool:
        """Whether ``kind`` is a graph line type."""
        return kind in GRAPH_TYPES

    def __len__(self) -> int:
        return len(self.entities) + len(self.links) + len(self.relations) + len(self.merges)

    def add(self, kind: str, obj: dict[str, Any], line: int, defaults: Defaults) -> None:
        """Validate one graph line (raises :class:`BadLine`) and keep it."""
        self.declared = True
        if kind == "entity":
            self.entities.append((line, _entity(obj, defaults)))
        elif kind == "entity_links":
            self.links.append((line, _links(obj)))
        elif kind == "relation":
            self.relations.append((line, _relation(obj, defaults)))
        else:
            self.merges.append((line, _merge(obj)))

    def check(self, bad: Callable[[int, str], None]) -> None:
        """Report (and drop) lines naming an entity no valid entity line defines."""

        def missing(entity_id: str) -> str:
            return f"names entity {entity_id!r}, which no entity line of the file defines"

        while True:
            ids = {e.id for _, e in self.entities}
            orphans = [
                (n, e) for n, e in self.entities if e.merged_into and e.merged_into not in ids
            ]
            if not orphans:
                break
            for n, e in orphans:
                bad(n, f"merged_into {missing(str(e.merged_into))}")
            self.entities = [(n, e) for n, e in self.entities if (n, e) not in orphans]
        kept_links = []
        for n, item in self.links:
            unknown = [e for e, _ in item.links if e not in ids]
            if unknown:
                bad(n, f"a link {missing(unknown[0])}")
            else:
                kept_links.append((n, item))
        self.links = kept_links
        kept_relations = []
        for n, rel in self.relations:
            unknown = [e for e in (rel.subject_id, rel.object_id) if e not in ids]
            if unknown:
                bad(n, f"relation {missing(unknown[0])}")
            else:
                kept_relations.append((n, rel))
        self.relations = kept_relations
        kept_merges = []
        for n, merge in self.merges:
            unknown = [e for e in (merge.source_id, merge.target_id) if e not in ids]
            if unknown:
                bad(n, f"entity_merge {missing(unknown[0])}")
            else:
                kept_merges.append((n, merge))
        self.merges = kept_merges

    def to_import(self) -> GraphImport:
        """The valid lines as one store write."""
        return GraphImport(
            entities=[e for _, e in self.entities],
            links=[x for _, x in self.links],
            relations=[r for _, r in self.relations],
            merges=[g for _, g in self.merges],
        )
