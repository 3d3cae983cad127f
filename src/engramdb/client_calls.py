"""How each :class:`~engramdb.Memory` method travels over HTTP: request builders and readers.

Everything here is pure: a ``*_call`` function validates its arguments and returns a
:class:`Call` (method, path, body, and how to read the answer); :func:`finish` turns the raw
answer into the result or the engramdb exception it stands for. :mod:`engramdb.client` only
sends calls, once for sync code and once for asyncio.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx

from engramdb.errors import (
    AuthError,
    EngramError,
    EntityNotFoundError,
    FilterError,
    MemoryNotFoundError,
    ScopeError,
    ValidationError,
)
from engramdb.timeutil import TimeInput, to_iso

R = TypeVar("R")


class RateLimitError(EngramError):
    """The server answered 429; ``retry_after`` is how many seconds it asked to wait."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_BY_TYPE: dict[str, Callable[[str], EngramError]] = {
    "ScopeError": ScopeError,
    "FilterError": FilterError,
    "ValidationError": ValidationError,
    "ImportValidationError": ValidationError,
    "PayloadTooLarge": ValidationError,
    "EntityNotFoundError": EntityNotFoundError,
}


@dataclass(frozen=True)
class Call(Generic[R]):
    """One request and how to read its answer (``read(json)``); ``none_on_404`` for get()."""

    method: str
    path: str
    read: Callable[[Any], R]
    params: dict[str, Any] | None = None
    content: bytes | None = None
    memory_id: str | None = None
    none_on_404: bool = False


# -- pure: errors and answers ---------------------------------------------------------------


def error_for(
    status: int, payload: Any, headers: httpx.Headers, memory_id: str | None
) -> Exception:
    """The engramdb exception matching an error answer (pure)."""
    err = payload.get("error") if isinstance(payload, dict) else None
    kind = err.get("type") if isinstance(err, dict) else None
    message = err.get("message") if isinstance(err, dict) else None
    message = str(message) if message else f"server answered HTTP {status}"
    if status == 404 and kind == "MemoryNotFoundError" and memory_id is not None:
        return MemoryNotFoundError(memory_id)
    if status in (401, 403):
        return AuthError(message)
    if status == 429:
        retry = headers.get("retry-after")
        return RateLimitError(message, float(retry) if retry and retry.isdigit() else None)
    if isinstance(kind, str) and kind in _BY_TYPE and 400 <= status < 500:
        return _BY_TYPE[kind](message)
    if status in (413, 422):
        return ValidationError(message)
    return EngramError(f"HTTP {status}: {message}")


def finish(call: Call[R], status: int, headers: httpx.Headers, content: bytes) -> R:
    """The result of ``call`` from the raw answer, or the exception it stands for (pure)."""
    try:
        payload = httpx.Response(status, content=content).json() if content else None
    except ValueError:
        payload = None
    if 200 <= status < 300:
        return call.read(payload)
    if status == 404 and call.none_on_404:
        err = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(err, dict) and err.get("type") == "MemoryNotFoundError":
            return call.read(None)
    raise error_for(status, payload, headers, call.memory_id)


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EngramError(f"the server answered {type(value).__name__}, not an object")
    return value


def _maybe_dict(value: Any) -> dict[str, Any] | None:
    return None if value is None else _dict(value)


def _list(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise EngramError(f"the server answered {type(value).__name__}, not a list")
    return value


def _nothing(value: Any) -> None:
    return None


def _json(body: dict[str, Any]) -> bytes:
    """A JSON request body; values JSON cannot carry are a :class:`ValidationError`."""
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"request is not JSON-serialisable: {exc}") from None


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _time(value: TimeInput | None) -> Any:
    if isinstance(value, datetime):
        return to_iso(value)
    return value


def _id(memory_id: Any) -> str:
    if not isinstance(memory_id, str) or not memory_id:
        raise ValidationError(f"memory_id must be a non-empty string, not {memory_id!r}")
    return memory_id


def _path(memory_id: str, suffix: str = "") -> str:
    from urllib.parse import quote

    return f"/v1/memories/{quote(memory_id, safe='')}{suffix}"


# -- pure: requests -------------------------------------------------------------------------


