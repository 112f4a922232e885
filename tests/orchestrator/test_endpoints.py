"""A job whose recorded endpoint had a password (stored masked) cannot be followed there without
it: the watch pass says so for that vendor and goes on; nothing is sent elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuneops.orchestrator import Ledger, Orchestrator
from tuneops.orchestrator.watch import watch_pass
from tuneops.providers.models import Job


def test_a_masked_endpoint_is_an_error_for_that_vendor_only(
        db_url: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with Orchestrator(Ledger.open(db_url)) as orch:
        rec = orch.ledger.record_intent(provider="openai", base_model="gpt-4o-mini-2024-07-18",
                                        method="sft", endpoint="https://me:***@proxy.example/v1")
        orch.ledger.record_vendor_job(rec.id, Job(provider="openai", id="ftjob-1", status="running",
                                                  raw_status="running"))
        result = watch_pass(orch)
        assert "tuneops stores no password" in result.errors["openai"], result.errors
        assert [r.id for r in result.unfinished] == [rec.id]
