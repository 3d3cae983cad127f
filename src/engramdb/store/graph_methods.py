"""The graph and feedback-export methods of both SQL stores, written once.

Each runs statements of :class:`~engramdb.store.graphsql.GraphSQL` in a session the backend
opens (see :class:`~engramdb.store.sql_methods.SQLSessions`).
"""

from __future__ import annotations

from collections.abc import Sequence

from engramdb.filters import Node
from engramdb.models import Feedback, Scope
from engramdb.models.graph import (
    EntityRow,
    GraphImport,
    GraphItem,
    GraphPart,
    MergeRecord,
    RelationRow,
)
from engramdb.store.graphsql import LookupRequest
from engramdb.store.sql_methods import SQLSessions


class GraphMethods(SQLSessions):
    """Entity lookups, links, relations, merges, export pages and imports."""

    def graph_lookup(
        self, scope: Scope, norms: Sequence[str], cap: int, *, first_words: Sequence[str] = ()
    ) -> list[tuple[str, str, int]]:
        """Entities in scope named by ``norms`` (directly or by alias) or starting with one
        of ``first_words``: (id, norm, links up to ``cap + 1``)."""
        with self._reading() as g:
            return g.lookup(scope, norms, cap, first_words)

    def graph_lookup_many(
        self, requests: Sequence[LookupRequest], cap: int
    ) -> list[list[tuple[str, str, int]]]:
        """:meth:`graph_lookup` for each (scope, norms, first words), in a few queries."""
        with self._reading() as g:
            return g.lookup_many(requests, cap)

    def graph_links(
        self,
        scope: Scope,
        where: Node | None,
        entity_ids: Sequence[str],
        within: Sequence[int] | None = None,
    ) -> list[tuple[str, int, str]]:
        """(entity id, rowid, role) of active memories in scope linked to ``entity_ids``."""
        with self._reading() as g:
            return g.links(scope, where, entity_ids, within)

    def graph_neighbours(
        self, scope: Scope, entity_ids: Sequence[str], cap: int
    ) -> list[tuple[str, str, int]]:
        """(entity, neighbour, neighbour's links up to ``cap + 1``) per current relation."""
        with self._reading() as g:
            return g.neighbours(scope, entity_ids, cap)

    def graph_relations(
        self,
        scope: Scope,
        entity_ids: Sequence[str] | None,
        *,
        include_invalid: bool = False,
        limit: int = 100,
    ) -> list[RelationRow]:
        """Relations in scope touching ``entity_ids`` (all when None), newest first."""
        with self._reading() as g:
            return g.relations(scope, entity_ids, include_invalid=include_invalid, limit=limit)

    def graph_entities(
        self, scope: Scope, *, limit: int = 100, ids: Sequence[str] | None = None
    ) -> list[EntityRow]:
        """Entities in scope, most linked first."""
        with self._reading() as g:
            return g.entities(scope, limit=limit, ids=ids)

    def merge_entities(self, tenant: str, source_id: str, target_id: str, at: str) -> MergeRecord:
        """Merge ``source_id`` into ``target_id`` (recorded, reversible), in one transaction."""
        with self._writing() as g:
            return g.merge(tenant, source_id, target_id, at)

    def unmerge_entities(self, tenant: str, merge_id: str, at: str) -> MergeRecord:
        """Undo a recorded merge, in one transaction."""
        with self._writing() as g:
            return g.unmerge(tenant, merge_id, at)

    def graph_export(
        self, scope: Scope, part: GraphPart, *, after: str = "", limit: int = 1000
    ) -> list[GraphItem]:
        """One page of the scope's graph rows for an export (see ``GraphDump.export``)."""
        with self._reading() as g:
            return g.export(scope, part, after, limit)

    def feedback_export(
        self, scope: Scope, *, after: str = "", limit: int = 1000
    ) -> list[Feedback]:
        """One page of the scope's feedback, without query vectors."""
        with self._reading() as g:
            return g.feedback_page(scope, after, limit)

    def feedback_stored(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are stored feedback rows."""
        with self._reading() as g:
            return g.feedback_stored(ids)

    def graph_counts(self, tenant: str) -> dict[str, int]:
        """Graph rows of ``tenant`` by kind, for ``stats``."""
        with self._reading() as g:
            return g.counts(tenant)

    def graph_import(self, tenant: str, graph: GraphImport) -> dict[str, int]:
        """Write exported graph rows, in one transaction (see ``GraphRestore.restore``)."""
        with self._writing() as g:
            return g.restore(tenant, graph)
