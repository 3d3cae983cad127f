"""Every error answer is JSON ``{"error": {"type", "message"}}``; this module maps exceptions to it.

engramdb's own errors keep their class name as ``type`` so :mod:`engramdb.client` can raise the
same class again. Bad input is never a 500: validation errors are 422, unknown ids 404.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from engramdb.errors import (
    AuthError,
    ConflictError,
    EmbedderError,
    EngramError,
    EntityNotFoundError,
    MemoryNotFoundError,
    StoreError,
    ValidationError,
)
from engramdb.transfer import ImportWriteError

log = logging.getLogger("engramdb.server")

_HTTP_TYPES = {
    400: "BadRequest",
    401: "AuthError",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationError",
    429: "RateLimited",
}


class ApiError(Exception):
    """An error answer decided by the server itself (auth, limits, conflicts)."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.headers = headers
        self.extra = extra or {}


def error_body(type_: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON shape of every error answer."""
    return {"error": {"type": type_, "message": message, **extra}}


def status_for(exc: EngramError) -> int:
    """HTTP status of an engramdb error (pure)."""
    if isinstance(exc, MemoryNotFoundError | EntityNotFoundError):
        return 404
    if isinstance(exc, ImportWriteError | ConflictError):
        return 409
    if isinstance(exc, ValidationError):
        return 422
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, EmbedderError):
        return 503
    return 500


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the JSON error shape."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(
            error_body(exc.type, exc.message, **exc.extra),
            status_code=exc.status,
            headers=exc.headers,
        )

    async def on_engram_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, EngramError)
        status = status_for(exc)
        extra: dict[str, Any] = {}
        report = getattr(exc, "report", None)
        if report is not None and hasattr(report, "to_dict"):
            extra["report"] = report.to_dict()
        if status >= 500:
            log.error("engramdb error on %s %s", request.method, request.url.path, exc_info=exc)
        message = (
            str(exc)
            if status < 500 or isinstance(exc, StoreError | EmbedderError)
            else ("internal error")
        )
        return JSONResponse(error_body(type(exc).__name__, message, **extra), status_code=status)

    async def on_request_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(
            error_body("ValidationError", _validation_message(exc)), status_code=422
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        type_ = _HTTP_TYPES.get(exc.status_code, "HTTPError")
        return JSONResponse(
            error_body(type_, str(exc.detail)),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(error_body("InternalError", "internal server error"), status_code=500)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(EngramError, on_engram_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(HTTPException, on_http)

    app.add_exception_handler(Exception, on_unexpected)
