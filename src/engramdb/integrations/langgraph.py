"""LangGraph long-term memory on engramdb, and memory tools for LangChain agents.

Extra ``engramdb[langgraph]``. ``EngramStore`` is a LangGraph ``BaseStore``, so the store API
LangGraph nodes use (``put``/``get``/``search``/``delete``/``list_namespaces``) runs on an
engramdb :class:`~engramdb.Memory` (or a remote :class:`~engramdb.Client`)::

    from engramdb import Memory
    from engramdb.integrations.langgraph import EngramStore

    store = EngramStore(Memory(path="./data"))
    graph = builder.compile(store=store)
    # inside a node:  store.put(("memories", user_id), "diet", {"text": "vegetarian"})
    #                 store.search(("memories", user_id), query="what does the user eat?")

How namespaces map to engramdb: every item is one memory stored verbatim (``infer=False``) under
``agent_id`` (default ``"langgraph"``) and, when the namespace names one, a ``user_id``: by
default the second label, so ``("memories", "alice")`` is user ``alice``. Pass
``user_from_namespace`` to map differently. The namespace, key and value travel in the memory's
metadata; the memory text is the value's ``text``/``content``/``memory``/``data`` string (or the
fields named by ``index=[...]``, or the value as JSON), which is what search embeds. Namespace
prefixes and value filters are compiled into engramdb filters, so they run inside the store's
query. ``index=False`` and TTLs are accepted and ignored: every item is searchable and kept.

``create_memory_tools(memory, user_id="alice")`` returns LangChain ``StructuredTool`` objects
(``add_memory``, ``search_memory``) for a tool-calling agent.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

try:
    from langchain_core.tools import StructuredTool
    from langgraph.store.base import (
        BaseStore,
        GetOp,
        Item,
        ListNamespacesOp,
        MatchCondition,
        Op,
        PutOp,
        Result,
        SearchItem,
        SearchOp,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "engramdb.integrations.langgraph needs LangGraph: pip install 'engramdb[langgraph]'"
    ) from exc

from engramdb.client import Client
from engramdb.memory import Memory

__all__ = ["EngramStore", "create_memory_tools", "default_user_from_namespace"]

MARK_KEY = "lg_item"  # true on every memory this store wrote
NS_KEY = "lg_ns"  # the namespace, labels joined by SEP
PREFIXES_KEY = "lg_prefixes"  # every prefix of the namespace, for prefix search in SQL
ITEM_KEY = "lg_key"
VALUE_KEY = "lg_value"
FIELD_PREFIX = "lgv_"  # top-level scalar value fields, copied so filters can reach them
SEP = "\x1f"
_TEXT_FIELDS = ("text", "content", "memory", "data")
_META_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,58}$")
_OPS = {"$eq": "eq", "$ne": "ne", "$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
_PAGE = 1000
_OURS = {f"metadata.{MARK_KEY}": {"eq": True}}

MemoryBackend = Memory | Client


def default_user_from_namespace(namespace: tuple[str, ...]) -> str | None:
    """``("memories", "alice", ...)`` → ``"alice"``; a one-label namespace has no user."""
    return namespace[1] if len(namespace) >= 2 else None


def _join(namespace: tuple[str, ...]) -> str:
    return SEP.join(namespace)


def _text_of(value: dict[str, Any], index: list[str] | None) -> str:
    if index:
        parts = [str(value[f]) for f in index if value.get(f) not in (None, "")]
        if parts:
            return "\n".join(parts)
    for name in _TEXT_FIELDS:
        v = value.get(name)
        if isinstance(v, str) and v.strip():
            return v
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _metadata(namespace: tuple[str, ...], key: str, value: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {
        MARK_KEY: True,
        NS_KEY: _join(namespace),
        PREFIXES_KEY: [_join(namespace[: i + 1]) for i in range(len(namespace))],
        ITEM_KEY: key,
        VALUE_KEY: value,
    }
    for name, v in value.items():
        if _META_KEY.match(name) and (v is None or isinstance(v, str | int | float | bool)):
            meta[FIELD_PREFIX + name] = v
    return meta


def _value_filter(flt: dict[str, Any] | None) -> list[dict[str, Any]]:
    """LangGraph's ``{"field": v, "n": {"$gt": 1}}`` as engramdb filter clauses."""
    clauses: list[dict[str, Any]] = []
    for name, cond in (flt or {}).items():
        if not _META_KEY.match(name):
            raise ValueError(f"cannot filter on value field {name!r}")
        field = f"metadata.{FIELD_PREFIX}{name}"
        if isinstance(cond, dict) and cond and all(k in _OPS for k in cond):
            clauses.append({field: {_OPS[k]: v for k, v in cond.items()}})
        else:
            clauses.append({field: {"eq": cond}})
    return clauses


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _item(record: dict[str, Any]) -> Item:
    meta = record["metadata"]
    return Item(
        value=dict(meta[VALUE_KEY]),
        key=str(meta[ITEM_KEY]),
        namespace=tuple(str(meta[NS_KEY]).split(SEP)),
        created_at=_when(record["created_at"]),
        updated_at=_when(record["updated_at"]),
    )


def _search_item(record: dict[str, Any], score: float | None) -> SearchItem:
    item = _item(record)
    return SearchItem(
        namespace=item.namespace,
        key=item.key,
        value=item.value,
        created_at=item.created_at,
        updated_at=item.updated_at,
        score=score,
    )


def _matches(namespace: tuple[str, ...], cond: MatchCondition) -> bool:
    path = tuple(cond.path)
    if len(path) > len(namespace):
        return False
    part = namespace[: len(path)] if cond.match_type == "prefix" else namespace[-len(path) :]
    return all(p == "*" or p == n for p, n in zip(path, part, strict=True))


