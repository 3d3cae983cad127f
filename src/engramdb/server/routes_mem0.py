"""Mem0-compatible routes, so Mem0 users' code runs unchanged against engramdb.

Two families, both answered by the same ``Memory`` calls as the own ``/v1`` API:

* the Mem0 OSS REST server: ``/memories``, ``/memories/{id}``, ``/memories/{id}/history``,
  ``/search``, ``/reset`` (no trailing slashes);
* the hosted platform API as ``mem0ai``'s ``MemoryClient`` calls it (trailing slashes, ``Token``
  auth): ``GET /v1/ping/``, ``POST /v1/memories/`` and ``/v3/memories/add/`` (add),
  ``GET /v1/memories/`` and ``POST /v2/memories/``, ``/v3/memories/`` (list, paginated),
  ``POST /v{1,2,3}/memories/search/``, ``GET|PUT|DELETE /v1/memories/{id}/``,
  ``DELETE /v1/memories/`` (delete a scope), ``GET /v1/memories/{id}/history/``.

Scope ids come from top-level fields or from equality conditions inside ``filters``; the tenant
always comes from the API key. Organisation and project parameters are accepted and ignored.
"""

from __future__ import annotations

import ast
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from engramdb.errors import ValidationError
from engramdb.filters import parse, split_scope
from engramdb.memory import Memory
from engramdb.server import models as m
from engramdb.server.auth import Caller, ReadMemory, WriteMemory
from engramdb.server.routes_v1 import check_add, check_query, found

oss = APIRouter(tags=["mem0-oss"], responses=m.ERRORS)
hosted = APIRouter(tags=["mem0-platform"], responses=m.ERRORS)

UserQ = Annotated[str | None, Query()]
AgentQ = Annotated[str | None, Query()]
RunQ = Annotated[str | None, Query()]
_LENIENT = ConfigDict(extra="ignore")


# -- bodies -------------------------------------------------------------------------------


class OssAdd(BaseModel):
    """Body of the OSS ``POST /memories``."""

    model_config = _LENIENT
    messages: m.Messages
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    metadata: dict[str, Any] | None = None
    infer: bool = True


class OssSearch(BaseModel):
    """Body of the OSS ``POST /search``."""

    model_config = _LENIENT
    query: str
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    filters: dict[str, Any] | None = None
    limit: int = 10
    threshold: float | None = None


class HostedAdd(BaseModel):
    """Body of the platform's add (v1 and v3); unknown platform options are ignored."""

    model_config = _LENIENT
    messages: m.Messages
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    filters: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    infer: bool = True
    timestamp: m.TimeValue | None = None


class HostedSearch(BaseModel):
    """Body of the platform's search (v1, v2, v3)."""

    model_config = _LENIENT
    query: str
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    filters: dict[str, Any] | None = None
    top_k: int | None = None
    limit: int | None = None
    threshold: float | None = None


class HostedList(BaseModel):
    """Body of the platform's list (v2, v3)."""

    model_config = _LENIENT
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    filters: dict[str, Any] | None = None
    page: int | None = None
    page_size: int | None = None


class HostedUpdate(BaseModel):
    """Body of the platform's update; ``timestamp``/``expiration_date`` are ignored."""

    model_config = _LENIENT
    text: str | None = None
    metadata: dict[str, Any] | None = None


class Page(BaseModel):
    """A page of memories, as the platform returns it."""

    count: int = Field(..., description="memories on this and earlier pages (lower bound)")
    next: str | None = None
    previous: str | None = None
    results: list[m.MemoryOut]


class Ping(BaseModel):
    """What ``MemoryClient`` reads when it starts."""

    model_config = ConfigDict(extra="allow")
    status: str
    org_id: str | None = None
    project_id: str | None = None
    user_email: str | None = None


# -- helpers (pure) ------------------------------------------------------------------------


def scope_ids(
    user_id: str | None,
    agent_id: str | None,
    run_id: str | None,
    filters: dict[str, Any] | None,
) -> dict[str, str | None]:
    """Scope ids from top-level fields, completed from equality conditions in ``filters``."""
    ids: dict[str, str | None] = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
    if filters:
        from_filters, _ = split_scope(parse(filters))
        for key, value in from_filters.items():
            if ids.get(key) is None:
                ids[key] = value
    return ids


def query_filters(raw: str | None) -> dict[str, Any] | None:
    """A ``filters`` query parameter: JSON, or the Python repr httpx makes of a dict."""
    if not raw:
        return None
    if len(raw) > 10_000:
        raise ValidationError("filters is longer than 10000 characters")
    try:
        value = json.loads(raw)
    except ValueError:
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise ValidationError("filters must be a JSON object") from None
    if not isinstance(value, dict):
        raise ValidationError("filters must be a JSON object")
    return value


