"""Records of the embedded graph: what a write links, and what reads return. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from engramdb.models import Scope

EntityKind = Literal["person", "place", "organisation", "thing", "date"]
ENTITY_KINDS: tuple[EntityKind, ...] = ("person", "place", "organisation", "thing", "date")


@dataclass(frozen=True)
class EntityMention:
    """A named thing found in a memory's text: its surface name, normal form and kind.

    ``norm`` is the resolution key (see :func:`engramdb.graph.resolve.normalise`); two
    mentions with the same ``norm`` in one scope are the same entity. ``subject`` says the
    memory is about the entity (its speaker or a relation's subject), not just naming it;
    ``alias`` is the mention's own normal form when resolution mapped it to another one.
    """

    name: str
    norm: str
    kind: EntityKind = "thing"
    subject: bool = False
    alias: str | None = None


@dataclass(frozen=True)
class RelationMention:
    """A (subject, predicate, object) statement between two mentioned entities."""

    subject: EntityMention
    predicate: str
    object: EntityMention


@dataclass
class GraphWrite:
    """The graph rows one memory produces, written in the memory's own transaction.

    The store first drops the memory's previous links and relation sources (a text update
    re-links from scratch), then upserts the entities by ``(scope, norm)`` and links them.
    """

    memory_id: str
    scope: Scope
    entities: list[EntityMention] = field(default_factory=list)
    relations: list[RelationMention] = field(default_factory=list)
    valid_at: str | None = None
    created_at: str = ""
    episode_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EntityRow:
    """One stored entity (``merged_into`` is set when it was merged into another)."""

    id: str
    name: str
    norm: str
    kind: str
    scope: Scope
    created_at: str
    merged_into: str | None = None
    memories: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Public dict form."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "memories": self.memories,
            "created_at": self.created_at,
            "merged_into": self.merged_into,
            **self.scope.as_dict(),
        }


@dataclass(frozen=True)
class RelationRow:
    """One stored relation with its endpoints' names and the memories it comes from."""

    id: str
    source_id: str
    source: str
    predicate: str
    target_id: str
    target: str
    valid_at: str | None
    invalid_at: str | None
    created_at: str
    memory_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The Mem0 graph shape: ``source``, ``relationship``, ``target`` plus time and
        provenance."""
        return {
            "source": self.source,
            "relationship": self.predicate,
            "target": self.target,
            "valid_at": self.valid_at,
            "invalid_at": self.invalid_at,
            "memory_ids": list(self.memory_ids),
        }


@dataclass(frozen=True)
class MergeRecord:
    """A recorded merge of ``source_id`` into ``target_id``; ``undone_at`` once unmerged."""

    id: str
    source_id: str
    target_id: str
    created_at: str
    links: tuple[str, ...] = ()
    undone_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Public dict form (``moved_links``: the memories relinked from source to target)."""
        return {
            "id": self.id,
            "source_id": self.source_id,
            "target_id": self.target_id,
            "created_at": self.created_at,
            "moved_links": list(self.links),
            "undone_at": self.undone_at,
        }


# -- the graph as an export carries it ---------------------------------------------------
#
# These are the stored rows with ids, not views: an import writes them back as given, so a
# moved store keeps what the LLM extracted and what users merged by hand.


@dataclass(frozen=True)
class GraphEntity:
    """A stored entity with its aliases (other normal forms that resolve to it)."""

    id: str
    name: str
    norm: str
    kind: str
    scope: Scope
    created_at: str
    merged_into: str | None = None
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Export form."""
        return {
            "id": self.id,
            "name": self.name,
            "norm": self.norm,
            "kind": self.kind,
            **self.scope.as_dict(),
            "created_at": self.created_at,
            "merged_into": self.merged_into,
            "aliases": list(self.aliases),
        }


@dataclass(frozen=True)
class MemoryLinks:
    """The entities one memory is linked to: ``(entity id, role)``, role subject or mention."""

    memory_id: str
    links: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        """Export form."""
        return {
            "memory_id": self.memory_id,
            "links": [{"entity_id": e, "role": r} for e, r in self.links],
        }


@dataclass(frozen=True)
class GraphRelation:
    """A stored relation with every source: ``(memory id, episode ids)``."""

    id: str
    subject_id: str
    predicate: str
    object_id: str
    scope: Scope
    valid_at: str | None
    invalid_at: str | None
    created_at: str
    sources: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Export form."""
        return {
            "id": self.id,
            "subject_id": self.subject_id,
            "predicate": self.predicate,
            "object_id": self.object_id,
            **self.scope.as_dict(),
            "valid_at": self.valid_at,
            "invalid_at": self.invalid_at,
            "created_at": self.created_at,
            "sources": [{"memory_id": m, "episode_ids": list(e)} for m, e in self.sources],
        }


@dataclass(frozen=True)
class GraphMerge:
    """A merge of the log with what undoing it needs, by id: the memories whose links moved
    and the relations whose subject or object moved (stores keep row ids, which a move
    changes)."""

    id: str
    source_id: str
    target_id: str
    created_at: str
    undone_at: str | None = None
    links: tuple[str, ...] = ()
    subject: tuple[str, ...] = ()
    object: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Export form."""
        return {
            "id": self.id,
            "source_id": self.source_id,
            "target_id": self.target_id,
            "created_at": self.created_at,
            "undone_at": self.undone_at,
            "moved_links": list(self.links),
            "subject_relations": list(self.subject),
            "object_relations": list(self.object),
        }


#: What :meth:`Store.graph_export` pages through.
GraphPart = Literal["entities", "links", "relations", "merges"]
GraphItem = GraphEntity | MemoryLinks | GraphRelation | GraphMerge


@dataclass
class GraphImport:
    """A whole exported graph to write in one transaction (see ``Store.graph_import``)."""

    entities: list[GraphEntity] = field(default_factory=list)
    links: list[MemoryLinks] = field(default_factory=list)
    relations: list[GraphRelation] = field(default_factory=list)
    merges: list[GraphMerge] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.entities or self.links or self.relations or self.merges)
