"""Per-tenant request metrics over time, for the dashboard's plots.

Every API request is counted in a one-minute bucket per tenant and kind (``add``, ``search``,
``read``, ``change``, and ``error`` for answers >= 400), with its total latency; LLM calls and
tokens are counted under ``llm``. Buckets are kept in memory and added to the store's
``metrics`` table every few seconds (and at shutdown), so every server on one database
contributes to the same series. A crash loses at most the last few seconds of counts.

Example::

    meter = Meter(store, flush_every=5.0)
    meter.record("acme", "search", ms=8.2)
    meter.flush()
    store.metrics("acme", since="2026-01-01T00:00:00Z")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engramdb.errors import ValidationError
from engramdb.models import MetricRow
from engramdb.store.base import Store
from engramdb.timeutil import iso, to_datetime, utcnow

#: Bucket sizes a caller may ask for, in minutes.
BUCKETS = {"minute": 1, "hour": 60, "day": 1440}
#: Kinds of requests counted; ``llm`` counts calls (``count``) and tokens.
KINDS = ("add", "search", "read", "change", "error", "llm")


def minute_of(when: datetime) -> str:
    """The ISO start of the minute ``when`` falls in (UTC)."""
    return iso(when.astimezone(UTC).replace(second=0, microsecond=0))


def kind_of(method: str, endpoint: Callable[..., Any] | None) -> str:
    """What a request counts as, from its method and the handler that answered it."""
    name = getattr(endpoint, "__name__", "")
    if "search" in name:
        return "search"
    if "add" in name and method == "POST":
        return "add"
    return "read" if method in ("GET", "HEAD") else "change"


class Meter:
    """Counts in memory, flushed to ``store`` by a daemon thread every ``flush_every`` s."""

    def __init__(self, store: Store, *, flush_every: float = 5.0) -> None:
        self.store = store
        self._pending: dict[tuple[str, str, str], list[float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._every = flush_every
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the flushing thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="engramdb-meter", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write what is pending."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.flush()
            except Exception:
                continue

    def record(self, tenant: str, kind: str, *, ms: float = 0.0, tokens: int = 0) -> None:
        """Count one event of ``kind`` for ``tenant`` now."""
        with self._lock:
            self._add((tenant, minute_of(utcnow()), kind), 1, ms, tokens)

    def record_llm(self, tenant: str, calls: int, tokens: int) -> None:
        """Count ``calls`` LLM calls using ``tokens`` tokens for ``tenant`` now."""
        if calls <= 0:
            return
        with self._lock:
            self._add((tenant, minute_of(utcnow()), "llm"), calls, 0.0, tokens)

    def _add(self, key: tuple[str, str, str], count: float, ms: float, tokens: float) -> None:
        # Callers hold the lock.
        slot = self._pending.setdefault(key, [0, 0.0, 0])
        slot[0] += count
        slot[1] += ms
        slot[2] += tokens

    def flush(self) -> None:
        """Add the pending counts to the store; on failure they stay pending."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        rows = [
            MetricRow(tenant=t, minute=m, kind=k, count=int(v[0]), total_ms=v[1], tokens=int(v[2]))
            for (t, m, k), v in pending.items()
        ]
        try:
            self.store.record_metrics(rows)
        except BaseException:
            with self._lock:
                for key, (count, ms, tokens) in pending.items():
                    self._add(key, count, ms, tokens)
            raise

    def series(self, tenant: str, *, since: Any = None, bucket: str = "hour") -> dict[str, Any]:
        """Counts and mean latencies per bucket since ``since`` (default: 24 hours ago).

        Returns ``{"bucket", "since", "series": [{"at", "add", "search", ..., "search_ms",
        "add_ms", "llm_calls", "tokens"}]}``, oldest bucket first, empty buckets left out.
        """
        if bucket not in BUCKETS:
            raise ValidationError(f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")
        start = utcnow() - timedelta(days=1) if since is None else to_datetime(since)
        self.flush()
        size = BUCKETS[bucket]
        out: dict[str, dict[str, Any]] = {}
        for row in self.store.metrics(tenant, minute_of(start)):
            at = to_datetime(row.minute)
            minutes = (at.hour * 60 + at.minute) // size * size if size < 1440 else 0
            floor = at.replace(hour=minutes // 60, minute=minutes % 60)
            entry = out.setdefault(iso(floor), _empty(iso(floor)))
            if row.kind == "llm":
                entry["llm_calls"] += row.count
                entry["tokens"] += row.tokens
                continue
            entry[row.kind] = entry.get(row.kind, 0) + row.count
            entry["_ms_" + row.kind] = entry.get("_ms_" + row.kind, 0.0) + row.total_ms
        series = []
        for key in sorted(out):
            entry = out[key]
            for kind in ("search", "add"):
                total = entry.pop("_ms_" + kind, 0.0)
                entry[f"{kind}_ms"] = total / entry[kind] if entry[kind] else None
            for kind in ("read", "change", "error"):
                entry.pop("_ms_" + kind, None)
            series.append(entry)
        return {"bucket": bucket, "since": iso(start), "series": series}


def _empty(at: str) -> dict[str, Any]:
    return {"at": at, **{k: 0 for k in KINDS if k != "llm"}, "llm_calls": 0, "tokens": 0}


class MeterMiddleware:
    """Times every request that an API key authenticated and records it for its tenant.

    The tenant is read from the request state that authentication sets, so unauthenticated
    requests (401, /health, static files) are not counted.
    """

    def __init__(self, app: ASGIApp, meter: Meter) -> None:
        self.app = app
        self.meter = meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            tenant = scope.get("state", {}).get("tenant")
            if tenant is not None:
                ms = (time.perf_counter() - start) * 1000
                kind = kind_of(scope["method"], scope.get("endpoint"))
                self.meter.record(tenant, "error" if status >= 400 else kind, ms=ms)
