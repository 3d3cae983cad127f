"""Request limits: body size (an ASGI middleware) and a per-key token-bucket rate limit.

The rate limiter is pure apart from its clock, which tests replace::

    limiter = RateLimiter(rate=1.0, burst=2, clock=lambda: 0.0)
    assert limiter.acquire("k") is None and limiter.acquire("k") is None
    assert limiter.acquire("k") == 1.0   # seconds to wait
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RateLimiter:
    """One token bucket per key: ``burst`` tokens, refilled at ``rate`` per second.

    ``rate == 0`` turns limiting off. At most ``max_keys`` buckets are kept (least recently
    used dropped first), so memory stays bounded whatever keys are presented.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Take one token for ``key``: None when allowed, else seconds until one is free."""
        if self.rate <= 0:
            return None
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = None
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        return wait


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    """Answer 413 to bodies over the limit, by Content-Length or by counting what arrives.

    ``limits`` maps exact paths to their own limit (``/v1/import`` takes larger bodies).
    """

    def __init__(self, app: ASGIApp, *, default: int, limits: dict[str, int]) -> None:
        self.app = app
        self.default = default
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _send_413(send, limit)
                    return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except HTTPException as exc:
            if exc.status_code != 413 or started:
                raise
            await _send_413(send, limit)


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "type": "PayloadTooLarge",
                "message": f"request body is larger than {limit} bytes",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
