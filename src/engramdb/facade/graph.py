"""``Memory.entities``, ``relations``, ``graph``, ``merge_entities``, ``unmerge`` (see
``engramdb.graph``)."""

from __future__ import annotations

from typing import Any

from engramdb.facade.core import FacadeCore
from engramdb.graph import api as graph_api
from engramdb.validation import check_limit


class GraphMethods:
    """Reading and correcting the entity graph of a scope."""

    def entities(
        self: FacadeCore,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The people, places, organisations, things and dates a scope's memories name,
        most linked first: ``{"id", "name", "kind", "memories", ...}``."""
        scope, _ = self._scope(user_id, agent_id, run_id, required=True, action="entities")
        return graph_api.entities(self.store, scope, limit=check_limit(limit))

    def relations(
        self: FacadeCore,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        entity: str | None = None,
        include_invalid: bool = False,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Relations between a scope's entities, newest first, in Mem0's graph shape
        (``source``, ``relationship``, ``target``) with validity and source memories.

        ``entity`` (a name or an id) keeps those touching it; ``include_invalid`` adds
        relations that ended (their memory was superseded).
        """
        scope, _ = self._scope(user_id, agent_id, run_id, required=True, action="relations")
        return graph_api.relations(
            self.store,
            scope,
            entity=entity,
            include_invalid=bool(include_invalid),
            limit=check_limit(limit),
        )

    def graph(
        self: FacadeCore,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 200,
        include_invalid: bool = False,
    ) -> dict[str, Any]:
        """A scope's graph for drawing: ``{"nodes": [entities], "edges": [relations]}``."""
        scope, _ = self._scope(user_id, agent_id, run_id, required=True, action="graph")
        return graph_api.graph(
            self.store, scope, limit=check_limit(limit), include_invalid=bool(include_invalid)
        )

    def merge_entities(self: FacadeCore, source_id: str, target_id: str) -> dict[str, Any]:
        """Merge entity ``source_id`` into ``target_id`` (same scope): its memories, relations
        and names then belong to the target. Returns the merge record; see :meth:`unmerge`."""
        return graph_api.merge(self.store, self.tenant, source_id, target_id)

    def unmerge(self: FacadeCore, merge_id: str) -> dict[str, Any]:
        """Undo :meth:`merge_entities`: the source entity gets back what it had."""
        return graph_api.unmerge(self.store, self.tenant, merge_id)
