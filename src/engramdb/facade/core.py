"""What the method groups of the facade need from :class:`~engramdb.Memory` (a Protocol)."""

from __future__ import annotations

from typing import Any, Protocol

from engramdb.config import MemoryConfig
from engramdb.embed.base import Embedder
from engramdb.filters import Node
from engramdb.graph.retrieve import QueryEntities
from engramdb.models import MemoryRecord, Scope
from engramdb.retrieve.search import Hit
from engramdb.store.base import Store
from engramdb.timeutil import TimeInput


class FacadeCore(Protocol):
    """The attributes and helpers of ``Memory`` that its method groups use."""

    config: MemoryConfig
    embedder: Embedder
    store: Store
    tenant: str

    def _scope(
        self,
        user_id: Any,
        agent_id: Any,
        run_id: Any,
        filters: dict[str, Any] | None = None,
        *,
        required: bool,
        action: str,
    ) -> tuple[Scope, Node | None]: ...

    def _owned(self, memory_id: Any) -> MemoryRecord: ...

    def _entities(self, query: str, scope: Scope, limit: int = 0) -> QueryEntities | None: ...

    def _hits(
        self,
        query: str,
        scope: Scope,
        where: Node | None,
        limit: int,
        threshold: float | None,
        as_of: TimeInput | None = None,
        entities: QueryEntities | None = None,
    ) -> list[Hit]: ...
