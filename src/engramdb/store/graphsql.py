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

The class is assembled from :mod:`~engramdb.store.graph_base` (runner and shared lookups),
:mod:`~engramdb.store.graph_reads`, :mod:`~engramdb.store.graph_linking` (a write's links,
batched), :mod:`~engramdb.store.graph_writes` (unlinking, cleanup, merges),
:mod:`~engramdb.store.graph_dump` (export pages), :mod:`~engramdb.store.graph_restore` (the
import write), :mod:`~engramdb.store.feedback_sql` (feedback rows for an export) and
:mod:`~engramdb.store.admin_sql` (API keys, metrics, a reset's row deletes),
:mod:`~engramdb.store.record_sql` (memory, history, feedback and episode reads) and
:mod:`~engramdb.store.lifecycle_sql` (an erasure's shared statements), the last four here
for the shared runner.
"""

from __future__ import annotations

from engramdb.store.admin_sql import AdminSQL
from engramdb.store.feedback_sql import FeedbackSQL
from engramdb.store.graph_base import LookupRequest, Run, ScopeSQL, WhereSQL, scope_key
from engramdb.store.graph_dump import GraphDump
from engramdb.store.graph_reads import MAX_SOURCES
from engramdb.store.graph_restore import GraphRestore
from engramdb.store.graph_writes import GraphWrites
from engramdb.store.lifecycle_sql import LifecycleSQL
from engramdb.store.record_sql import RecordSQL

__all__ = [
    "MAX_SOURCES",
    "GraphSQL",
    "LookupRequest",
    "Run",
    "ScopeSQL",
    "WhereSQL",
    "scope_key",
]


class GraphSQL(
    GraphWrites, GraphDump, GraphRestore, FeedbackSQL, AdminSQL, RecordSQL, LifecycleSQL
):
    """Graph reads and writes over one connection (see the module docstring); each store
    subclasses it with its database's answers to :class:`RecordSQL`'s questions."""
