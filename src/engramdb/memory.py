"""The facade users call: ``Memory``. Validation first, then one store transaction per write."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from engramdb.config import MemoryConfig
from engramdb.embed.base import Embedder
from engramdb.errors import MemoryNotFoundError, ScopeError, ValidationError
from engramdb.filters import Node, parse, split_scope
from engramdb.ingest import plan
from engramdb.ingest.messages import parse_messages
from engramdb.models import Change, MemoryRecord, Scope, WriteBatch
from engramdb.registry import build_embedder, build_store
from engramdb.retrieve.search import Hit, search
from engramdb.store.base import Store
from engramdb.timeutil import TimeInput, iso, to_iso, utcnow

MAX_LIMIT = 10_000
MAX_QUERY_CHARS = 10_000


def _check_id(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be a non-empty string, not {value!r}")
    if len(value) > 256:
        raise ValidationError(f"{name} is longer than 256 characters")
    return value


def _check_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValidationError(f"metadata must be a dict, not {type(metadata).__name__}")
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata is not JSON-serialisable: {exc}") from exc
    return dict(metadata)


def _check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_LIMIT}, not {limit!r}")
    return limit


def _hit_dict(hit: Hit) -> dict[str, Any]:
    out = hit.record.to_dict()
    out["score"] = round(hit.score, 6)
    out["similarity"] = round(hit.similarity, 6)
    return out


class Memory:
    """Long-term memory for agents, embedded and offline by default.

    Example::

        from engramdb import Memory

        m = Memory(path="./data")
        m.add("I'm vegetarian and I live in Lisbon.", user_id="alice")
        m.search("what should I cook for alice?", user_id="alice")["results"][0]["memory"]

    ``path`` is a data directory (default ``$ENGRAMDB_HOME`` or ``~/.engramdb``); the store is
    ``<path>/memories.db``. Ready-built ``store``/``embedder`` instances may be passed instead of
    configuration, which is how tests and the server share one store.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        config: MemoryConfig | dict[str, Any] | str | Path | None = None,
        embedder: Embedder | None = None,
        store: Store | None = None,
    ) -> None:
        cfg = MemoryConfig.load(config)
        if path is not None:
            cfg = cfg.model_copy(update={"home": str(path)})
        self.config = cfg
        self.embedder = embedder if embedder is not None else build_embedder(cfg.embedder)
        # Only a store this facade opened is closed by close(); a passed-in one is shared.
        self._owns_store = store is None
        self.store = store if store is not None else build_store(cfg, self.embedder.dims)
        self.tenant = cfg.tenant
        self._closed = threading.Event()

    @classmethod
    def from_config(cls, config: MemoryConfig | dict[str, Any] | str | Path) -> Memory:
        """Build from one config (dict, model or file path); see :class:`MemoryConfig`.

        >>> m = Memory.from_config({"home": "/tmp/engram-doc", "retrieval": {"preset": "hybrid"}})
        """
        return cls(config=config)

    def for_tenant(self, tenant: str) -> Memory:
        """A facade over the same store and embedder, confined to ``tenant``.

        The server builds one per API key; every store query of the result carries the tenant,
        so it can never read or change another tenant's memories. Cheap: nothing is reopened.
        """
        if not isinstance(tenant, str) or not tenant:
            raise ValidationError("tenant must be a non-empty string")
        if tenant == self.tenant:
            return self
        cfg = self.config.model_copy(update={"tenant": tenant})
        return Memory(config=cfg, embedder=self.embedder, store=self.store)

    # -- scope ----------------------------------------------------------------------------

    def _scope(
        self,
        user_id: Any,
        agent_id: Any,
        run_id: Any,
        filters: dict[str, Any] | None = None,
        *,
        required: bool,
        action: str,
    ) -> tuple[Scope, Node | None]:
        ids = {
            "user_id": _check_id("user_id", user_id),
            "agent_id": _check_id("agent_id", agent_id),
            "run_id": _check_id("run_id", run_id),
        }
        from_filters, where = split_scope(parse(filters))
        for key, value in from_filters.items():
            if ids[key] is not None and ids[key] != value:
                raise ValidationError(
                    f"{key} is {ids[key]!r} but filters say {value!r}; give it once"
                )
            ids[key] = _check_id(key, value)
        scope = Scope(tenant=self.tenant, **ids)
        if required and scope.is_empty:
            raise ScopeError(
                f"{action} needs at least one of user_id, agent_id or run_id "
                "(as arguments or inside filters)"
            )
        return scope, where

    def _owned(self, memory_id: Any) -> MemoryRecord:
        if not isinstance(memory_id, str) or not memory_id:
            raise ValidationError(f"memory_id must be a non-empty string, not {memory_id!r}")
        record = self.store.get(memory_id, self.tenant)
        if record is None:
            raise MemoryNotFoundError(memory_id)
        return record

    # -- writes ---------------------------------------------------------------------------

    def add(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        infer: bool = True,
        timestamp: TimeInput | None = None,
        memory_type: str | None = None,
    ) -> dict[str, Any]:
        """Remember ``messages`` (a string, a ``{"role", "content"}`` dict, or a list).

        With ``infer=False`` every non-system message is stored verbatim as one memory; a list
        of 500 messages is embedded in batches and written in one transaction. ``timestamp``
        (datetime, ISO-8601 or epoch seconds; naive = UTC) is when the messages were said.

        Returns ``{"results": [{"id", "memory", "event", ...}]}``.
        """
        scope, _ = self._scope(user_id, agent_id, run_id, required=True, action="add")
        meta = _check_metadata(metadata)
        msgs = plan.storable(parse_messages(messages))
        if not msgs:
            raise ValidationError("messages hold only system messages: nothing to remember")
        at = to_iso(timestamp) if timestamp is not None else iso(utcnow())
        if memory_type is not None and not isinstance(memory_type, str):
            raise ValidationError("memory_type must be a string")
        vectors = self.embedder.embed([plan.memory_text(m) for m in msgs])
        batch, results = plan.verbatim(
            msgs, vectors, scope, meta, at, memory_type=memory_type or "fact"
        )
        self.store.apply(batch)
        return {"results": results}

    def update(
        self, memory_id: str, text: str | None = None, metadata: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Change a memory's text and/or metadata (metadata is replaced, not merged).

        The old text stays in :meth:`history`.
        """
        record = self._owned(memory_id)
        if text is None and metadata is None:
            raise ValidationError("update needs text or metadata")
        change = Change(id=record.id, reason="manual update")
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                raise ValidationError("text must be a non-empty string")
            change.memory = text.strip()
            change.hash = plan.text_hash(change.memory)
            change.vector = self.embedder.embed([change.memory])[0]
        if metadata is not None:
            change.metadata = _check_metadata(metadata)
        self.store.apply(WriteBatch(changes=[change], at=iso(utcnow())))
        updated = self.store.get(record.id, self.tenant)
        assert updated is not None
        return {"message": "Memory updated successfully!", **updated.to_dict()}

    def delete(self, memory_id: str) -> dict[str, Any]:
        """Delete one memory; its history is kept."""
        record = self._owned(memory_id)
        self.store.apply(WriteBatch(deletes=[record.id], at=iso(utcnow())))
        return {"message": "Memory deleted successfully!", "id": record.id}

    def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Delete every memory in a scope. With no scope this raises: never "delete all"."""
        scope, _ = self._scope(user_id, agent_id, run_id, required=True, action="delete_all")
        ids = self.store.ids_in_scope(scope)
        self.store.apply(WriteBatch(deletes=ids, at=iso(utcnow())))
        return {"message": "Memories deleted successfully!", "deleted": len(ids)}

    def reset(self) -> None:
        """Erase every memory and history row of this tenant."""
        self.store.reset(self.tenant)

    # -- reads ----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: dict[str, Any] | None = None,
        limit: int = 10,
        threshold: float | None = None,
    ) -> dict[str, Any]:
        """The memories most relevant to ``query`` in a scope, best first.

        Hybrid retrieval: vector and keyword candidates fused by rank. ``score`` is the fused
        score scaled so the best hit is 1.0; ``similarity`` is the cosine similarity to the
        query, and ``threshold`` drops hits whose similarity is below it.
        """
        if not isinstance(query, str) or not query.strip():
            raise ValidationError("query must be a non-empty string")
        if len(query) > MAX_QUERY_CHARS:
            raise ValidationError(f"query is longer than {MAX_QUERY_CHARS} characters")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float)
        ):
            raise ValidationError(f"threshold must be a number, not {threshold!r}")
        scope, where = self._scope(
            user_id, agent_id, run_id, filters, required=True, action="search"
        )
        limit = _check_limit(limit)
        vector = (
            self.embedder.embed([query.strip()])[0] if self.config.retrieval.use_vector else None
        )
        hits = search(
            self.store,
            vector,
            query,
            scope,
            where,
            limit=limit,
            threshold=threshold,
            cfg=self.config.retrieval,
        )
        return {"results": [_hit_dict(h) for h in hits]}

    def get(self, memory_id: str) -> dict[str, Any] | None:
        """One memory by id, or None when there is none."""
        if not isinstance(memory_id, str) or not memory_id:
            raise ValidationError(f"memory_id must be a non-empty string, not {memory_id!r}")
        record = self.store.get(memory_id, self.tenant)
        return None if record is None else record.to_dict()

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: dict[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> dict[str, Any]:
        """Memories in a scope, newest first, optionally filtered."""
        scope, where = self._scope(
            user_id, agent_id, run_id, filters, required=True, action="get_all"
        )
        limit = _check_limit(limit)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValidationError(f"offset must be a non-negative integer, not {offset!r}")
        records = self.store.list_records(scope, where, limit=limit, offset=offset)
        return {"results": [r.to_dict() for r in records]}

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        """Every change of a memory, oldest first; kept after the memory is deleted."""
        if not isinstance(memory_id, str) or not memory_id:
            raise ValidationError(f"memory_id must be a non-empty string, not {memory_id!r}")
        entries = self.store.history(memory_id, self.tenant)
        if not entries and self.store.get(memory_id, self.tenant) is None:
            raise MemoryNotFoundError(memory_id)
        return [e.to_dict() for e in entries]

    def stats(self) -> dict[str, Any]:
        """Counts of memories, users, agents and history rows, and where the store is."""
        out = self.store.stats(self.tenant)
        out["embedder"] = self.embedder.name
        return out

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store if this facade opened it. Safe to call twice."""
        if not self._closed.is_set():
            self._closed.set()
            if self._owns_store:
                self.store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
