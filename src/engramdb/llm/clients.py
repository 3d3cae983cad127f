"""HTTP plumbing shared by the HTTP providers: the call cycle (:class:`HttpProvider`), one
``httpx.AsyncClient`` per event loop, and merging the user's extra request options.

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
from pydantic import BaseModel

from engramdb.llm.base import ChatMessage, Completion, LLMSettings
from engramdb.llm.errors import LLMError, truncate
from engramdb.llm.retry import RetryPolicy, send_with_retries


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


class HttpProvider:
    """The cycle every HTTP provider shares: build the body, POST it with retries, parse.

    A provider sets ``provider``, ``model``, ``_path``, ``_settings``, ``_policy`` and
    ``_clients`` in its constructor and implements :meth:`request_body` and :meth:`parse`.
    """

    provider: str
    model: str
    _path: str
    _settings: LLMSettings
    _policy: RetryPolicy
    _clients: LoopClients

    def request_body(
        self,
        messages: list[ChatMessage],
        *,
        schema: type[BaseModel] | None = None,
        schema_name: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        """The JSON sent for one call (pure; exposed for tests and debugging)."""
        raise NotImplementedError

    def parse(self, data: Any) -> Completion:
        """The completion in a decoded reply; KeyError/TypeError/... for an unexpected shape."""
        raise NotImplementedError

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: type[BaseModel] | None = None,
        schema_name: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        """One call (see :class:`engramdb.llm.base.LLM`)."""
        body = self.request_body(
            messages,
            schema=schema,
            schema_name=schema_name,
            temperature=temperature,
            max_tokens=max_tokens,
        )
        client = self._clients.get()
        response = await send_with_retries(
            lambda: client.post(self._path, json=body), self._policy, provider=self.provider
        )
        try:
            return self.parse(response.json())
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LLMError(
                f"{self.provider}: unexpected reply from {self._path}: "
                f"{truncate(response.text, 300)}",
                provider=self.provider,
            ) from exc

    async def aclose(self) -> None:
        """Close pooled connections (the provider reconnects if used again)."""
        await self._clients.aclose()
