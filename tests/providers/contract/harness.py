"""What the adapter contract suite needs to know about one vendor, and nothing more.

Each vendor has a module `harness_<name>.py` here defining `HARNESS`. The suite in
`test_contract.py` runs the same tests over every harness: the adapter goes through its vendor's
real SDK (where one is used) to the sandbox emulator over an in-process httpx2 transport.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from tuneops.providers.base import Provider
from tuneops.providers.retry import RetryPolicy

VENDORS = ("openai", "mistral", "together", "vertex")

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Harness:
    name: str
    # a base model the emulator accepts for SFT (and DPO when `dpo_rows` is set)
    model: str
    # make(transport, retry=..., page_size=...) -> a Provider whose every request (uploads
    # included) goes through `transport` (a SandboxTransport, maybe wrapped)
    make: Callable[..., Provider]
    # `n` valid training rows in the vendor's own format
    sft_rows: Callable[[int], Rows]
    # twelve rows where row 5 (line 5) breaks a rule the vendor checks when it validates the file
    bad_rows: Callable[[], Rows]
    # True when the request (as the SDK sends it) is the job-creation request
    is_create: Callable[[httpx2.Request], bool]
    # an id in the vendor's format that names no job
    missing_job_id: str
    dpo_rows: Callable[[int], Rows] | None = None
    dpo_model: str | None = None
    # the vendor's billed tokens equal our offline estimate (exact tokenizer, same formula)
    exact_tokens: bool = False
    # the vendor reports a cost in money on a finished job
    reports_cost: bool = False


def load(name: str) -> Harness:
    harness: Harness = importlib.import_module(f"tests.providers.contract.harness_{name}").HARNESS
    return harness


def retry(slept: list[float] | None = None, attempts: int = 8) -> RetryPolicy:
    import random

    return RetryPolicy(sleep=(slept if slept is not None else []).append, rng=random.Random(0),
                       attempts=attempts)


class LoseFirstCreate(httpx2.BaseTransport):
    """Forwards to the sandbox; the first job creation takes effect but its answer is lost."""

    def __init__(self, inner: Any, is_create: Callable[[httpx2.Request], bool]) -> None:
        self.inner = inner
        self.sandbox = inner.sandbox
        self.is_create = is_create
        self.lost = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self.inner.handle_request(request)
        if not self.lost and self.is_create(request):
            self.lost += 1
            response.read()
            raise httpx2.ReadTimeout("the answer never arrived", request=request)
        return response