class EngramStore(BaseStore):
    """A LangGraph ``BaseStore`` whose items are engramdb memories (see the module docs).

    ``memory`` is a :class:`~engramdb.Memory` or :class:`~engramdb.Client`; the store does
    not close it. All operations go through :meth:`batch`; :meth:`abatch` runs it in a thread.
    """

    def __init__(
        self,
        memory: MemoryBackend,
        *,
        agent_id: str = "langgraph",
        user_from_namespace: Callable[[tuple[str, ...]], str | None] = (
            default_user_from_namespace
        ),
    ) -> None:
        self.memory = memory
        self.agent_id = agent_id
        self.user_from_namespace = user_from_namespace

    # -- BaseStore --------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``ops`` in order; one result per op (``None`` for puts)."""
        results: list[Result] = []
        for op in ops:
            if isinstance(op, GetOp):
                found = self._find(op.namespace, op.key)
                results.append(None if found is None else _item(found))
            elif isinstance(op, PutOp):
                self._put(op)
                results.append(None)
            elif isinstance(op, SearchOp):
                results.append(self._search(op))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            else:
                raise TypeError(f"unknown store operation {op!r}")
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """:meth:`batch` in a worker thread (engramdb's SQLite calls block)."""
        return await asyncio.to_thread(self.batch, list(ops))

    # -- operations -------------------------------------------------------------------------

    def _scope(self, namespace: tuple[str, ...]) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "user_id": self.user_from_namespace(namespace)}

    def _find(self, namespace: tuple[str, ...], key: str) -> dict[str, Any] | None:
        filters = {"AND": [{f"metadata.{NS_KEY}": _join(namespace)}, {f"metadata.{ITEM_KEY}": key}]}
        found = self.memory.get_all(**self._scope(namespace), filters=filters, limit=1)["results"]
        return dict(found[0]) if found else None

    def _put(self, op: PutOp) -> None:
        existing = self._find(op.namespace, op.key)
        if op.value is None:
            if existing is not None:
                self.memory.delete(existing["id"])
            return
        index = op.index if isinstance(op.index, list) else None
        value = dict(op.value)
        text = _text_of(value, index)
        meta = _metadata(op.namespace, op.key, value)
        if existing is not None:
            self.memory.update(existing["id"], text=text, metadata=meta)
        else:
            self.memory.add(
                [{"role": "user", "content": text}],
                **self._scope(op.namespace),
                metadata=meta,
                infer=False,
            )

    def _search(self, op: SearchOp) -> list[SearchItem]:
        prefix = tuple(op.namespace_prefix)
        clauses = _value_filter(op.filter)
        if prefix:
            clauses.append({f"metadata.{PREFIXES_KEY}": {"contains": _join(prefix)}})
        clauses.append(_OURS)  # only items this store wrote, whatever else the scope holds
        filters = {"AND": clauses}
        scope = self._scope(prefix)
        if op.query:
            hits = self.memory.search(
                op.query, **scope, filters=filters, limit=op.offset + op.limit
            )["results"]
            return [_search_item(h, float(h["score"])) for h in hits[op.offset :]]
        records = self.memory.get_all(**scope, filters=filters, limit=op.limit, offset=op.offset)[
            "results"
        ]
        return [_search_item(r, None) for r in records]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        seen: set[tuple[str, ...]] = set()
        offset = 0
        while True:
            page = self.memory.get_all(
                agent_id=self.agent_id,
                filters=_OURS,
                limit=_PAGE,
                offset=offset,
            )["results"]
            for record in page:
                ns = tuple(str(record["metadata"][NS_KEY]).split(SEP))
                if all(_matches(ns, c) for c in op.match_conditions or ()):
                    seen.add(ns[: op.max_depth] if op.max_depth is not None else ns)
            if len(page) < _PAGE:
                break
            offset += _PAGE
        return sorted(seen)[op.offset : op.offset + op.limit]


# -- LangChain tools ------------------------------------------------------------------------


class _AddArgs(BaseModel):
    text: str = Field(description="A durable fact, preference or decision, in plain words.")


class _SearchArgs(BaseModel):
    query: str = Field(description="What to look for, as a short natural-language question.")
    limit: int = Field(5, ge=1, le=50, description="How many memories to return at most.")


def create_memory_tools(
    memory: MemoryBackend,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    infer: bool = True,
) -> list[StructuredTool]:
    """``add_memory`` and ``search_memory`` as LangChain tools bound to one scope.

    >>> tools = create_memory_tools(Memory(path="./data"), user_id="alice")
    >>> agent = create_react_agent(model, tools)  # any tool-calling LangChain agent
    """

    def add_memory(text: str) -> str:
        out = memory.add(text, user_id=user_id, agent_id=agent_id, run_id=run_id, infer=infer)
        events = [f"{r.get('event', 'ADD')}: {r.get('memory', '')}" for r in out["results"]]
        return "\n".join(events) if events else "Nothing new to remember."

    def search_memory(query: str, limit: int = 5) -> str:
        hits = memory.search(query, user_id=user_id, agent_id=agent_id, run_id=run_id, limit=limit)[
            "results"
        ]
        if not hits:
            return "No relevant memories."
        return "\n".join(f"- {h['memory']} (id {h['id']})" for h in hits)

    return [
        StructuredTool.from_function(
            func=add_memory,
            name="add_memory",
            description="Remember a durable fact, preference or decision about the user.",
            args_schema=_AddArgs,
        ),
        StructuredTool.from_function(
            func=search_memory,
            name="search_memory",
            description="Search long-term memory for facts relevant to a question.",
            args_schema=_SearchArgs,
        ),
    ]
