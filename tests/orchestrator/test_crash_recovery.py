"""SIGKILL a submission after each of its durable steps, then reconcile: one job per reference at
the vendor, no ledger row left unresolved, nothing created by reconcile itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.orchestrator._data import EXAMPLE, MODEL
from tuneops.orchestrator import Ledger, Orchestrator
from tuneops.orchestrator.reconcile import reconcile

CHILD = """
import os, signal, sys
from tuneops.orchestrator import Ledger, Orchestrator, SubmitRequest
step, db, example = sys.argv[1], sys.argv[2], sys.argv[3]

def on_step(name):
    if name == step:
        os.kill(os.getpid(), signal.SIGKILL)

with Orchestrator(Ledger.open(db), sandbox=True) as o:
    o.submit(SubmitRequest(file=example, provider="openai", model=MODEL), on_step=on_step)
print("finished without being killed")
""".replace("MODEL", repr(MODEL))


@pytest.mark.parametrize("step", ["prepared", "intent", "uploaded", "created", "recorded"])
def test_killed_submission_is_resolved_by_reconcile(db_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    step: str) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("TUNEOPS_HOME", str(home))
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)
    env = {**os.environ, "TUNEOPS_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-c", CHILD, step, db_url, str(EXAMPLE)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr

    with Orchestrator(Ledger.open(db_url), sandbox=True, sleep=lambda s: None) as o:
        rows = o.ledger.list_jobs(provider="openai")
        report = reconcile(o, provider="openai", grace=0)
        vendor = list(o.provider("openai").list_jobs())
        assert report.foreign == [] and report.in_flight == []
        if step == "prepared":  # killed before the intent: nothing anywhere
            assert rows == [] and vendor == []
            return
        (row,) = o.ledger.list_jobs(provider="openai")
        mine = [j for j in vendor if j.client_ref == row.client_ref]
        assert len(mine) <= 1 and len(vendor) == len(mine)
        if step in ("intent", "uploaded"):  # the vendor never got the create request
            assert mine == [] and report.never_created == [row.id]
            assert row.status == "failed" and row.raw_status == "never_created"
            assert o.ledger.list_jobs(unfinished=True) == []
        else:  # the vendor created the job: it is adopted (or was already recorded), once
            assert len(mine) == 1 and row.vendor_job_id == mine[0].id
            assert report.adopted == ([(row.id, mine[0].id)] if step == "created" else [])
            assert o.wait(row.id, timeout=60).status == "succeeded"
        again = reconcile(o, provider="openai", grace=0)  # idempotent, creates nothing
        assert again.adopted == [] and again.never_created == []
        assert len(list(o.provider("openai").list_jobs())) == len(vendor)


def test_recent_intents_are_left_to_the_submission_in_flight(db_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    with Orchestrator(Ledger.open(db_url), sandbox=True) as o:
        rec = o.ledger.record_intent(provider="openai", base_model=MODEL)
        report = reconcile(o, provider="openai", grace=3600)
        assert report.in_flight == [rec.id] and o.ledger.get(rec.id).status == "pending"


def test_cli_reconcile_json(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from tuneops.cli import cli

    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    with Orchestrator(Ledger.open(db_url), sandbox=True) as o:
        rec = o.ledger.record_intent(provider="openai", base_model=MODEL)
    res = CliRunner().invoke(cli, ["reconcile", "--sandbox", "--grace", "0", "--db", db_url, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["never_created"] == [rec.id]
    res = CliRunner().invoke(cli, ["reconcile", "--sandbox", "--db", db_url])
    assert res.exit_code == 0 and "nothing to reconcile" in res.output