def _page(
    memory: Memory,
    request: Request,
    ids: dict[str, str | None],
    filters: dict[str, Any] | None,
    page: int | None,
    page_size: int | None,
) -> dict[str, Any]:
    number = page or 1
    size = page_size or 100
    if number < 1 or not 1 <= size <= 1000:
        raise ValidationError("page must be >= 1 and page_size from 1 to 1000")
    offset = (number - 1) * size
    rows = memory.get_all(
        user_id=ids["user_id"],
        agent_id=ids["agent_id"],
        run_id=ids["run_id"],
        filters=filters,
        limit=size + 1,
        offset=offset,
    )["results"]
    more = len(rows) > size
    url = request.url

    def link(n: int) -> str:
        return str(url.include_query_params(page=n, page_size=size))

    return {
        "count": offset + len(rows),
        "next": link(number + 1) if more else None,
        "previous": link(number - 1) if number > 1 else None,
        "results": rows[:size],
    }


# -- the OSS server ------------------------------------------------------------------------


@oss.post("/memories", response_model=m.AddResponse)
def oss_add(body: OssAdd, request: Request, memory: WriteMemory) -> dict[str, Any]:
    """Mem0 OSS: store messages."""
    return memory.add(
        check_add(request, body.messages),
        user_id=body.user_id,
        agent_id=body.agent_id,
        run_id=body.run_id,
        metadata=body.metadata,
        infer=body.infer,
    )


@oss.get("/memories", response_model=m.MemoryList)
def oss_list(
    memory: ReadMemory, user_id: UserQ = None, agent_id: AgentQ = None, run_id: RunQ = None
) -> dict[str, Any]:
    """Mem0 OSS: memories of a scope."""
    return memory.get_all(user_id=user_id, agent_id=agent_id, run_id=run_id)


@oss.delete("/memories", response_model=m.MessageResponse)
def oss_delete_all(
    memory: WriteMemory, user_id: UserQ = None, agent_id: AgentQ = None, run_id: RunQ = None
) -> dict[str, Any]:
    """Mem0 OSS: delete every memory of a scope."""
    memory.delete_all(user_id=user_id, agent_id=agent_id, run_id=run_id)
    return {"message": "All relevant memories deleted"}


@oss.get("/memories/{memory_id}", response_model=m.MemoryOut)
def oss_get(memory_id: str, memory: ReadMemory) -> dict[str, Any]:
    """Mem0 OSS: one memory."""
    return found(memory, memory_id)


@oss.put("/memories/{memory_id}", response_model=m.UpdateResponse)
def oss_update(memory_id: str, body: dict[str, Any], memory: WriteMemory) -> dict[str, Any]:
    """Mem0 OSS: new text (``text``, ``data`` or ``memory``) and/or ``metadata``."""
    text = next((body[k] for k in ("text", "data", "memory") if body.get(k) is not None), None)
    if text is not None and not isinstance(text, str):
        raise ValidationError("text must be a string")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ValidationError("metadata must be an object")
    return memory.update(memory_id, text=text, metadata=metadata)


@oss.delete("/memories/{memory_id}", response_model=m.MessageResponse)
def oss_delete(memory_id: str, memory: WriteMemory) -> dict[str, Any]:
    """Mem0 OSS: delete one memory."""
    memory.delete(memory_id)
    return {"message": "Memory deleted successfully"}


@oss.get("/memories/{memory_id}/history", response_model=list[m.HistoryOut])
def oss_history(memory_id: str, memory: ReadMemory) -> list[dict[str, Any]]:
    """Mem0 OSS: history of a memory."""
    return memory.history(memory_id)


@oss.post("/search", response_model=m.SearchResponse)
def oss_search(body: OssSearch, request: Request, memory: ReadMemory) -> dict[str, Any]:
    """Mem0 OSS: search a scope."""
    return memory.search(
        check_query(request, body.query),
        user_id=body.user_id,
        agent_id=body.agent_id,
        run_id=body.run_id,
        filters=body.filters,
        limit=body.limit,
        threshold=body.threshold,
    )


@oss.post("/reset", response_model=m.MessageResponse)
def oss_reset(memory: WriteMemory) -> dict[str, Any]:
    """Mem0 OSS: erase every memory of the caller's tenant (never another tenant's)."""
    memory.reset()
    return {"message": "All memories reset"}


# -- the hosted platform API ---------------------------------------------------------------


@hosted.get("/v1/ping/", response_model=Ping)
def ping(principal: Caller) -> dict[str, Any]:
    """Key check ``MemoryClient`` makes when it starts; org and project are the tenant."""
    return {
        "status": "ok",
        "org_id": principal.tenant,
        "project_id": principal.tenant,
        "user_email": None,
    }


def _hosted_add(body: HostedAdd, request: Request, memory: Memory) -> dict[str, Any]:
    ids = scope_ids(body.user_id, body.agent_id, body.run_id, body.filters)
    return memory.add(
        check_add(request, body.messages),
        user_id=ids["user_id"],
        agent_id=ids["agent_id"],
        run_id=ids["run_id"],
        metadata=body.metadata,
        infer=body.infer,
        timestamp=body.timestamp,
    )


