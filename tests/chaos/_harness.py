"""Shared machinery of the reliability suite: a counting sandbox, noisy and clean providers for the
four vendors, per-vendor datasets, and the invariants every chaos test checks against the vendors'
own state (read through a fault-free provider over the same sandbox store).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.providers.contract.harness import VENDORS, load
from tuneops.orchestrator import Ledger, Orchestrator
from tuneops.orchestrator.ledger import JobRecord
from tuneops.orchestrator.watch import is_finished, watch
from tuneops.providers.base import Provider
from tuneops.providers.models import Job
from tuneops.providers.registry import provider_class
from tuneops.providers.retry import RetryPolicy
from tuneops.providers.sandbox import ManualClock, Sandbox, SandboxTransport
from tuneops.providers.sandbox.app import Outcome, SandboxRequest, VendorApi
from tuneops.providers.sandbox.clock import Clock

__all__ = [
    "CHAOS_FAULTS",
    "VENDORS",
    "ChaosSandbox",
    "Vendors",
    "check_invariants",
    "clean_orchestrator",
    "counting_retry",
    "follow_to_the_end",
    "model_of",
    "write_datasets",
]

# 20 % of all requests fail, spread over every fault kind; 5 % of jobs fail vendor-side.
CHAOS_FAULTS = "429=0.04,500=0.03,503=0.03,timeout=0.03,drop=0.03,lost=0.04,fail_jobs=0.05"
# Statuses the ledger keeps as final.
FINAL = ("succeeded", "failed", "cancelled")
_ID_SEGMENT = re.compile(r"\d|^[A-Za-z0-9_-]{20,}$")


def model_of(vendor: str) -> str:
    return load(vendor).model


def write_datasets(directory: Path, vendor: str, count: int, rows: int = 12) -> list[Path]:
    """`count` distinct, valid training files in `vendor`'s own format."""
    directory.mkdir(parents=True, exist_ok=True)
    make_rows = load(vendor).sft_rows
    paths = []
    for k in range(count):
        path = directory / f"{vendor}-{k}.jsonl"
        lines = [json.dumps(r) for r in make_rows(rows)]
        # one distinct row per file, so every file has its own content (and its own upload)
        lines[0] = json.dumps(make_rows(rows + k + 1)[rows + k])
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _kind(request: SandboxRequest, api: VendorApi, path: str) -> str:
    """`POST openai /fine_tuning/jobs`, ids replaced by `{id}`: what kind of request it is."""
    segments = ["{id}" if _ID_SEGMENT.search(s) else s for s in path.split("/")]
    return f"{request.method} {api.name} {'/'.join(segments)}"


class ChaosSandbox(Sandbox):
    """A `Sandbox` that counts the requests it answers and the faults it injects, by kind."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count_lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # request kind -> requests
        self.injected: Counter[str] = Counter()  # fault -> count
        self.faults_by_kind: dict[str, Counter[str]] = {}  # request kind -> fault -> count

    def _dispatch_to(self, api: VendorApi, request: SandboxRequest, path: str) -> Outcome:
        outcome = super()._dispatch_to(api, request, path)
        kind = _kind(request, api, path)
        with self._count_lock:
            self.requests[kind] += 1
            if outcome.fault is not None:
                self.injected[outcome.fault.value] += 1
                self.faults_by_kind.setdefault(kind, Counter())[outcome.fault.value] += 1
        return outcome


def _options(vendor: str) -> dict[str, Any]:
    return {"poll_interval": 0.0} if vendor == "together" else {}


def make_provider(vendor: str, sandbox: Sandbox, retry: RetryPolicy | None = None) -> Provider:
    return provider_class(vendor).sandboxed(SandboxTransport(sandbox=sandbox), retry=retry,
                                            **_options(vendor))


@dataclass
class Retries:
    """Counts retries (the `RetryPolicy.on_retry` hook) by error type; thread-safe."""

    by_error: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, exc: BaseException, _delay: float) -> None:
        with self.lock:
            self.by_error[type(exc).__name__] += 1

    @property
    def total(self) -> int:
        return sum(self.by_error.values())


def counting_retry(retries: Retries, seed: int, attempts: int = 3) -> RetryPolicy:
    """The default policy with a no-op sleep (the run takes no real time to back off) and fewer
    attempts (3, not 5), so that calls also fail for good and the callers' recovery is exercised."""
    return RetryPolicy(attempts=attempts, sleep=lambda _s: None, rng=random.Random(seed),
                       on_retry=retries)


