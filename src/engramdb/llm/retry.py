"""Sending one HTTP request with retries: exponential backoff on timeouts, connection
errors, 429 and 5xx (honouring Retry-After); never on other 4xx, which retrying cannot fix.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from engramdb.llm.base import LLMSettings
from engramdb.llm.errors import LLMError, LLMTimeout, truncate

RETRY_STATUSES = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait. Delay ``n`` is ``backoff_s * 2**n`` plus up to
    ``jitter`` of itself (so many clients do not retry in lockstep), capped at
    ``max_backoff_s``; a server's Retry-After replaces it, under the same cap."""

    max_retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    jitter: float = 0.1

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> RetryPolicy:
        """The policy a settings object describes."""
        return cls(settings.max_retries, settings.backoff_s, settings.max_backoff_s)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff_s)
        base = self.backoff_s * float(2**attempt)
        return min(base * (1 + self.jitter * random.random()), self.max_backoff_s)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header: delta seconds or an HTTP date. None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def should_retry(status: int) -> bool:
    """True for statuses that may succeed later: 429, 408/409/425 and every 5xx."""
    return status in RETRY_STATUSES or status >= 500


async def send_with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    policy: RetryPolicy,
    *,
    provider: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> httpx.Response:
    """Call ``send`` until it returns a 2xx response, or raise.

    Raises :class:`LLMTimeout` when the last attempt timed out or could not connect, and
    :class:`LLMError` (with ``status``) for a non-retryable status or retries used up.
    """
    attempt = 0
    while True:
        retry_after: float | None = None
        try:
            response = await send()
        except httpx.TimeoutException as exc:
            if attempt >= policy.max_retries:
                raise LLMTimeout(
                    f"{provider}: timed out on all {attempt + 1} attempts ({exc!r})",
                    provider=provider,
                ) from exc
        except httpx.TransportError as exc:
            # Connection refused/reset: the same class of "try again later" as a timeout.
            if attempt >= policy.max_retries:
                raise LLMTimeout(
                    f"{provider}: could not reach the endpoint in {attempt + 1} attempts ({exc!r})",
                    provider=provider,
                ) from exc
        else:
            status = response.status_code
            if 200 <= status < 300:
                return response
            body = truncate(response.text, 300)
            if not should_retry(status):
                raise LLMError(
                    f"{provider}: endpoint answered {status}: {body}",
                    provider=provider,
                    status=status,
                )
            if attempt >= policy.max_retries:
                raise LLMError(
                    f"{provider}: endpoint answered {status} on all {attempt + 1} attempts: {body}",
                    provider=provider,
                    status=status,
                )
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
        await sleep(policy.delay(attempt, retry_after))
        attempt += 1
