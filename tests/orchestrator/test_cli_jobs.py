"""`tuneops list / show / status / events / cancel` against sandbox jobs, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.orchestrator._data import EXAMPLE, MODEL
from tuneops.cli import cli
from tuneops.orchestrator import JobRecord, Ledger, Orchestrator, SubmitRequest

pytestmark = pytest.mark.usefixtures("home")



def submit(db_url: str, *, wait: bool = False, labels: dict[str, str] | None = None,
           **kw: Any) -> JobRecord:
    ledger = Ledger.open(db_url)
    try:
        with Orchestrator(ledger, sandbox=True, sleep=lambda s: None, **kw) as o:
            rec = o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL,
                                         labels=labels or {}))
            return o.wait(rec.id, timeout=30) if wait else rec
    finally:
        ledger.close()


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--db", db_url])


def run_json(db_url: str, *args: str) -> Any:
    res = run(db_url, *args, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_list_filters_and_window(db_url: str) -> None:
    done = submit(db_url, wait=True, labels={"team": "support"})
    running = submit(db_url, labels={"team": "research"})
    old = submit(db_url, wait=True, labels={"team": "support"})
    long_ago = datetime.now(UTC) - timedelta(days=30)
    with Ledger.open(db_url) as ledger:
        ledger.update_fields(old.id, created_at=long_ago, finished_at=long_ago)

    def ids(*args: str) -> list[str]:
        return [r["id"] for r in run_json(db_url, "list", *args)]

    assert ids() == [running.id, done.id]  # newest first; the old finished job is hidden
    assert ids("--all") == [running.id, done.id, old.id]
    assert ids("--all", "--provider", "openai") == [running.id, done.id, old.id]
    assert ids("--all", "--provider", "gemini") == []
    assert ids("--all", "--status", "succeeded") == [done.id, old.id]
    assert ids("--status", "succeeded") == [done.id]
    assert ids("--all", "--label", "team=support") == [done.id, old.id]
    assert ids("--label", "team=research") == [running.id]
    assert ids("--since", "7d") == [running.id, done.id]
    assert ids("--since", "2000-01-01") == [running.id, done.id, old.id]
    doc = run_json(db_url, "list")[1]
    assert doc["fine_tuned_model"] and doc["billed_cost"] > 0 and doc["labels"] == {"team": "support"}

    res = run(db_url, "list")
    assert res.exit_code == 0 and done.id in res.stdout and running.id in res.stdout
    assert "succeeded" in res.stdout and old.id not in res.stdout
    for bad in (["--since", "last tuesday"], ["--label", "team"]):
        res = run(db_url, "list", *bad)
        assert res.exit_code == 2 and bad[0] in res.output


def test_show_has_every_field_and_the_history_in_order(db_url: str) -> None:
    rec = submit(db_url, wait=True)
    doc = run_json(db_url, "show", rec.id)
    assert set(JobRecord.field_names()) <= set(doc) and doc["status"] == "succeeded"
    history = doc["history"]
    assert (history[0]["kind"], history[0]["status"]) == ("status", "pending")
    statuses = [h["status"] for h in history if h["kind"] == "status"]
    assert statuses[0] == "pending" and statuses[-1] == "succeeded"
    assert [h["seq"] for h in history] == sorted(h["seq"] for h in history)  # ledger order
    messages = {h["message"] for h in history if h["kind"] == "event"}
    assert "The job has successfully completed" in messages
    assert any(m.startswith("Created fine-tuning job") for m in messages)
    # the vendor's job id and the client reference find it too
    assert run_json(db_url, "show", str(rec.vendor_job_id))["id"] == rec.id
    assert run_json(db_url, "show", rec.client_ref)["id"] == rec.id

    res = run(db_url, "show", rec.id)
    assert res.exit_code == 0 and rec.id in res.stdout and "succeeded" in res.stdout
    assert "history (" in res.stdout and "Created fine-tuning job" in res.stdout


def test_status_refreshes_until_succeeded(db_url: str) -> None:
    rec = submit(db_url)
    assert rec.status != "succeeded"
    doc: dict[str, Any] = {}
    for _ in range(100):
        doc = run_json(db_url, "status", rec.id)  # no --sandbox: the record says where it lives
        if doc["status"] == "succeeded" and doc["fine_tuned_model"]:
            break
        time.sleep(0.05)
    assert doc["status"] == "succeeded" and doc["billed_cost"] > 0
    res = run(db_url, "status", str(rec.vendor_job_id))
    assert res.exit_code == 0 and rec.id in res.stdout and "succeeded" in res.stdout


def test_events_are_listed_once_each(db_url: str) -> None:
    rec = submit(db_url)
    for _ in range(3):
        evs = run_json(db_url, "events", rec.id)
        time.sleep(0.2)
    with Ledger.open(db_url) as ledger, \
            Orchestrator(ledger, sandbox=True, sleep=lambda s: None) as o:
        o.wait(rec.id, timeout=30)
    evs = run_json(db_url, "events", rec.id)
    evs_again = run_json(db_url, "events", rec.id)
    assert evs == evs_again
    ids = [e["vendor_event_id"] for e in evs]
    assert len(ids) == len(set(ids)) > 10
    assert all(e["kind"] == "event" and e["job_id"] == rec.id for e in evs)
    assert [e["seq"] for e in evs] == sorted(e["seq"] for e in evs)
    assert "The job has successfully completed" in {e["message"] for e in evs}

    res = run(db_url, "events", rec.id)
    assert res.exit_code == 0 and "successfully completed" in res.stdout
    assert f"{rec.id}: succeeded" in res.output


def test_events_follow_ends_when_the_job_is_final(db_url: str) -> None:
    rec = submit(db_url)
    res = run(db_url, "events", rec.id, "--follow", "--json")
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    ids = [e["vendor_event_id"] for e in lines]
    assert len(ids) == len(set(ids)) > 10
    assert "The job has successfully completed" in {e["message"] for e in lines}
    assert run_json(db_url, "show", rec.id)["status"] == "succeeded"

    other = submit(db_url)
    res = run(db_url, "events", other.id, "-f")
    assert res.exit_code == 0 and "successfully completed" in res.stdout
    assert f"{other.id}: succeeded" in res.output


def test_cancel_a_running_job(db_url: str) -> None:
    slow = submit(db_url, sandbox_speed=1.0)
    doc = run_json(db_url, "cancel", slow.id)
    assert doc["id"] == slow.id and doc["status"] == "cancelled"
    assert run_json(db_url, "status", slow.id)["status"] == "cancelled"
    statuses = [h["status"] for h in run_json(db_url, "show", slow.id)["history"]
                if h["kind"] == "status"]
    assert statuses[-1] == "cancelled"

    other = submit(db_url, sandbox_speed=1.0)
    res = run(db_url, "cancel", other.client_ref)
    assert res.exit_code == 0 and other.id in res.stdout and "cancelled" in res.stdout


def test_an_unknown_job_exits_2(db_url: str) -> None:
    for cmd in ("show", "status", "events", "cancel"):
        res = run(db_url, cmd, "tn-nosuch")
        assert res.exit_code == 2 and "no job 'tn-nosuch'" in res.output, (cmd, res.output)
        assert len(res.stderr.strip().splitlines()) <= 2  # one line, and the hint
    res = run(db_url, "show", "tn-nosuch", "--json")
    assert res.exit_code == 2 and json.loads(res.stdout)["error"]["exit_code"] == 2
    res = run(db_url, "list")
    assert res.exit_code == 0 and res.stdout == "" and "no jobs" in res.output
