"""The chaos run: N jobs across the four vendors, submitted and watched to the end while 20 % of all
requests fail (429 with Retry-After, 500, 503, timeouts, dropped connections, and LOST responses:
the request takes effect, the answer never arrives), then reconciled; every invariant is checked
against the vendors' own state. The figures (jobs, faults by kind, retries, recoveries, lost,
duplicates) are printed (-s) and written as JSON to `$TUNEOPS_CHAOS_REPORT` when set.

    python -m pytest -m chaos tests/chaos --chaos-jobs 1000 -s     # the full run (README figures)
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.chaos._harness import (
    CHAOS_FAULTS,
    VENDORS,
    Vendors,
    check_invariants,
    clean_orchestrator,
    model_of,
    write_datasets,
    write_report,
)
from tuneops.errors import ProviderError
from tuneops.orchestrator import Ledger, Orchestrator, SubmitRequest
from tuneops.orchestrator.reconcile import reconcile
from tuneops.orchestrator.watch import watch_pass

pytestmark = pytest.mark.chaos

ADOPTED_MARK = "adopted the job carrying reference"


def test_chaos_run_keeps_every_job_exactly_once(db_url: str, home: Path, tmp_path: Path,
                                               chaos_jobs: int, chaos_seed: int) -> None:
    started = time.monotonic()
    vendors = Vendors(home / "sandbox", faults=CHAOS_FAULTS, seed=chaos_seed, speed=1.0)
    rng = random.Random(chaos_seed)
    # each file is submitted twice (the second time the upload is found in the ledger and the
    # vendor is asked whether it still has the file), so uploads run under faults too
    files = {v: write_datasets(tmp_path / "data", v, max(1, chaos_jobs // 8)) for v in VENDORS}
    plan = [VENDORS[i % len(VENDORS)] for i in range(chaos_jobs)]
    rng.shuffle(plan)

    submit_errors: Counter[str] = Counter()
    submitted: dict[str, str] = {}  # our id -> vendor
    before_intent = 0
    with Orchestrator(Ledger.open(db_url), provider_factory=vendors.noisy_factory(),
                      sleep=lambda _s: None) as o:
        for i, vendor in enumerate(plan):
            data = files[vendor][(i // len(VENDORS)) % len(files[vendor])]
            try:
                rec = o.submit(SubmitRequest(file=data, provider=vendor, model=model_of(vendor),
                                             labels={"chaos": str(i)}))
                assert rec.vendor_job_id, "a submission returned without a vendor job"
                submitted[rec.id] = vendor
            except ProviderError as exc:  # the run goes on; reconcile resolves what is left
                submit_errors[type(exc).__name__] += 1
                # vendors that quote a price get the upload before the intent is recorded: a
                # failure there leaves no ledger row (and no vendor job)
                if not o.ledger.list_jobs(label=("chaos", str(i))):
                    before_intent += 1
            vendors.clock.advance(2.0)  # jobs move on while the others are being submitted
        submit_requests = sum(vendors.noisy.requests.values())

        # watch to the end, under the same faults: a pass that fails is simply done again
        passes = 0
        pass_errors: Counter[str] = Counter()
        while True:
            result = watch_pass(o)
            passes += 1
            for name in result.errors:
                pass_errors[name] += 1
            if not result.unfinished and not result.errors:
                break
            assert passes < 2000, f"still unfinished after {passes} passes: {result.unfinished[:5]}"
            vendors.clock.advance(30.0)

    # a clean reconcile resolves the submissions that raised: adopted or never created
    with clean_orchestrator(Ledger.open(db_url), vendors) as clean:
        report = reconcile(clean, grace=0)
        assert report.foreign == [] and report.in_flight == []
        for our_id, _vendor_id in report.adopted:  # adopted jobs are followed to the end
            final = clean.wait(our_id, timeout=60)
            assert final.status in ("succeeded", "failed")
        verdict = check_invariants(clean.ledger, vendors)
        adopted_in_submit = sum(
            1 for r in clean.ledger.iter_all()
            if any(ADOPTED_MARK in (h.message or "") for h in clean.ledger.history(r.id)))

    failed_submissions = sum(submit_errors.values())
    assert len(submitted) + failed_submissions == chaos_jobs
    assert verdict.ledger_jobs == chaos_jobs - before_intent
    assert verdict.vendor_jobs + verdict.never_created == verdict.ledger_jobs
    assert len(report.adopted) + len(report.never_created) == failed_submissions - before_intent
    assert sum(vendors.noisy.injected.values()) > 0 and vendors.retries.total > 0
    total_requests = sum(vendors.noisy.requests.values())
    figures = {
        "database": db_url.split(":", 1)[0],
        "seed": chaos_seed,
        "fault_spec": CHAOS_FAULTS,
        "jobs": chaos_jobs,
        "jobs_by_vendor": dict(Counter(plan)),
        "requests": total_requests,
        "requests_during_submit": submit_requests,
        "faults_injected": sum(vendors.noisy.injected.values()),
        "fault_rate": round(sum(vendors.noisy.injected.values()) / max(1, total_requests), 4),
        "faults_by_type": dict(vendors.noisy.injected),
        "request_kinds_with_faults": len(vendors.noisy.faults_by_kind),
        "request_kinds": len(vendors.noisy.requests),
        "faults_by_request_kind": {k: dict(c) for k, c in sorted(vendors.noisy.faults_by_kind.items())},
        "retries": vendors.retries.total,
        "retries_by_error": dict(vendors.retries.by_error),
        "submissions_ok": len(submitted),
        "submissions_raised": dict(submit_errors),
        "submissions_raised_before_intent": before_intent,
        "recoveries": {
            "lost_create_adopted_during_submit": adopted_in_submit,
            "reconcile_adopted": len(report.adopted),
            "reconcile_never_created": len(report.never_created),
        },
        "watch_passes": passes,
        "watch_passes_with_vendor_errors": dict(pass_errors),
        "final_states": dict(verdict.final_by_status),
        "vendor_jobs": verdict.vendor_jobs,
        "lost": verdict.lost,
        "duplicates": verdict.duplicates,
        "duplicate_events": verdict.duplicate_events,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    write_report(figures)
