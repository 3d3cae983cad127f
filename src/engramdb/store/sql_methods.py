"""The store methods both SQL backends run the same way, written once.

Each method here opens a session of the backend's and runs statements of
:class:`~engramdb.store.graphsql.GraphSQL` (SQL text written once, placeholders filled in per
database). A backend says only how a session is had: :meth:`SQLMethods._reading` for reads
(SQLite: its shared connection under the store's lock; Postgres: a pooled connection) and
:meth:`SQLMethods._writing` for one write transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager

from engramdb.filters import Node
from engramdb.graph.models import (
    EntityRow,
    GraphImport,
    GraphItem,
    GraphPart,
    MergeRecord,
    RelationRow,
)
from engramdb.models import ApiKey, Feedback, MetricRow, Scope
from engramdb.store.graphsql import GraphSQL, LookupRequest


class SQLMethods(ABC):
    """Graph, feedback-export, API-key, metrics and reset methods of a SQL store."""

    @abstractmethod
    def _reading(self) -> AbstractContextManager[GraphSQL]:
        """A session for reads (no transaction promised beyond one statement)."""

    @abstractmethod
    def _writing(self) -> AbstractContextManager[GraphSQL]:
        """A session in one write transaction: committed on success, rolled back otherwise."""

    # -- graph ----------------------------------------------------------------------------

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

    # -- API keys ---------------------------------------------------------------------------

    def put_key(self, key: ApiKey) -> None:
        """Store a new API key (by its hash)."""
        with self._writing() as g:
            g.put_key(key)

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key whose SHA-256 is ``key_hash``, or None."""
        with self._reading() as g:
            return g.key_by_hash(key_hash)

    def list_keys(self, tenant: str | None = None) -> list[ApiKey]:
        """Every key (of one tenant), oldest first."""
        with self._reading() as g:
            return g.list_keys(tenant)

    def delete_key(self, key_id: str) -> bool:
        """Revoke a key; False when there was none with that id."""
        with self._writing() as g:
            return g.delete_key(key_id)

    # -- metrics ----------------------------------------------------------------------------

    def record_metrics(self, rows: Sequence[MetricRow]) -> None:
        """Add ``rows`` to the stored counts of their (tenant, minute, kind), in one write."""
        if rows:
            with self._writing() as g:
                g.record_metrics(rows)

    def metrics(self, tenant: str, since: str) -> list[MetricRow]:
        """The stored counts of ``tenant`` from minute ``since`` on, oldest first."""
        with self._reading() as g:
            return g.metrics(tenant, since)

    # -- maintenance ----------------------------------------------------------------------

    def reset(self, tenant: str | None = None) -> None:
        """Erase memories, vectors and history (of one tenant, or everything)."""
        with self._writing() as g:
            g.reset(tenant)
            g.delete_rows(tenant)
