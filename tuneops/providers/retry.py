"""The one retry layer (tenacity). The vendor SDKs' own retries are turned off.

Only idempotent calls go through `RetryPolicy.call`; job creation never does (see
`Provider.create_job_safely`). Retried: 408, 429, 5xx, dropped connections and timeouts, with
exponential backoff and full jitter, honouring the vendor's `Retry-After` / `retry-after-ms` (in
seconds or as an HTTP date) up to `retry_after_cap`: a vendor asking for a longer wait gets the
error back at once, with `retry_after` set, instead of a silent hang.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import tenacity

from tuneops.errors import (
    ProviderError,
    RateLimitedError,
    VendorConnectionError,
    VendorServerError,
)

__all__ = ["RETRYABLE_STATUS", "RetryPolicy", "is_retryable", "parse_retry_after"]

T = TypeVar("T")
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the vendor asks us to wait, from `retry-after-ms` or `Retry-After` (seconds or an
    HTTP date); None when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, RateLimitedError | VendorServerError | VendorConnectionError):
        return True
    return isinstance(exc, ProviderError) and exc.status_code in RETRYABLE_STATUS


@dataclass
class RetryPolicy:
    """How idempotent vendor calls are retried. `sleep` and `rng` are injectable for tests."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_after_cap: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    on_retry: Callable[[BaseException, float], None] | None = None

    def _should_retry(self, state: tenacity.RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if exc is None or not is_retryable(exc):
            return False
        ra = getattr(exc, "retry_after", None)
        return ra is None or ra <= self.retry_after_cap

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        ra = getattr(exc, "retry_after", None)
        if ra is not None:
            delay = float(ra)
        else:
            ceiling = min(self.max_delay, self.base_delay * 2 ** (state.attempt_number - 1))
            delay = self.rng.uniform(0, ceiling)
        if self.on_retry is not None and exc is not None:
            self.on_retry(exc, delay)
        return delay

    def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Call `fn`, retrying retryable vendor errors; the last error is re-raised as it was."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=self._should_retry,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(fn, *args, **kwargs)