class Vendors:
    """One sandbox store seen two ways: through `noisy` (faults, counted) and `clean` (no faults,
    the vendors' own truth), on one clock."""

    def __init__(self, store: Path, *, faults: str, seed: int, speed: float = 1.0,
                 clock: Clock | None = None) -> None:
        self.clock = clock if clock is not None else ManualClock()
        self.noisy = ChaosSandbox(store, faults=f"{faults},seed={seed}" if faults else "",
                                  speed=speed, clock=self.clock, seed=seed)
        self.clean = Sandbox(store, faults="", speed=speed, clock=self.clock, seed=seed)
        self.retries = Retries()
        self.seed = seed

    def tick(self, seconds: float) -> None:
        """What waiting means on this clock: moving a manual clock on (by at least 30 s of
        vendor time), really sleeping on the wall clock."""
        if isinstance(self.clock, ManualClock):
            self.clock.advance(max(30.0, seconds))
        else:
            time.sleep(seconds)

    def noisy_factory(self) -> Callable[[str], Provider]:
        counter = iter(range(1 << 30))

        def factory(name: str) -> Provider:
            return make_provider(name, self.noisy, counting_retry(self.retries,
                                                                  self.seed + next(counter)))
        return factory

    def clean_factory(self) -> Callable[[str], Provider]:
        return lambda name: make_provider(name, self.clean)

    def vendor_jobs(self, vendor: str) -> list[Job]:
        with make_provider(vendor, self.clean) as p:
            return list(p.list_jobs())


def clean_orchestrator(ledger: Ledger, vendors: Vendors) -> Orchestrator:
    return Orchestrator(ledger, provider_factory=vendors.clean_factory(), sleep=vendors.tick)


def follow_to_the_end(o: Orchestrator, vendors: Vendors) -> None:
    """Watch (fault-free) until every job in the ledger is finished."""
    final = watch(o, first_interval=0.05, max_interval=0.2, timeout=120, sleep=vendors.tick)
    assert final.unfinished == []


@dataclass
class Verdict:
    """What the invariants found; `check_invariants` asserts on it, the figures report it."""

    ledger_jobs: int = 0
    vendor_jobs: int = 0
    final_by_status: Counter[str] = field(default_factory=Counter)
    never_created: int = 0
    lost: int = 0
    duplicates: int = 0
    duplicate_events: int = 0
    mismatches: list[str] = field(default_factory=list)


def _history_final_status(ledger: Ledger, rec: JobRecord) -> str | None:
    statuses = [h.status for h in ledger.history(rec.id) if h.kind == "status"]
    return statuses[-1] if statuses else None


def check_invariants(ledger: Ledger, vendors: Vendors, *, providers: Iterable[str] = VENDORS,
                     expect_all_final: bool = True) -> Verdict:
    """Every invariant of the suite, checked against the vendors' own state; asserts, and returns
    the counts for the figures.

    - one vendor job per reference (nothing created twice), every vendor job belongs to a ledger
      row (nothing lost), every ledger row is at its vendor or marked never_created;
    - every job that reached its vendor ends in the vendor's final state, with the vendor's model
      id and billed tokens, and the last status in its history is that state;
    - no vendor event recorded twice, and (for finished jobs of vendors that publish events)
      every vendor event is in the history.
    """
    v = Verdict()
    rows = list(ledger.iter_all())
    v.ledger_jobs = len(rows)
    by_ref = {r.client_ref: r for r in rows}
    clean = {name: make_provider(name, vendors.clean) for name in providers}
    try:
        for name, provider in clean.items():
            jobs = list(provider.list_jobs())
            v.vendor_jobs += len(jobs)
            refs = Counter(j.client_ref for j in jobs)
            dup = {ref: n for ref, n in refs.items() if n > 1}
            v.duplicates += sum(n - 1 for n in dup.values())
            if dup:
                v.mismatches.append(f"{name}: created twice: {dup}")
            for job in jobs:
                rec = by_ref.get(job.client_ref or "")
                if rec is None or rec.provider != name:
                    v.lost += 1
                    v.mismatches.append(f"{name} job {job.id} ({job.client_ref}) is in no ledger row")
                    continue
                if rec.vendor_job_id != job.id:
                    v.mismatches.append(f"{rec.id}: ledger has vendor job {rec.vendor_job_id},"
                                        f" the vendor {job.id}")
                    continue
                _compare(ledger, provider, rec, job, v, expect_all_final)
            at_vendor = {j.client_ref for j in jobs}
            for rec in rows:
                if rec.provider != name or rec.client_ref in at_vendor:
                    continue
                if rec.raw_status == "never_created" and rec.status == "failed":
                    v.never_created += 1
                    v.final_by_status["never_created"] += 1
                else:
                    v.lost += 1
                    v.mismatches.append(f"{rec.id} ({rec.status}/{rec.raw_status},"
                                        f" vendor job {rec.vendor_job_id}) is not at {name}")
    finally:
        for p in clean.values():
            p.close()
    shown = "\n".join(v.mismatches[:20])
    assert v.duplicates == 0 and v.lost == 0 and v.duplicate_events == 0, shown
    assert not v.mismatches, f"{len(v.mismatches)} mismatch(es):\n{shown}"
    return v


