"""Crash recovery: `tuneops submit` SIGKILLed after each of its durable steps, for each vendor, and a
watcher SIGKILLed in the middle of ledger writes (before a statement runs, or after it ran and
before its transaction commits) at points drawn from the seed. After `reconcile` and a watch run to
the end, the same invariants hold as in the chaos run: one vendor job per reference, none lost,
the history not corrupted (each vendor event once, the last status the vendor's), and on SQLite
`PRAGMA integrity_check` is ok.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.chaos._child import CHILD_SPEED
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
from tuneops.orchestrator import Ledger, SubmitRequest
from tuneops.orchestrator.reconcile import reconcile
from tuneops.providers.sandbox.clock import SystemClock

pytestmark = pytest.mark.chaos

ROOT = Path(__file__).resolve().parents[2]
STEPS = ("prepared", "intent", "uploaded", "created", "recorded")


def run_child(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tests.chaos._child", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)


def assert_sqlite_intact(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        return
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        engine.dispose()


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("step", STEPS)
def test_submission_killed_at_every_step(db_url: str, home: Path, tmp_path: Path, vendor: str,
                                         step: str, chaos_seed: int) -> None:
    (data,) = write_datasets(tmp_path / "data", vendor, 1)
    store = home / "sandbox"
    proc = run_child("submit", vendor, step, db_url, str(data), str(store), str(chaos_seed))
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr

    vendors = Vendors(store, faults="", seed=chaos_seed, speed=CHILD_SPEED, clock=SystemClock())
    with clean_orchestrator(Ledger.open(db_url), vendors) as o:
        report = reconcile(o, grace=0)
        assert report.foreign == [] and report.in_flight == []
        rows = list(o.ledger.iter_all())
        vendor_jobs = vendors.vendor_jobs(vendor)
        if step == "prepared":  # killed before anything was recorded or created
            assert rows == [] and vendor_jobs == []
            return
        (row,) = rows
        if step in ("intent", "uploaded"):  # the create request was never sent
            assert vendor_jobs == [] and report.never_created == [row.id]
        else:
            assert [j.client_ref for j in vendor_jobs] == [row.client_ref]
            assert report.adopted == ([(row.id, vendor_jobs[0].id)] if step == "created" else [])
        follow_to_the_end(o, vendors)
        check_invariants(o.ledger, vendors, providers=[vendor])
        again = reconcile(o, grace=0)  # idempotent, and it never creates anything
        assert again.adopted == [] and again.never_created == []
        assert len(vendors.vendor_jobs(vendor)) == len(vendor_jobs)
    assert_sqlite_intact(db_url)


def test_watchers_killed_in_the_middle_of_ledger_writes(db_url: str, home: Path, tmp_path: Path,
                                                        chaos_seed: int) -> None:
    """Watchers (under 20 % faults) are SIGKILLed one after another inside a ledger write; a last
    watcher finishes the work. Nothing is half-written, lost or recorded twice."""
    rng = random.Random(chaos_seed)
    store = home / "sandbox"
    vendors = Vendors(store, faults="", seed=chaos_seed, speed=CHILD_SPEED / 5, clock=SystemClock())
    with clean_orchestrator(Ledger.open(db_url), vendors) as o:
        for vendor in VENDORS:
            for data in write_datasets(tmp_path / "data", vendor, 3):
                o.submit(SubmitRequest(file=data, provider=vendor, model=model_of(vendor)))
    kills = 0
    for n in range(8):
        kill_at = rng.randint(1, 25)
        where = rng.choice(("before", "after"))
        proc = run_child("watch", db_url, str(store), str(chaos_seed + n), str(kill_at), where,
                         CHAOS_FAULTS)
        if proc.returncode == 0:
            break  # every job finished before the kill point came
        assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
        kills += 1
        assert_sqlite_intact(db_url)
    assert kills >= 1
    with clean_orchestrator(Ledger.open(db_url), vendors) as o:
        follow_to_the_end(o, vendors)
        verdict = check_invariants(o.ledger, vendors)
        assert verdict.ledger_jobs == verdict.vendor_jobs == 3 * len(VENDORS)
    assert_sqlite_intact(db_url)