def add_call(
    messages: Any,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    infer: bool = True,
    timestamp: TimeInput | None = None,
    memory_type: str | None = None,
    outcome: str | None = None,
    expires_at: TimeInput | None = None,
    importance: float | None = None,
) -> Call[dict[str, Any]]:
    """``Memory.add`` as a request."""
    body = _drop_none(
        {
            "messages": messages,
            "user_id": user_id,
            "agent_id": agent_id,
            "run_id": run_id,
            "metadata": metadata,
            "timestamp": _time(timestamp),
            "memory_type": memory_type,
            "outcome": outcome,
            "expires_at": _time(expires_at),
            "importance": importance,
        }
    )
    body["infer"] = infer
    return Call("POST", "/v1/memories", _dict, content=_json(body))


def search_call(
    query: str,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    filters: dict[str, Any] | None = None,
    limit: int = 10,
    threshold: float | None = None,
    as_of: TimeInput | None = None,
) -> Call[dict[str, Any]]:
    """``Memory.search`` as a request."""
    body = _drop_none(
        {
            "query": query,
            "user_id": user_id,
            "agent_id": agent_id,
            "run_id": run_id,
            "filters": filters,
            "limit": limit,
            "threshold": threshold,
            "as_of": _time(as_of),
        }
    )
    return Call("POST", "/v1/search", _dict, content=_json(body))


def context_call(
    query: str,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    filters: dict[str, Any] | None = None,
    max_tokens: int = 400,
    limit: int = 100,
) -> Call[dict[str, Any]]:
    """``Memory.context`` as a request (the server counts tokens with its estimate)."""
    body = _drop_none(
        {
            "query": query,
            "user_id": user_id,
            "agent_id": agent_id,
            "run_id": run_id,
            "filters": filters,
            "max_tokens": max_tokens,
            "limit": limit,
        }
    )
    return Call("POST", "/v1/context", _dict, content=_json(body))


def get_call(memory_id: str) -> Call[dict[str, Any] | None]:
    """``Memory.get`` as a request (None when there is no such memory)."""
    mid = _id(memory_id)
    return Call("GET", _path(mid), _maybe_dict, memory_id=mid, none_on_404=True)


def get_all_call(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    filters: dict[str, Any] | None = None,
    limit: int = 100,
    offset: int = 0,
    include_invalid: bool = False,
    include_archived: bool = False,
    include_expired: bool = False,
) -> Call[dict[str, Any]]:
    """``Memory.get_all`` as a request."""
    params = _drop_none(
        {
            "user_id": user_id,
            "agent_id": agent_id,
            "run_id": run_id,
            "filters": _json(filters).decode() if filters is not None else None,
            "limit": limit,
            "offset": offset,
        }
    )
    flags = {"include_invalid": include_invalid, "include_archived": include_archived}
    flags["include_expired"] = include_expired
    params.update({k: "true" for k, v in flags.items() if v is True})
    return Call("GET", "/v1/memories", _dict, params=params)


def update_call(
    memory_id: str,
    text: str | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    expires_at: TimeInput | None = None,
    importance: float | None = None,
) -> Call[dict[str, Any]]:
    """``Memory.update`` as a request."""
    mid = _id(memory_id)
    body = _drop_none(
        {
            "text": text,
            "metadata": metadata,
            "expires_at": _time(expires_at),
            "importance": importance,
        }
    )
    return Call("PUT", _path(mid), _dict, content=_json(body), memory_id=mid)


def delete_call(memory_id: str) -> Call[dict[str, Any]]:
    """``Memory.delete`` as a request."""
    mid = _id(memory_id)
    return Call("DELETE", _path(mid), _dict, memory_id=mid)


def delete_all_call(
    *, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None
) -> Call[dict[str, Any]]:
    """``Memory.delete_all`` as a request (the server refuses an empty scope)."""
    params = _drop_none({"user_id": user_id, "agent_id": agent_id, "run_id": run_id})
    return Call("DELETE", "/v1/memories", _dict, params=params)


def history_call(memory_id: str) -> Call[list[dict[str, Any]]]:
    """``Memory.history`` as a request."""
    mid = _id(memory_id)
    return Call("GET", _path(mid, "/history"), _list, memory_id=mid)


def feedback_call(
    memory_id: str, signal: str, *, note: str | None = None, query: str | None = None
) -> Call[dict[str, Any]]:
    """``Memory.feedback`` as a request."""
    mid = _id(memory_id)
    body = _drop_none({"signal": signal, "note": note, "query": query})
    return Call("POST", _path(mid, "/feedback"), _dict, content=_json(body), memory_id=mid)