def _compare(ledger: Ledger, provider: Provider, rec: JobRecord, job: Job, v: Verdict,
             expect_all_final: bool) -> None:
    history = ledger.history(rec.id)
    event_ids = [h.vendor_event_id for h in history if h.kind == "event"]
    dupes = len(event_ids) - len(set(event_ids))
    if dupes:
        v.duplicate_events += dupes
        v.mismatches.append(f"{rec.id}: {dupes} event(s) recorded twice")
    if not job.is_final:
        if expect_all_final:
            v.mismatches.append(f"{rec.id}: the vendor job {job.id} is still {job.status}")
        return
    v.final_by_status[job.status] += 1
    problems = []
    if not is_finished(rec) or rec.status != job.status:
        problems.append(f"status {rec.status} (vendor {job.status})")
    if rec.fine_tuned_model != job.fine_tuned_model:
        problems.append(f"model {rec.fine_tuned_model} (vendor {job.fine_tuned_model})")
    if rec.trained_tokens != job.trained_tokens:
        problems.append(f"billed tokens {rec.trained_tokens} (vendor {job.trained_tokens})")
    expected_cost = _expected_cost(rec, job)
    if expected_cost is not None and (rec.billed_cost is None
                                      or abs(rec.billed_cost - expected_cost) > 1e-9):
        problems.append(f"billed cost {rec.billed_cost} (expected {expected_cost})")
    statuses = [h.status for h in history if h.kind == "status"]
    first_final = next((i for i, st in enumerate(statuses) if st in FINAL), len(statuses))
    if statuses[first_final + 1:]:
        problems.append(f"history goes on after {statuses[first_final]}: {statuses[first_final:]}")
    if _history_final_status(ledger, rec) != job.status:
        problems.append(f"history ends with {_history_final_status(ledger, rec)}")
    if provider.supports_events:
        missing = {e.id for e in provider.list_events(job.id)} - set(event_ids)
        if missing:
            problems.append(f"{len(missing)} vendor event(s) missing from the history")
    if problems:
        v.mismatches.append(f"{rec.id} ({rec.provider} {job.id}): " + "; ".join(problems))


def _expected_cost(rec: JobRecord, job: Job) -> float | None:
    """What a succeeded job must cost in the ledger: the vendor's amount when it reports one,
    else billed tokens x our price table (None when neither is known)."""
    if job.status != "succeeded":
        return None
    if job.cost is not None:
        return job.cost
    from tuneops.datasets.cost import load_prices
    from tuneops.errors import UnknownModelError

    if job.trained_tokens is None or rec.base_model is None:
        return None
    try:
        price = load_prices().lookup(rec.provider, rec.base_model, rec.method or "sft")
    except UnknownModelError:
        return None
    return job.trained_tokens * price.price_per_1m_tokens / 1e6


def write_report(figures: dict[str, Any]) -> str:
    """Print the figures (visible with -s) and write them to `$TUNEOPS_CHAOS_REPORT` if set."""
    import os

    text = json.dumps(figures, indent=2, sort_keys=True)
    print(f"\nchaos figures:\n{text}")
    target = os.environ.get("TUNEOPS_CHAOS_REPORT")
    if target:
        Path(target).write_text(text + "\n", encoding="utf-8")
    return text