@hosted.post("/v1/memories/", response_model=m.AddResponse)
def hosted_add_v1(body: HostedAdd, request: Request, memory: WriteMemory) -> dict[str, Any]:
    """Platform add (v1 clients)."""
    return _hosted_add(body, request, memory)


@hosted.post("/v3/memories/add/", response_model=m.AddResponse)
def hosted_add_v3(body: HostedAdd, request: Request, memory: WriteMemory) -> dict[str, Any]:
    """Platform add (v3 clients)."""
    return _hosted_add(body, request, memory)


@hosted.get("/v1/memories/", response_model=Page)
def hosted_list_v1(
    request: Request,
    memory: ReadMemory,
    user_id: UserQ = None,
    agent_id: AgentQ = None,
    run_id: RunQ = None,
    page: Annotated[int | None, Query()] = None,
    page_size: Annotated[int | None, Query()] = None,
) -> dict[str, Any]:
    """Platform list with scope ids as query parameters (v1 clients)."""
    ids = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
    return _page(memory, request, ids, None, page, page_size)


def _hosted_list(
    body: HostedList, request: Request, memory: Memory, page: int | None, page_size: int | None
) -> dict[str, Any]:
    ids = {"user_id": body.user_id, "agent_id": body.agent_id, "run_id": body.run_id}
    return _page(memory, request, ids, body.filters, page or body.page, page_size or body.page_size)


@hosted.post("/v2/memories/", response_model=Page)
def hosted_list_v2(
    body: HostedList,
    request: Request,
    memory: ReadMemory,
    page: Annotated[int | None, Query()] = None,
    page_size: Annotated[int | None, Query()] = None,
) -> dict[str, Any]:
    """Platform list with ``filters`` in the body (v2 clients)."""
    return _hosted_list(body, request, memory, page, page_size)


@hosted.post("/v3/memories/", response_model=Page)
def hosted_list_v3(
    body: HostedList,
    request: Request,
    memory: ReadMemory,
    page: Annotated[int | None, Query()] = None,
    page_size: Annotated[int | None, Query()] = None,
) -> dict[str, Any]:
    """Platform list with ``filters`` in the body (v3 clients)."""
    return _hosted_list(body, request, memory, page, page_size)


def _hosted_search(body: HostedSearch, request: Request, memory: Memory) -> dict[str, Any]:
    return memory.search(
        check_query(request, body.query),
        user_id=body.user_id,
        agent_id=body.agent_id,
        run_id=body.run_id,
        filters=body.filters,
        limit=body.top_k or body.limit or 10,
        threshold=body.threshold,
    )


@hosted.post("/v1/memories/search/", response_model=m.SearchResponse)
def hosted_search_v1(body: HostedSearch, request: Request, memory: ReadMemory) -> dict[str, Any]:
    """Platform search (v1 clients)."""
    return _hosted_search(body, request, memory)


@hosted.post("/v2/memories/search/", response_model=m.SearchResponse)
def hosted_search_v2(body: HostedSearch, request: Request, memory: ReadMemory) -> dict[str, Any]:
    """Platform search (v2 clients)."""
    return _hosted_search(body, request, memory)


@hosted.post("/v3/memories/search/", response_model=m.SearchResponse)
def hosted_search_v3(body: HostedSearch, request: Request, memory: ReadMemory) -> dict[str, Any]:
    """Platform search (v3 clients)."""
    return _hosted_search(body, request, memory)


@hosted.get("/v1/memories/{memory_id}/", response_model=m.MemoryOut)
def hosted_get(memory_id: str, memory: ReadMemory) -> dict[str, Any]:
    """Platform get."""
    return found(memory, memory_id)


@hosted.put("/v1/memories/{memory_id}/", response_model=m.UpdateResponse)
def hosted_update(memory_id: str, body: HostedUpdate, memory: WriteMemory) -> dict[str, Any]:
    """Platform update."""
    return memory.update(memory_id, text=body.text, metadata=body.metadata)


@hosted.delete("/v1/memories/{memory_id}/", response_model=m.MessageResponse)
def hosted_delete(memory_id: str, memory: WriteMemory) -> dict[str, Any]:
    """Platform delete."""
    memory.delete(memory_id)
    return {"message": "Memory deleted successfully!"}


@hosted.delete("/v1/memories/", response_model=m.MessageResponse)
def hosted_delete_all(
    memory: WriteMemory,
    user_id: UserQ = None,
    agent_id: AgentQ = None,
    run_id: RunQ = None,
    filters: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Platform delete of a scope (ids as query parameters, or inside ``filters``)."""
    ids = scope_ids(user_id, agent_id, run_id, query_filters(filters))
    memory.delete_all(user_id=ids["user_id"], agent_id=ids["agent_id"], run_id=ids["run_id"])
    return {"message": "Memories deleted successfully!"}


@hosted.get("/v1/memories/{memory_id}/history/", response_model=list[m.HistoryOut])
def hosted_history(memory_id: str, memory: ReadMemory) -> list[dict[str, Any]]:
    """Platform history."""
    return memory.history(memory_id)
