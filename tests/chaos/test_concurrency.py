"""Concurrency: two and four watchers and a submitter on one ledger at once (threads, each with its
own database connection pool and adapters), under 20 % faults, on SQLite and PostgreSQL. No
corruption (SQLite `PRAGMA integrity_check`), no event recorded twice, no lost update (every job
ends in the vendor's state, its history ending there once), no error from the database.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest

from tests.chaos._harness import (
    CHAOS_FAULTS,
    VENDORS,
    Vendors,
    check_invariants,
    clean_orchestrator,
    follow_to_the_end,
    model_of,
    write_datasets,
)
from tests.chaos.test_crash import assert_sqlite_intact
from tuneops.errors import ProviderError
from tuneops.orchestrator import Ledger, Orchestrator, SubmitRequest
from tuneops.orchestrator.reconcile import reconcile
from tuneops.orchestrator.watch import watch_pass

pytestmark = pytest.mark.chaos

JOBS = 24


@pytest.mark.parametrize("watchers", [2, 4])
def test_watchers_and_a_submit_on_one_ledger(db_url: str, home: Path, tmp_path: Path,
                                             watchers: int, chaos_seed: int) -> None:
    vendors = Vendors(home / "sandbox", faults=CHAOS_FAULTS, seed=chaos_seed, speed=1.0)
    files = {v: write_datasets(tmp_path / "data", v, JOBS // len(VENDORS)) for v in VENDORS}
    Ledger.open(db_url).close()  # migrate once, before the threads start
    submitting = threading.Event()
    submitting.set()
    errors: list[BaseException] = []
    passes = [0] * watchers

    def submitter() -> None:
        try:
            with Orchestrator(Ledger.open(db_url), provider_factory=vendors.noisy_factory(),
                              sleep=lambda _s: None) as o:
                for k in range(JOBS // len(VENDORS)):
                    for vendor in VENDORS:
                        with contextlib.suppress(ProviderError):  # reconcile resolves it
                            o.submit(SubmitRequest(file=files[vendor][k], provider=vendor,
                                                   model=model_of(vendor)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            submitting.clear()

    def watcher(n: int) -> None:
        try:
            with Orchestrator(Ledger.open(db_url), provider_factory=vendors.noisy_factory(),
                              sleep=lambda _s: None) as o:
                while passes[n] < 5000:
                    still_submitting = submitting.is_set()
                    result = watch_pass(o)
                    passes[n] += 1
                    if not still_submitting and not result.unfinished and not result.errors:
                        return
                    vendors.clock.advance(5.0)
                raise AssertionError(f"watcher {n} never finished")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submitter)]
    threads += [threading.Thread(target=watcher, args=(n,)) for n in range(watchers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == [], errors
    assert all(p > 1 for p in passes)

    with clean_orchestrator(Ledger.open(db_url), vendors) as o:
        reconcile(o, grace=0)
        follow_to_the_end(o, vendors)
        verdict = check_invariants(o.ledger, vendors)
        assert verdict.vendor_jobs > 0
    assert_sqlite_intact(db_url)
