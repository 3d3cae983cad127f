"""The storage Protocol every backend implements. SQL lives only in the backends.

All reads take a :class:`Scope` (tenant always set) and an optional parsed filter tree; the
backend applies both inside its query. All writes arrive as one :class:`WriteBatch` and are
applied in one transaction together with their history rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from engramdb.filters import Node
from engramdb.models import (
    ApiKey,
    Episode,
    Feedback,
    HistoryEntry,
    MemoryRecord,
    MetricRow,
    Scope,
    Tombstone,
    WriteBatch,
)
from engramdb.models.graph import (
    EntityRow,
    GraphImport,
    GraphItem,
    GraphPart,
    MergeRecord,
    RelationRow,
)

#: The statuses a default read sees.
ACTIVE_ONLY: tuple[str, ...] = ("active",)


class Store(Protocol):
    """A memory store: records, vectors, keyword index and history, one transaction a write."""

    #: The schema version the store is at (pending migrations are applied when it opens).
    schema_version: int

    def apply(self, batch: WriteBatch) -> list[str]:
        """Apply every insert, change, delete and feedback row of ``batch`` atomically, with
        history rows; return the ids of changes skipped because their memory's
        ``updated_at`` was no longer their ``if_updated_at``."""
        ...

    def get(self, memory_id: str, tenant: str) -> MemoryRecord | None:
        """One memory of ``tenant`` by id, or None."""
        ...

    def get_many(
        self, rowids: Sequence[int], *, with_vectors: bool = False
    ) -> dict[int, MemoryRecord]:
        """Records by internal row id (missing ones absent)."""
        ...

    def list_records(
        self,
        scope: Scope,
        where: Node | None,
        *,
        limit: int,
        offset: int = 0,
        statuses: Sequence[str] = ACTIVE_ONLY,
        include_expired: bool = False,
    ) -> list[MemoryRecord]:
        """Memories in scope matching ``where``, newest first.

        By default only active, unexpired ones; ``statuses`` widens that (``superseded``,
        ``archived``) and ``include_expired`` also lists memories past their ``expires_at``.
        """
        ...

    def records_valid_at(self, scope: Scope, where: Node | None, at: str) -> list[MemoryRecord]:
        """Memories in scope that were true at ``at`` (ISO UTC), with their vectors.

        Valid time: ``valid_at <= at`` and (``invalid_at`` is null or ``> at``), status active
        or superseded, not expired now. Whatever ``created_at`` is: see ``Memory.search``.
        """
        ...

    def record_access(self, tenant: str, touches: Mapping[str, tuple[int, str]]) -> None:
        """Add ``count`` to ``access_count`` and set ``last_accessed_at`` for each memory id,
        in one transaction. Ids that no longer exist are skipped. Changes nothing else."""
        ...

    def erase(self, scope: Scope, *, memory_id: str | None, tombstone: Tombstone) -> Tombstone:
        """Erase content for real, in one transaction, and record ``tombstone``.

        With ``memory_id``: that memory (any status), the text of its history rows, and its
        source episodes (those its metadata names, and those of ``tombstone.scope`` whose
        content is exactly its text). Without: every memory of ``scope`` (which
        must name a user, agent or run), its vectors and keyword entries, the episodes of the
        scope and the text of the history rows of the scope. Returns ``tombstone`` with the
        counts of what was erased filled in. Backends also remove the bytes where they can
        (see each backend's docstring for what is guaranteed).
        """
        ...

    def tombstones(self, scope: Scope, *, limit: int) -> list[Tombstone]:
        """Records of past erasures whose scope lies within ``scope``, newest first."""
        ...

    def count(self, scope: Scope, where: Node | None = None) -> int:
        """How many active memories are in scope."""
        ...

    def vector_search(
        self, scope: Scope, where: Node | None, query: npt.NDArray[np.float32], k: int
    ) -> list[tuple[int, float]]:
        """(rowid, cosine) of the ``k`` nearest active memories in scope, best first."""
        ...

    def keyword_search(
        self, scope: Scope, where: Node | None, terms: Sequence[str], k: int
    ) -> list[tuple[int, float]]:
        """(rowid, relevance >= 0) of the best keyword matches for any of ``terms``."""
        ...

    def similarities(
        self, scope: Scope, rowids: Sequence[int], query: npt.NDArray[np.float32]
    ) -> list[float]:
        """Cosine of ``query`` with each row's vector (0.0 for unknown rows)."""
        ...

    def feedback_for(self, tenant: str, rowids: Sequence[int]) -> list[tuple[int, Feedback]]:
        """Feedback given on the memories with these row ids, with query vectors, oldest first.

        Returns ``(rowid, feedback)`` pairs; rows without feedback are absent. Search calls it
        for every query, so it must be one indexed lookup.
        """
        ...

    def history(self, memory_id: str, tenant: str) -> list[HistoryEntry]:
        """Every recorded change of a memory, oldest first (kept after deletion)."""
        ...

    def episodes(
        self,
        scope: Scope,
        *,
        ids: Sequence[str] | None = None,
        status: str | None = None,
        limit: int = 100,
        newest_first: bool = True,
        since: str | None = None,
        until: str | None = None,
        keywords: Sequence[str] | None = None,
    ) -> list[Episode]:
        """Stored raw messages in scope, optionally by id or extraction status.

        ``since``/``until`` (ISO UTC) bound ``created_at`` (inclusive, exclusive); ``keywords``
        keeps episodes whose content has every one of them (stemmed, case-insensitive; an
        empty list matches nothing).
        """
        ...

    def claim_queued(self, tenant: str, batch_id: str, owner: str) -> list[Episode]:
        """Atomically move a queued batch to ``pending``; its episodes, or [] if taken."""
        ...

    def requeue_abandoned(self, tenant: str, alive: Callable[[str], bool]) -> int:
        """Requeue batches whose claiming worker is gone; how many owners were dead."""
        ...

    def ids_in_scope(self, scope: Scope) -> list[str]:
        """Ids of every memory in scope (any status)."""
        ...

    def iter_all(self, scope: Scope, *, with_vectors: bool = False) -> Iterator[MemoryRecord]:
        """Every memory in scope (any status), oldest first, read in pages (for export)."""
        ...

    def reset(self, tenant: str | None = None) -> None:
        """Erase every memory, vector and history row (of one tenant, or all)."""
        ...

    def stats(self, tenant: str) -> dict[str, Any]:
        """Counts for ``engramdb stats``."""
        ...

    def scopes(self, tenant: str) -> list[dict[str, Any]]:
        """Each user, agent and run of ``tenant``: ``{kind, id, memories, last_activity}``.

        ``memories`` counts active memories; ``last_activity`` is the latest ``updated_at``
        of any of its memories (any status). Grouped by kind, most recent first.
        """
        ...

    # -- graph (tables of migration 4; SQL shared in store/graphsql.py) -------------------
    #
    # Graph rows are written by ``apply`` from ``WriteBatch.graph`` in the memory's own
    # transaction; superseding a memory ends the relations only it stated, deleting one
    # removes its links and whatever that leaves orphaned.

    def graph_lookup(
        self, scope: Scope, norms: Sequence[str], cap: int, *, first_words: Sequence[str] = ()
    ) -> list[tuple[str, str, int]]:
        """(entity id, normal form, links up to ``cap + 1``) of the entities in scope named
        by ``norms`` (directly or by alias, merges followed) or starting with a word of
        ``first_words``."""
        ...

    def graph_lookup_many(
        self, requests: Sequence[tuple[Scope, Sequence[str], Sequence[str]]], cap: int
    ) -> list[list[tuple[str, str, int]]]:
        """:meth:`graph_lookup` for each ``(scope, norms, first_words)`` of ``requests``, in
        order, sharing queries (an import batch resolves a thousand scopes at once)."""
        ...

    def graph_links(
        self,
        scope: Scope,
        where: Node | None,
        entity_ids: Sequence[str],
        within: Sequence[int] | None = None,
    ) -> list[tuple[str, int, str]]:
        """(entity id, memory rowid, role) for active memories in scope matching ``where``
        linked to ``entity_ids``, only among ``within`` rowids when given."""
        ...

    def graph_neighbours(
        self, scope: Scope, entity_ids: Sequence[str], cap: int
    ) -> list[tuple[str, str, int]]:
        """(entity, neighbour, neighbour's links up to ``cap + 1``) per current relation."""
        ...

    def graph_relations(
        self,
        scope: Scope,
        entity_ids: Sequence[str] | None,
        *,
        include_invalid: bool = False,
        limit: int = 100,
    ) -> list[RelationRow]:
        """Relations in scope touching ``entity_ids`` (all when None), newest first."""
        ...

    def graph_entities(
        self, scope: Scope, *, limit: int = 100, ids: Sequence[str] | None = None
    ) -> list[EntityRow]:
        """Entities in scope (merged ones included), most linked first."""
        ...

    def merge_entities(self, tenant: str, source_id: str, target_id: str, at: str) -> MergeRecord:
        """Move an entity's links and relations to another; recorded, so it can be undone."""
        ...

    def unmerge_entities(self, tenant: str, merge_id: str, at: str) -> MergeRecord:
        """Undo a recorded merge; raises ValidationError for an unknown or undone one."""
        ...

    def graph_export(
        self, scope: Scope, part: GraphPart, *, after: str = "", limit: int = 1000
    ) -> list[GraphItem]:
        """One page of the scope's stored graph rows, with ids, for an export: up to
        ``limit`` of ``part`` whose key (id; memory id for links) sorts after ``after``."""
        ...

    def feedback_export(
        self, scope: Scope, *, after: str = "", limit: int = 1000
    ) -> list[Feedback]:
        """One page of feedback on the scope's memories, by id after ``after``, without
        query vectors (an import embeds the queries again)."""
        ...

    def feedback_stored(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are stored feedback rows."""
        ...

    def graph_counts(self, tenant: str) -> dict[str, int]:
        """Graph rows of ``tenant`` by kind (entities, relations, links...), for ``stats``."""
        ...

    def graph_import(self, tenant: str, graph: GraphImport) -> dict[str, int]:
        """Write exported graph rows into ``tenant`` with their ids, in one transaction;
        counts of what was written, kept and dropped (see ``GraphRestore.restore``)."""
        ...

    def close(self) -> None:
        """Release connections and caches."""
        ...

    def existing_ids(self, tenant: str, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are memories of ``tenant`` (any status), in one query."""
        ...

    def bulk_load(self) -> AbstractContextManager[None]:
        """A context for a large load (an import): the store may suspend index upkeep for it
        and catch up once at the end. Reads and writes stay correct meanwhile."""
        ...

    # API keys live in the store so that every server on one database sees the same keys.

    def put_key(self, key: ApiKey) -> None:
        """Store a new API key (by its hash)."""
        ...

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key whose SHA-256 is ``key_hash``, or None."""
        ...

    def list_keys(self, tenant: str | None = None) -> list[ApiKey]:
        """Every key (of one tenant), oldest first."""
        ...

    def delete_key(self, key_id: str) -> bool:
        """Revoke a key; False when there was none with that id."""
        ...

    # Request metrics (per tenant, per minute) for the dashboard, shared by every server.

    def record_metrics(self, rows: Sequence[MetricRow]) -> None:
        """Add ``rows`` to the stored counts of their (tenant, minute, kind), in one write."""
        ...

    def metrics(self, tenant: str, since: str) -> list[MetricRow]:
        """The stored counts of ``tenant`` from minute ``since`` on, oldest first."""
        ...
