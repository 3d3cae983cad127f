"""Who is calling: API key → tenant, read-only flag, admin; plus the per-key rate limit.

Keys are accepted as ``Authorization: Bearer <key>``, ``Authorization: Token <key>`` (Mem0
clients) or ``X-API-Key: <key>``. The admin key (``ENGRAMDB_ADMIN_KEY``) manages keys and acts
on the tenant named by the ``X-Engramdb-Tenant`` header, or on ``default``.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer

from engramdb.errors import ValidationError
from engramdb.memory import Memory
from engramdb.models import DEFAULT_TENANT
from engramdb.server.errors import ApiError
from engramdb.server.keys import KeyStore, check_tenant, hash_key
from engramdb.server.limits import RateLimiter
from engramdb.server.metrics import Meter
from engramdb.server.settings import ServerSettings

TENANT_HEADER = "X-Engramdb-Tenant"

# Declared for the OpenAPI document (security schemes); the key itself is read by key_from().
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <key> (or Token <key>)")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <key>")


@dataclass
class ServerContext:
    """Everything a request handler needs, built once by ``create_app``."""

    memory: Memory
    settings: ServerSettings
    keys: KeyStore
    admin_hash: str | None
    limiter: RateLimiter
    meter: Meter
    _tenants: dict[str, Memory] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def memory_for(self, tenant: str) -> Memory:
        """The facade confined to ``tenant`` (built once per tenant)."""
        with self._lock:
            found = self._tenants.get(tenant)
            if found is None:
                found = self._tenants[tenant] = self.memory.for_tenant(tenant)
            return found


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    key_id: str
    tenant: str
    read_only: bool
    admin: bool


def key_from(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key a request presents, or None (pure).

    >>> key_from("Token abc", None)
    'abc'
    """
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() in ("bearer", "token") and value.strip():
            return value.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    return None


def context(request: Request) -> ServerContext:
    """The app's :class:`ServerContext`."""
    ctx = request.app.state.engramdb
    assert isinstance(ctx, ServerContext)
    return ctx


async def authenticate(
    request: Request,
    _bearer_doc: Annotated[object, Security(_bearer)] = None,
    _key_doc: Annotated[object, Security(_api_key)] = None,
) -> Principal:
    """Resolve the caller from its key (401 without a valid one), then apply the rate limit."""
    ctx = context(request)
    key = key_from(request.headers.get("authorization"), request.headers.get("x-api-key"))
    if key is None:
        raise ApiError(
            401,
            "AuthError",
            "missing API key: send Authorization: Bearer <key> or X-API-Key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    asked = request.headers.get(TENANT_HEADER.lower())
    principal: Principal | None = None
    if ctx.admin_hash is not None and hmac.compare_digest(hash_key(key), ctx.admin_hash):
        tenant = DEFAULT_TENANT
        if asked:
            try:
                tenant = check_tenant(asked)
            except ValidationError as exc:
                raise ApiError(422, "ValidationError", str(exc)) from None
        principal = Principal(key_id="admin", tenant=tenant, read_only=False, admin=True)
    else:
        info = ctx.keys.lookup(key)
        if info is not None:
            if asked and asked != info.tenant:
                raise ApiError(
                    403, "AuthError", f"{TENANT_HEADER} may only be sent with the admin key"
                )
            principal = Principal(info.id, info.tenant, info.read_only, admin=False)
    if principal is None:
        raise ApiError(401, "AuthError", "invalid API key", headers={"WWW-Authenticate": "Bearer"})
    # Read by the metrics middleware: the request is counted for this tenant.
    request.state.tenant = principal.tenant
    wait = ctx.limiter.acquire(principal.key_id)
    if wait is not None:
        seconds = max(1, int(wait + 0.999))
        raise ApiError(
            429,
            "RateLimited",
            f"rate limit exceeded for this key; retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    return principal


Caller = Annotated[Principal, Depends(authenticate)]


async def writer(principal: Caller) -> Principal:
    """A caller that may change memories (403 for read-only keys)."""
    if principal.read_only:
        raise ApiError(403, "AuthError", "this API key is read-only")
    return principal


async def admin(principal: Caller) -> Principal:
    """The admin key (403 for any other key)."""
    if not principal.admin:
        raise ApiError(403, "AuthError", "this route needs the admin key")
    return principal


Writer = Annotated[Principal, Depends(writer)]
Admin = Annotated[Principal, Depends(admin)]


async def reader_memory(request: Request, principal: Caller) -> Memory:
    """The caller's tenant-confined :class:`Memory`."""
    return context(request).memory_for(principal.tenant)


async def writer_memory(request: Request, principal: Writer) -> Memory:
    """The caller's tenant-confined :class:`Memory`, for a write."""
    return context(request).memory_for(principal.tenant)


ReadMemory = Annotated[Memory, Depends(reader_memory)]
WriteMemory = Annotated[Memory, Depends(writer_memory)]