def lessons_call(
    task: str,
    *,
    agent_id: str | None = None,
    user_id: str | None = None,
    limit: int = 5,
    threshold: float | None = None,
) -> Call[dict[str, Any]]:
    """``Memory.lessons`` as a request (``threshold`` None: the server's default)."""
    body = _drop_none(
        {
            "task": task,
            "agent_id": agent_id,
            "user_id": user_id,
            "limit": limit,
            "threshold": threshold,
        }
    )
    return Call("POST", "/v1/lessons", _dict, content=_json(body))


def forget_call(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    memory_id: str | None = None,
    reason: str | None = None,
) -> Call[dict[str, Any]]:
    """``Memory.forget`` as a request (the server refuses an empty scope)."""
    body = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id, "reason": reason}
    body["memory_id"] = memory_id
    return Call("POST", "/v1/forget", _dict, content=_json(_drop_none(body)), memory_id=memory_id)


def tombstones_call(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    limit: int = 100,
) -> Call[list[dict[str, Any]]]:
    """``Memory.tombstones`` as a request."""
    params = _drop_none({"user_id": user_id, "agent_id": agent_id, "run_id": run_id})
    params["limit"] = limit
    return Call("GET", "/v1/tombstones", lambda v: _list(_dict(v).get("results")), params=params)


def consolidate_call(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
) -> Call[dict[str, Any]]:
    """``Memory.consolidate`` as a request."""
    body = _drop_none({"user_id": user_id, "agent_id": agent_id, "run_id": run_id})
    body["dry_run"] = dry_run
    return Call("POST", "/v1/consolidate", _dict, content=_json(body))


def restore_call(memory_id: str) -> Call[dict[str, Any]]:
    """``Memory.restore`` as a request."""
    mid = _id(memory_id)
    return Call("POST", _path(mid, "/restore"), _dict, memory_id=mid)


def _results(value: Any) -> list[dict[str, Any]]:
    return _list(_dict(value).get("results"))


def _scope_params(
    user_id: str | None, agent_id: str | None, run_id: str | None, limit: int
) -> dict[str, Any]:
    params = _drop_none({"user_id": user_id, "agent_id": agent_id, "run_id": run_id})
    params["limit"] = limit
    return params


def entities_call(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    limit: int = 100,
) -> Call[list[dict[str, Any]]]:
    """``Memory.entities`` as a request."""
    return Call(
        "GET", "/v1/entities", _results, params=_scope_params(user_id, agent_id, run_id, limit)
    )


def relations_call(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    entity: str | None = None,
    include_invalid: bool = False,
    limit: int = 100,
) -> Call[list[dict[str, Any]]]:
    """``Memory.relations`` as a request."""
    params = _scope_params(user_id, agent_id, run_id, limit)
    if entity is not None:
        params["entity"] = entity
    if include_invalid is True:
        params["include_invalid"] = "true"
    return Call("GET", "/v1/relations", _results, params=params)


def graph_call(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    limit: int = 200,
    include_invalid: bool = False,
) -> Call[dict[str, Any]]:
    """``Memory.graph`` as a request."""
    params = _scope_params(user_id, agent_id, run_id, limit)
    if include_invalid is True:
        params["include_invalid"] = "true"
    return Call("GET", "/v1/graph", _dict, params=params)


def merge_entities_call(source_id: str, target_id: str) -> Call[dict[str, Any]]:
    """``Memory.merge_entities`` as a request."""
    body = {"source_id": source_id, "target_id": target_id}
    return Call("POST", "/v1/entities/merge", _dict, content=_json(body))


def unmerge_call(merge_id: str) -> Call[dict[str, Any]]:
    """``Memory.unmerge`` as a request."""
    from urllib.parse import quote

    if not isinstance(merge_id, str) or not merge_id.strip():
        raise ValidationError(f"merge_id must be a non-empty string, not {merge_id!r}")
    path = f"/v1/entities/merges/{quote(merge_id, safe='')}/undo"
    return Call("POST", path, _dict)


def reset_call() -> Call[None]:
    """``Memory.reset`` as a request: erases the key's tenant only."""
    return Call("POST", "/reset", _nothing)
