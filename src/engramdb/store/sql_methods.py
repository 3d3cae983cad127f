"""The store methods both SQL backends run the same way, written once (the graph's are in
:mod:`engramdb.store.graph_methods`).

Each method here opens a session of the backend's and runs statements of
:class:`~engramdb.store.graphsql.GraphSQL` (SQL text written once, placeholders filled in per
database). A backend says only how a session is had: :meth:`SQLSessions._reading` for reads
(SQLite: its shared connection under the store's lock; Postgres: a pooled connection) and
:meth:`SQLSessions._writing` for one write transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import ClassVar

from engramdb.errors import ConflictError
from engramdb.filters import Node
from engramdb.models import (
    ApiKey,
    Episode,
    Feedback,
    HistoryEntry,
    MemoryRecord,
    MetricRow,
    Scope,
    WriteBatch,
)
from engramdb.store.base import ACTIVE_ONLY
from engramdb.store.graphsql import GraphSQL


class SQLSessions(ABC):
    """How a backend opens a session of the shared SQL (the only thing it must say)."""

    @abstractmethod
    def _reading(self) -> AbstractContextManager[GraphSQL]:
        """A session for reads (no transaction promised beyond one statement)."""

    @abstractmethod
    def _writing(self) -> AbstractContextManager[GraphSQL]:
        """A session in one write transaction: committed on success, rolled back otherwise."""


class SQLMethods(SQLSessions):
    """Writes' error handling; memory, history, feedback and episode reads; API keys,
    metrics and reset."""

    #: What the driver raises when a write's id is already taken.
    _taken_error: ClassVar[type[Exception]]

    @abstractmethod
    def _apply(self, batch: WriteBatch) -> list[str]:
        """Write ``batch`` in one transaction (rolled back whole on an error); return the ids
        of changes skipped by their ``if_updated_at``."""

    def apply(self, batch: WriteBatch) -> list[str]:
        """Apply inserts, changes and deletes in one transaction, with history rows; return
        the ids of changes skipped because their memory changed since ``if_updated_at``.

        An id that is already taken raises :class:`ConflictError` and nothing is written.
        """
        if not batch:
            return []
        try:
            return self._apply(batch)
        except self._taken_error as exc:
            raise ConflictError(f"an id in the write is already taken: {exc}") from None

    # -- reads ----------------------------------------------------------------------------

    def get(self, memory_id: str, tenant: str) -> MemoryRecord | None:
        """One memory of ``tenant`` by id (any status), or None."""
        with self._reading() as g:
            return g.get(memory_id, tenant)

    def get_many(
        self, rowids: Sequence[int], *, with_vectors: bool = False
    ) -> dict[int, MemoryRecord]:
        """Records by row id (missing ones absent)."""
        if not rowids:
            return {}
        with self._reading() as g:
            return g.get_many(rowids, with_vectors)

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
        """Memories in scope matching ``where`` (active and unexpired by default), newest first."""
        with self._reading() as g:
            return g.list_records(scope, where, limit, offset, statuses, include_expired)

    def records_valid_at(self, scope: Scope, where: Node | None, at: str) -> list[MemoryRecord]:
        """Memories in scope true at ``at`` (any of active/superseded), with vectors."""
        with self._reading() as g:
            return g.records_valid_at(scope, where, at)

    def count(self, scope: Scope, where: Node | None = None) -> int:
        """Active memories in scope matching ``where``."""
        with self._reading() as g:
            return g.count(scope, where)

    def ids_in_scope(self, scope: Scope) -> list[str]:
        """Ids of every memory in scope, any status."""
        with self._reading() as g:
            return g.ids_in_scope(scope)

    def feedback_for(self, tenant: str, rowids: Sequence[int]) -> list[tuple[int, Feedback]]:
        """Feedback on the memories with these row ids (with query vectors), oldest first."""
        if not rowids:
            return []
        with self._reading() as g:
            return g.feedback_for(tenant, rowids)

    def history(self, memory_id: str, tenant: str) -> list[HistoryEntry]:
        """Changes of one memory, oldest first."""
        with self._reading() as g:
            return g.history(memory_id, tenant)

    def iter_all(
        self, scope: Scope, *, with_vectors: bool = False, page: int = 500
    ) -> Iterator[MemoryRecord]:
        """Every memory in scope, any status, oldest first; pages by rowid, a session a page."""
        last = 0
        while True:
            with self._reading() as g:
                rows = g.records_after(scope, last, page, with_vectors)
            for _, record in rows:
                yield record
            if len(rows) < page:
                return
            last = rows[-1][0]

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
        """Stored raw messages in scope, optionally by id, status, time or keywords."""
        with self._reading() as g:
            return g.episodes(
                scope,
                ids=ids,
                status=status,
                limit=limit,
                newest_first=newest_first,
                since=since,
                until=until,
                keywords=keywords,
            )

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
