"""``create_app``: the FastAPI application around one :class:`~engramdb.Memory`.

Example::

    from engramdb import Memory
    from engramdb.server import ServerSettings, create_app

    app = create_app(Memory(path="./data"), ServerSettings(admin_key="change-me"))
    # uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from engramdb import __version__
from engramdb.memory import Memory
from engramdb.models import DEFAULT_TENANT
from engramdb.server import errors, routes_mem0, routes_ui, routes_v1
from engramdb.server.auth import TENANT_HEADER, ServerContext
from engramdb.server.keys import KeyStore, hash_key
from engramdb.server.limits import BodyLimitMiddleware, RateLimiter
from engramdb.server.metrics import Meter, MeterMiddleware
from engramdb.server.settings import ServerSettings

DESCRIPTION = f"""
Long-term memory for AI agents over HTTP.

**Auth.** Every route but `/health` needs an API key: `Authorization: Bearer <key>`,
`Authorization: Token <key>` (Mem0 clients) or `X-API-Key: <key>`. Each key belongs to one
tenant, and a key only ever sees its tenant's memories: another tenant's memory id answers 404.
The admin key (`ENGRAMDB_ADMIN_KEY`) creates keys with `POST /v1/keys` and acts on the tenant
named by the `{TENANT_HEADER}` header (default: `default`).

**Errors** are JSON `{{"error": {{"type", "message"}}}}`: 401 no or wrong key, 403 read-only or
non-admin key, 404 unknown id, 413 body too large, 422 invalid input, 429 rate limited
(`Retry-After` says when to retry).

**Mem0 compatibility.** The Mem0 OSS server routes (`/memories`, `/search`, `/reset`) and the
hosted routes `mem0ai`'s `MemoryClient` calls (`/v1/ping/`, `/v3/memories/add/`, ...) are
answered too; point `MemoryClient(api_key=..., host=...)` at this server.
"""


def create_app(memory: Memory, settings: ServerSettings | None = None) -> FastAPI:
    """The REST app over ``memory`` (which the caller keeps and closes).

    ``settings`` default to :meth:`ServerSettings.from_env`. The admin key is
    ``settings.admin_key``, else ``ENGRAMDB_ADMIN_KEY`` read now. API keys live in the memory
    store itself, so every server on one database accepts the same keys.
    """
    settings = settings if settings is not None else ServerSettings.from_env()
    admin_key = settings.admin_key or os.environ.get("ENGRAMDB_ADMIN_KEY") or None
    keys = KeyStore(memory.store)
    meter = Meter(memory.store)
    memory.on_usage = lambda tenant, usage: meter.record_llm(
        tenant, usage.calls, usage.total_tokens
    )
    ctx = ServerContext(
        memory=memory,
        settings=settings,
        keys=keys,
        admin_hash=hash_key(admin_key) if admin_key else None,
        limiter=RateLimiter(settings.rate_limit, settings.rate_burst),
        meter=meter,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync handlers run in anyio's thread pool (40 threads unless configured).
        if settings.worker_threads:
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = settings.worker_threads
        meter.start()
        try:
            yield
        finally:
            meter.stop()

    app = FastAPI(
        title="engramdb",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.engramdb = ctx
    errors.install(app)
    app.add_middleware(MeterMiddleware, meter=meter)
    app.add_middleware(
        BodyLimitMiddleware,
        default=settings.max_body_bytes,
        limits={"/v1/import": settings.max_import_bytes},
    )
    app.include_router(routes_v1.router)
    app.include_router(routes_v1.v1)
    app.include_router(routes_mem0.oss)
    app.include_router(routes_mem0.hosted)
    routes_ui.install(app)
    _mount_mcp(app, ctx)
    return app


def _mount_mcp(app: FastAPI, ctx: ServerContext) -> None:
    """The MCP tools at ``/mcp`` (streamable HTTP), behind the same API keys and tenants."""
    try:
        from engramdb.mcp import McpAccess, mcp_http_app
        from engramdb.mcp_http import Throttled
    except ImportError:  # the mcp SDK is part of the [server] extra; without it, no /mcp
        return

    def resolve(key: str) -> McpAccess | None:
        if ctx.admin_hash is not None and hmac.compare_digest(hash_key(key), ctx.admin_hash):
            return McpAccess(ctx.memory_for(DEFAULT_TENANT))
        info = ctx.keys.lookup(key)
        if info is None:
            return None
        # The same bucket as the key's REST requests: /mcp is no way around the limit.
        wait = ctx.limiter.acquire(info.id)
        if wait is not None:
            raise Throttled(max(1, int(wait + 0.999)))
        return McpAccess(ctx.memory_for(info.tenant), read_only=info.read_only)

    app.mount("/mcp", mcp_http_app(resolve))
