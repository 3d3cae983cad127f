"""HTTP plumbing shared by the HTTP providers: one ``httpx.AsyncClient`` per event loop,
and merging the user's extra request options.

An AsyncClient's pooled connections belong to the loop that opened them; reusing them from
another loop fails. The same provider is legitimately used from several loops (the user's
loop in ``AsyncMemory``, the background loop of :mod:`engramdb.llm.sync` for ``Memory``,
a fresh ``asyncio.run`` per test), so clients are kept per loop.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

import httpx


class LoopClients:
    """Builds and caches a client for the running loop; :meth:`aclose` closes them all."""

    def __init__(self, factory: Callable[[], httpx.AsyncClient]) -> None:
        self._factory = factory
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._clients = weakref.WeakKeyDictionary()

    def get(self) -> httpx.AsyncClient:
        """The client for the running loop (must be called from a coroutine)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = self._factory()
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close every client: on its own loop when that loop still runs elsewhere."""
        current = asyncio.get_running_loop()
        items = list(self._clients.items())
        self._clients.clear()
        for loop, client in items:
            if loop is current:
                await client.aclose()
            elif loop.is_running() and not loop.is_closed():
                future = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
                await asyncio.wrap_future(future)
            # A closed loop took its sockets with it; nothing left to close.


def merge_options(body: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the user's extra request options on top; a None option drops the key
    (reasoning models reject ``temperature``, for instance)."""
    merged = {**body, **options}
    return {k: v for k, v in merged.items() if v is not None}
