"""``Client`` and ``AsyncClient``: the :class:`~engramdb.Memory` API over HTTP.

Code moves between embedded and remote by changing one line::

    from engramdb import Memory
    from engramdb.client import Client

    m = Memory(path="./data")                              # embedded
    m = Client("http://127.0.0.1:8000", api_key="edb_...")  # remote, same methods and shapes
    m.add("I'm vegetarian", user_id="alice")
    m.search("what does alice eat?", user_id="alice")["results"]

Errors come back as the same classes: an unknown id raises :class:`MemoryNotFoundError`, bad
input :class:`ValidationError` (or :class:`ScopeError`/:class:`FilterError`), a refused key
:class:`AuthError`.

Like httpx itself, there is one implementation: each method builds a :class:`Call` and reads
the answer with the pure functions of :mod:`engramdb.client_calls`; the sync and async
classes only send it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from engramdb.client_calls import (
    Call,
    RateLimitError,
    add_call,
    consolidate_call,
    context_call,
    delete_all_call,
    delete_call,
    entities_call,
    feedback_call,
    finish,
    forget_call,
    get_all_call,
    get_call,
    graph_call,
    history_call,
    lessons_call,
    merge_entities_call,
    relations_call,
    reset_call,
    restore_call,
    search_call,
    tombstones_call,
    unmerge_call,
    update_call,
)

__all__ = ["AsyncClient", "Call", "Client", "RateLimitError"]

P = ParamSpec("P")
R = TypeVar("R")

_CT = {"Content-Type": "application/json"}


def _headers(api_key: str | None, tenant: str | None) -> dict[str, str]:
    key = api_key if api_key is not None else os.environ.get("ENGRAMDB_API_KEY")
    headers = {"User-Agent": "engramdb-client"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if tenant:
        headers["X-Engramdb-Tenant"] = tenant
    return headers


# -- the shells -----------------------------------------------------------------------------


def _sync(builder: Callable[P, Call[R]]) -> Callable[Concatenate[Client, P], R]:
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._send(builder(*args, **kwargs))

    method.__name__ = method.__qualname__ = builder.__name__.removesuffix("_call")
    method.__doc__ = f"See :meth:`engramdb.Memory.{method.__name__}`."
    return method


def _async(
    builder: Callable[P, Call[R]],
) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, R]]:
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self._send(builder(*args, **kwargs))

    method.__name__ = method.__qualname__ = builder.__name__.removesuffix("_call")
    method.__doc__ = f"See :meth:`engramdb.Memory.{method.__name__}`."
    return method


class Client:
    """The :class:`~engramdb.Memory` methods against an engramdb server.

    ``api_key`` defaults to ``$ENGRAMDB_API_KEY``; ``tenant`` is only for the admin key.
    ``transport`` is passed to httpx (e.g. ``httpx.MockTransport`` in tests).
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        tenant: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            headers=_headers(api_key, tenant),
            timeout=timeout,
            transport=transport,
        )

    def _send(self, call: Call[R]) -> R:
        response = self._http.request(
            call.method, call.path, params=call.params, content=call.content, headers=_CT
        )
        return finish(call, response.status_code, response.headers, response.content)

    add = _sync(add_call)
    search = _sync(search_call)
    context = _sync(context_call)
    get = _sync(get_call)
    get_all = _sync(get_all_call)
    update = _sync(update_call)
    delete = _sync(delete_call)
    delete_all = _sync(delete_all_call)
    history = _sync(history_call)
    feedback = _sync(feedback_call)
    lessons = _sync(lessons_call)
    reset = _sync(reset_call)
    forget = _sync(forget_call)
    tombstones = _sync(tombstones_call)
    consolidate = _sync(consolidate_call)
    restore = _sync(restore_call)
    entities = _sync(entities_call)
    relations = _sync(relations_call)
    graph = _sync(graph_call)
    merge_entities = _sync(merge_entities_call)
    unmerge = _sync(unmerge_call)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient:
    """:class:`Client` for asyncio code: the same methods, awaited."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        tenant: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=url.rstrip("/"),
            headers=_headers(api_key, tenant),
            timeout=timeout,
            transport=transport,
        )

    async def _send(self, call: Call[R]) -> R:
        response = await self._http.request(
            call.method, call.path, params=call.params, content=call.content, headers=_CT
        )
        return finish(call, response.status_code, response.headers, response.content)

    add = _async(add_call)
    search = _async(search_call)
    context = _async(context_call)
    get = _async(get_call)
    get_all = _async(get_all_call)
    update = _async(update_call)
    delete = _async(delete_call)
    delete_all = _async(delete_all_call)
    history = _async(history_call)
    feedback = _async(feedback_call)
    lessons = _async(lessons_call)
    reset = _async(reset_call)
    forget = _async(forget_call)
    tombstones = _async(tombstones_call)
    consolidate = _async(consolidate_call)
    restore = _async(restore_call)
    entities = _async(entities_call)
    relations = _async(relations_call)
    graph = _async(graph_call)
    merge_entities = _async(merge_entities_call)
    unmerge = _async(unmerge_call)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
