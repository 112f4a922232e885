"""Following every unfinished job in the ledger, all vendors at once.

One pass per provider lists the vendor's jobs (all pages: about N / page-size requests where the
list endpoint returns statuses, as OpenAI's does) and records what changed; a job the listing does
not show is fetched on its own. Events are fetched only for jobs whose status changed, so a quiet
pass costs no per-job requests. Providers are polled concurrently, one thread each (the per-provider
bound: one request at a time per vendor). A job with no change for `stall_after` seconds is reported
stalled. Everything lives in the ledger, so a restarted watcher simply carries on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tuneops.errors import ProviderError, TuneopsError
from tuneops.orchestrator.ledger import JobRecord, answer_mismatch
from tuneops.orchestrator.submit import Orchestrator
from tuneops.providers.models import Job

__all__ = ["PassResult", "is_finished", "watch", "watch_pass"]

log = logging.getLogger(__name__)


def is_finished(record: JobRecord) -> bool:
    if record.status == "succeeded":
        return record.fine_tuned_model is not None
    return record.status in ("failed", "cancelled")


@dataclass
class PassResult:
    changed: list[str] = field(default_factory=list)  # our ids whose status changed
    unfinished: list[JobRecord] = field(default_factory=list)
    stalled: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # provider -> message (retried next pass)
    # our id -> why the vendor's answer was not applied: it is about another vendor job than the
    # one the ledger row follows (never written; the job is asked about again next pass)
    mismatched: dict[str, str] = field(default_factory=dict)
    retry_after: float | None = None


def _unchanged(rec: JobRecord, job: Job) -> bool:
    return (rec.status == job.status and rec.raw_status == job.raw_status
            and rec.fine_tuned_model == job.fine_tuned_model
            and rec.trained_tokens == job.trained_tokens
            and rec.error_code == (job.error.code if job.error else None))


def _provider_pass(orch: Orchestrator, name: str, records: list[JobRecord],
                   result: PassResult) -> None:
    adapter = orch.provider_for(records[0])  # all of `records` were sent to one endpoint
    wanted = {r.vendor_job_id: r for r in records if r.vendor_job_id}
    seen = {}
    for job in adapter.list_jobs():
        if job.id in wanted:
            seen[job.id] = job
            if len(seen) == len(wanted):
                break  # newest first: stop paging once every job we follow is found
    for vendor_id, rec in wanted.items():
        job = seen.get(vendor_id) or adapter.get_job(vendor_id)
        mismatch = answer_mismatch(vendor_id, job.id)
        if mismatch is not None:
            # Checked before `apply`, which would also fetch (and could record) the other job's
            # events; the ledger refuses such an answer too.
            log.warning("%s (%s): %s", rec.id, name, mismatch)
            result.mismatched[rec.id] = mismatch
            continue
        if _unchanged(rec, job):
            continue  # a quiet job costs no database write
        if orch.apply(rec, job, all_events=False)[1]:
            result.changed.append(rec.id)


def watch_pass(orch: Orchestrator, *, jobs: list[str] | None = None,
               stall_after: float = 3600.0) -> PassResult:
    """One pass over the unfinished jobs (or the given ones)."""
    ledger = orch.ledger
    records = ([ledger.get(j) for j in jobs] if jobs else ledger.list_jobs(unfinished=True))
    records = [r for r in records if not is_finished(r) and r.vendor_job_id]
    result = PassResult()
    # one listing per vendor endpoint: a job is followed where it was sent
    by_endpoint: dict[tuple[str, str | None], list[JobRecord]] = {}
    for r in records:
        by_endpoint.setdefault((r.provider, r.endpoint), []).append(r)

    def run(key: tuple[str, str | None]) -> None:
        name = key[0]
        try:
            _provider_pass(orch, name, by_endpoint[key], result)
        except ProviderError as exc:
            result.errors[name] = exc.message
            if exc.retry_after is not None:
                result.retry_after = max(result.retry_after or 0.0, exc.retry_after)

    for key, group in list(by_endpoint.items()):
        try:
            orch.provider_for(group[0])  # create adapters in this thread, before fanning out
        except TuneopsError as exc:  # e.g. an endpoint whose password tuneops does not store
            result.errors[key[0]] = exc.message
            del by_endpoint[key]
    with ThreadPoolExecutor(max_workers=max(1, len(by_endpoint))) as pool:
        list(pool.map(run, by_endpoint))
    now = datetime.now(UTC)
    followed = {r.id for r in records}
    for fresh in ledger.list_jobs(unfinished=True):
        if fresh.id not in followed:
            continue
        if not is_finished(fresh):
            result.unfinished.append(fresh)
            if (now - fresh.updated_at).total_seconds() > stall_after:
                result.stalled.append(fresh.id)
    return result


def watch(orch: Orchestrator, *, jobs: list[str] | None = None, first_interval: float = 2.0,
          max_interval: float = 120.0, stall_after: float = 3600.0,
          timeout: float | None = None, on_pass: Callable[[PassResult], None] | None = None,
          sleep: Callable[[float], None] = time.sleep) -> PassResult:
    """Pass after pass until every followed job is finished: fast polls first, backing off to
    `max_interval`; a vendor's Retry-After is honoured."""
    deadline = None if timeout is None else time.monotonic() + timeout
    interval = first_interval
    while True:
        result = watch_pass(orch, jobs=jobs, stall_after=stall_after)
        if on_pass is not None:
            on_pass(result)
        if not result.unfinished:
            return result
        if deadline is not None and time.monotonic() > deadline:
            return result
        wait = max(interval, result.retry_after or 0.0)
        sleep(wait)
        interval = first_interval if result.changed else min(max_interval, interval * 1.5)
