"""An answer about another vendor job (an old one, a vendor's or proxy's mix-up) is never applied
to a ledger row that follows a different vendor job: seen in the field as a job `failed`, then
`validating`, because an answer for another job id overwrote the row. The Mistral adapter plays
the vendor over `httpx2.MockTransport`; no network."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tuneops.orchestrator import Ledger, Orchestrator
from tuneops.orchestrator.watch import watch_pass
from tuneops.providers.mistral import MistralProvider
from tuneops.providers.models import Job, JobError
from tuneops.providers.retry import RetryPolicy

OURS = "7ad642c1-fc6f-4ab1-9d9b-2f4c6a8d1e3b"  # the vendor job the row follows
OTHER = "0c3e9b1d-5a7f-4e2b-8d6c-1f9a2b3c4d5e"  # the job a stale / mixed-up answer is about


def mistral_job(job_id: str, status: str) -> dict[str, Any]:
    """A CompletionDetailedJobOut, with one status event."""
    return {
        "id": job_id, "auto_start": False, "model": "open-mistral-7b", "status": status,
        "created_at": 1716963433, "modified_at": 1716963900,
        "training_files": ["e85980c9-409e-4a46-9304-36588f6292b0"], "validation_files": [],
        "object": "job", "fine_tuned_model": None, "suffix": "tn-other23", "integrations": [],
        "trained_tokens": None, "job_type": "completion", "metadata": None,
        "hyperparameters": {"training_steps": 10}, "repositories": [], "checkpoints": [],
        "events": [{"name": "status-updated", "data": {"status": status},
                    "created_at": 1716963600}],
    }


def orchestrator(db_url: str, status: str, asked: list[str]) -> Orchestrator:
    """Every job the vendor is asked about is answered with job OTHER in `status`."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        asked.append(request.url.path)
        if request.url.path == "/v1/fine_tuning/jobs":
            return httpx2.Response(200, json={"data": [], "object": "list", "total": 0})
        return httpx2.Response(200, json=mistral_job(OTHER, status))

    provider = MistralProvider(api_key="sk-test", server_url="http://mistral.test",
                               retry=RetryPolicy(sleep=lambda _: None),
                               http_client=httpx2.Client(transport=httpx2.MockTransport(handle)))
    return Orchestrator(Ledger.open(db_url), provider_factory=lambda name: provider,
                        sleep=lambda _: None)


def following(ledger: Ledger, status: str, raw_status: str, **kw: Any) -> str:
    rec = ledger.record_intent(provider="mistral", base_model="open-mistral-7b", method="sft")
    ledger.record_vendor_job(rec.id, Job(provider="mistral", id=OURS, status=status,  # type: ignore[arg-type]
                                         raw_status=raw_status, **kw))
    return rec.id


def test_a_failed_job_is_not_undone_by_an_answer_about_another_job(
        db_url: str, home: Path, caplog: pytest.LogCaptureFixture) -> None:
    asked: list[str] = []
    with orchestrator(db_url, "VALIDATING", asked) as o:
        jid = following(o.ledger, "failed", "FAILED", error=JobError(
            kind="vendor", code="FAILED", message="Mistral reports the job failed"))
        before = o.ledger.history(jid)
        with caplog.at_level(logging.WARNING, logger="tuneops"):
            after = o.refresh(jid)  # asks about OURS, is told about OTHER, VALIDATING
        assert f"/v1/fine_tuning/jobs/{OURS}" in asked
        assert (after.status, after.raw_status, after.vendor_job_id) == ("failed", "FAILED", OURS)
        assert after.error_code == "FAILED"
        assert o.ledger.history(jid) == before  # no status row, no event of the other job
        assert any(OTHER in r.getMessage() and "not applied" in r.getMessage()
                   for r in caplog.records)
        # directly at the ledger too, whatever the caller
        rec, changed = o.ledger.record_vendor_job(jid, Job(
            provider="mistral", id=OTHER, status="validating", raw_status="VALIDATING"))
        assert not changed and (rec.status, rec.vendor_job_id) == ("failed", OURS)
        # the existing rule holds: a stale non-final answer about the same job changes nothing
        rec, changed = o.ledger.record_vendor_job(jid, Job(
            provider="mistral", id=OURS, status="running", raw_status="RUNNING"))
        assert not changed and rec.status == "failed"


def test_watch_does_not_apply_an_answer_about_another_job_and_says_so(
        db_url: str, home: Path) -> None:
    asked: list[str] = []
    with orchestrator(db_url, "FAILED", asked) as o:
        jid = following(o.ledger, "running", "RUNNING")
        result = watch_pass(o)
        assert f"/v1/fine_tuning/jobs/{OURS}" in asked
        assert f"/v1/fine_tuning/jobs/{OTHER}" not in asked  # not even its events were fetched
        assert result.changed == [] and list(result.mismatched) == [jid]
        assert OTHER in result.mismatched[jid] and OURS in result.mismatched[jid]
        rec = o.ledger.get(jid)
        assert (rec.status, rec.raw_status, rec.vendor_job_id) == ("running", "RUNNING", OURS)
        assert [r.id for r in result.unfinished] == [jid]  # still followed, asked again next pass
        assert [h.status for h in o.ledger.history(jid) if h.kind == "status"] == [
            "pending", "running"]


def test_a_success_about_another_job_writes_no_cost(db_url: str, home: Path) -> None:
    """`Orchestrator.apply` refuses the answer before it prices anything: a row that is running
    stays running, unpriced, without the other job's events."""
    asked: list[str] = []
    with orchestrator(db_url, "SUCCESS", asked) as o:
        jid = following(o.ledger, "running", "RUNNING")
        before = o.ledger.history(jid)
        after = o.refresh(jid)
        assert (after.status, after.vendor_job_id, after.billed_cost) == ("running", OURS, None)
        assert o.ledger.history(jid) == before
        assert not any(p.endswith("/events") for p in asked)
