"""The MCP tools over streamable HTTP, behind API-key auth.

:func:`mcp_http_app` returns a plain ASGI app. Every request must present a key
(``Authorization: Bearer <key>``, ``Authorization: Token <key>`` or ``X-API-Key: <key>``); the
caller's resolver turns it into a tenant-scoped :class:`~engramdb.Memory` (or ``None``: 401).
The resolved access is stored in *that request's* ASGI scope, where the tools read it, so two
tenants' concurrent requests cannot see each other's memory.

The transport runs stateless (a fresh MCP transport per POST, JSON responses): nothing about a
caller outlives its request, and the app needs no lifespan, so it works when mounted inside
another app (Starlette does not run a mounted app's lifespan).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from engramdb.mcp_tools import ACCESS_SCOPE_KEY, McpAccess
from engramdb.memory import Memory

#: What a key resolver may answer: a Memory (full access), an McpAccess, or None (refused).
#: It raises :class:`Throttled` when the key is over its rate limit.
KeyResolver = Callable[[str], Memory | McpAccess | None]


class Throttled(Exception):
    """Raised by a key resolver: the key may try again after ``retry_after`` seconds (429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded for this key; retry in {retry_after} s")
        self.retry_after = retry_after


def key_from_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The API key a request presents, or None (pure).

    >>> key_from_headers([(b"authorization", b"Bearer abc")])
    'abc'
    """
    authorization = x_api_key = None
    for name, value in headers:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"x-api-key":
            x_api_key = value.decode("latin-1")
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() in ("bearer", "token") and token.strip():
            return token.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    return None


async def _refuse(
    send: Send, status: int, kind: str, message: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps({"error": {"type": kind, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _unauthorized(send: Send, message: str) -> None:
    await _refuse(
        send, 401, "AuthError", message, [(b"www-authenticate", b'Bearer realm="engramdb"')]
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    """Answer a standalone server's lifespan protocol; there is nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class McpHttpApp:
    """ASGI app: authenticate, then serve one MCP request on a fresh stateless transport."""

    def __init__(
        self,
        server: MCPServer,
        resolve: KeyResolver,
        *,
        json_response: bool = True,
        transport_security: TransportSecuritySettings | None = None,
    ) -> None:
        self.server = server
        self._resolve = resolve
        self._json_response = json_response
        self._security = transport_security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"the MCP app serves HTTP, not {scope['type']}")
        key = key_from_headers(scope["headers"])
        if key is None:
            await _unauthorized(
                send, "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
            )
            return
        try:
            found = await anyio.to_thread.run_sync(self._resolve, key)
        except Throttled as exc:
            retry = [(b"retry-after", str(exc.retry_after).encode())]
            await _refuse(send, 429, "RateLimited", str(exc), retry)
            return
        if found is None:
            await _unauthorized(send, "invalid API key")
            return
        access = found if isinstance(found, McpAccess) else McpAccess(found)
        # The access travels with this request only: the tools read it from the scope.
        scope = {**scope, ACCESS_SCOPE_KEY: access}
        # A manager per request: stateless, so nothing is shared between requests, and no
        # lifespan is needed (its run() is a task group around this one request).
        manager = StreamableHTTPSessionManager(
            app=self.server._lowlevel_server,
            json_response=self._json_response,
            stateless=True,
            security_settings=self._security,
        )
        async with manager.run():
            await manager.handle_request(scope, receive, send)
