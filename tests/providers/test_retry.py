"""The one retry layer: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from tuneops.errors import (
    InvalidRequestError,
    RateLimitedError,
    VendorConnectionError,
    VendorServerError,
    VendorTimeoutError,
)
from tuneops.providers.retry import RetryPolicy, parse_retry_after


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Retry-After": "7"}, 7.0),
    ({"retry-after": "1.5"}, 1.5),
    ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
    ({"Retry-After": "Sat, 28 Nov 2026 12:00:30 GMT"}, 30.0),
    ({"Retry-After": "soon"}, None),
    ({}, None),
])
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(headers, now=now) == expected


class Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(**kw: object) -> tuple[RetryPolicy, list[float]]:
    slept: list[float] = []
    return RetryPolicy(sleep=slept.append, rng=random.Random(1), **kw), slept  # type: ignore[arg-type]


def test_honours_retry_after_then_succeeds() -> None:
    p, slept = policy()
    fn = Flaky(RateLimitedError("slow down", status_code=429, retry_after=3.0),
               VendorServerError("boom", status_code=503))
    assert p.call(fn) == "ok"
    assert fn.calls == 3
    assert slept[0] == 3.0 and 0 <= slept[1] <= 1.0  # vendor's wait, then jittered backoff


def test_backoff_grows_and_is_capped() -> None:
    p, slept = policy(attempts=6, base_delay=1.0, max_delay=4.0)
    fn = Flaky(*[VendorConnectionError("reset") for _ in range(5)])
    assert p.call(fn) == "ok"
    ceilings = [1, 2, 4, 4, 4]
    assert all(0 <= s <= c for s, c in zip(slept, ceilings, strict=True))


def test_gives_up_after_attempts_with_the_last_error() -> None:
    p, _ = policy(attempts=3)
    fn = Flaky(*[VendorTimeoutError(f"t{i}") for i in range(5)])
    with pytest.raises(VendorTimeoutError, match="t2"):
        p.call(fn)
    assert fn.calls == 3


def test_refusals_are_not_retried() -> None:
    p, slept = policy()
    fn = Flaky(InvalidRequestError("bad", status_code=400))
    with pytest.raises(InvalidRequestError):
        p.call(fn)
    assert fn.calls == 1 and slept == []


def test_retry_after_beyond_the_cap_is_returned_at_once() -> None:
    p, slept = policy(retry_after_cap=60)
    fn = Flaky(RateLimitedError("later", status_code=429, retry_after=3600))
    with pytest.raises(RateLimitedError) as exc:
        p.call(fn)
    assert exc.value.retry_after == 3600 and fn.calls == 1 and slept == []
