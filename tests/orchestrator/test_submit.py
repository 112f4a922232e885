"""Submitting through the pipeline against the sandbox, on SQLite and PostgreSQL ledgers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest
from click.testing import CliRunner

from tests.orchestrator._data import EXAMPLE, MODEL
from tests.providers.contract.harness import LoseFirstCreate
from tests.providers.contract.harness_openai import HARNESS as OPENAI
from tuneops.cli import cli
from tuneops.datasets.estimate import estimate_file
from tuneops.errors import BudgetExceededError, DataValidationError
from tuneops.orchestrator import Ledger, Orchestrator, SubmitRequest
from tuneops.providers.openai import OpenAIProvider
from tuneops.providers.sandbox import SandboxTransport

pytestmark = pytest.mark.usefixtures("home")



def orch(db_url: str, **kw: Any) -> Orchestrator:
    return Orchestrator(Ledger.open(db_url), sandbox=True, sleep=lambda s: None, **kw)


def test_submit_and_wait_records_model_tokens_and_cost(db_url: str) -> None:
    with orch(db_url) as o:
        rec = o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL,
                                     labels={"team": "support"}))
        assert rec.vendor_job_id and rec.training_file_id and rec.client_ref == rec.id
        assert rec.estimated_cost and rec.dataset_examples == 60 and rec.sandbox
        done = o.wait(rec.id, timeout=30)
        assert done.status == "succeeded" and done.fine_tuned_model
        est, report = estimate_file(EXAMPLE, provider="openai", model=MODEL)
        report.close()
        assert done.trained_tokens == est.billed_tokens
        assert done.billed_cost == pytest.approx(est.cost_expected)
        assert done.cost_basis and "price table" in done.cost_basis
        kinds = [(h.kind, h.status) for h in o.ledger.history(rec.id)]
        assert kinds[0] == ("status", "pending") and ("status", "succeeded") in kinds
        assert any(k == "event" for k, _ in kinds)


def test_bad_data_is_refused_before_anything_is_sent(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(EXAMPLE.read_bytes() + b'{"messages": [{"role": "robot", "content": "x"}]}\n')
    with orch(db_url) as o:
        with pytest.raises(DataValidationError, match="line 61") as exc:
            o.submit(SubmitRequest(file=bad, provider="openai", model=MODEL))
        assert "nothing was uploaded" in exc.value.hint
        assert o.ledger.list_jobs() == []


def test_budget_guard_and_declined_confirmation(db_url: str) -> None:
    with orch(db_url) as o:
        with pytest.raises(BudgetExceededError, match="over the --max-cost"):
            o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL, max_cost=0.001))
        with pytest.raises(BudgetExceededError, match="declined"):
            o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL),
                     confirm=lambda est, quote: False)
        assert o.ledger.list_jobs() == []


def test_the_same_content_is_uploaded_once_while_the_vendor_has_it(db_url: str) -> None:
    with orch(db_url) as o:
        a = o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL))
        b = o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL))
        assert a.training_file_id == b.training_file_id
        provider = o.provider("openai")
        assert isinstance(provider, OpenAIProvider)
        provider.client.files.delete(a.training_file_id)  # the vendor no longer has it
        c = o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL))
        assert c.training_file_id != a.training_file_id


def test_another_vendors_format_is_converted(db_url: str, tmp_path: Path) -> None:
    rows = [{"contents": [{"role": "user", "parts": [{"text": f"What is {i}+{i}?"}]},
                          {"role": "model", "parts": [{"text": str(2 * i)}]}]} for i in range(12)]
    gem = tmp_path / "gemini.jsonl"
    gem.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    with orch(db_url) as o:
        rec = o.wait(o.submit(SubmitRequest(file=gem, provider="openai", model=MODEL)).id,
                     timeout=30)
        assert rec.status == "succeeded" and rec.dataset_path == str(gem.resolve())


def test_a_lost_create_answer_still_makes_one_job(db_url: str, home: Path) -> None:
    transports: list[LoseFirstCreate] = []

    def factory(name: str) -> OpenAIProvider:
        t = LoseFirstCreate(SandboxTransport(home / "sandbox", speed=1000, faults=""),
                            OPENAI.is_create)
        transports.append(t)
        return OpenAIProvider(api_key="sk-sandbox", base_url="http://sandbox.tuneops/openai/v1",
                              http_client=httpx2.Client(transport=t))

    with Orchestrator(Ledger.open(db_url), provider_factory=factory, sleep=lambda s: None) as o:
        rec = o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL))
        assert transports[0].lost == 1 and rec.vendor_job_id
        vendor_jobs = [j for j in o.provider("openai").list_jobs() if j.client_ref == rec.client_ref]
        assert [j.id for j in vendor_jobs] == [rec.vendor_job_id]
        assert any("adopted" in (h.message or "") for h in o.ledger.history(rec.id))


def test_cli_submit_sandbox_wait_json(db_url: str) -> None:
    res = CliRunner().invoke(cli, ["submit", str(EXAMPLE), "--provider", "openai", "--model", MODEL,
                                   "--sandbox", "--wait", "--json", "--db", db_url,
                                   "--label", "team=support"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "succeeded" and doc["fine_tuned_model"].startswith(f"ft:{MODEL}:")
    assert doc["labels"] == {"team": "support"} and doc["billed_cost"] > 0


def test_cli_submit_errors(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["submit", str(EXAMPLE), "-p", "openai", "--model", MODEL,
                              "--sandbox", "--label", "oops", "--db", db_url])
    assert res.exit_code == 2 and "key=value" in res.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\n')
    res = runner.invoke(cli, ["submit", str(bad), "-p", "openai", "--model", MODEL, "--sandbox",
                              "--db", db_url])
    assert res.exit_code == 1 and "nothing was uploaded" in res.output
    res = runner.invoke(cli, ["submit", str(EXAMPLE), "-p", "openai", "--model", MODEL, "--sandbox",
                              "--max-cost", "0.0001", "--db", db_url])
    assert res.exit_code == 2 and "max-cost" in res.output


def test_cli_submit_from_a_job_file(db_url: str, tmp_path: Path) -> None:
    job = tmp_path / "job.toml"
    job.write_text(f'file = "{EXAMPLE}"\nprovider = "openai"\nmodel = "{MODEL}"\nepochs = 2\n'
                   'sandbox = true\nwait = true\n[labels]\nteam = "support"\n')
    res = CliRunner().invoke(cli, ["submit", "-f", str(job), "--db", db_url, "--json",
                                   "--label", "team=override"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "succeeded" and doc["labels"] == {"team": "override"}
    assert doc["hyperparameters_requested"] == {"epochs": 2}
    bad = tmp_path / "bad.toml"
    bad.write_text('provider = "openai"\nmodle = "x"\n')
    res = CliRunner().invoke(cli, ["submit", "-f", str(bad), "--db", db_url])
    assert res.exit_code == 2 and "unknown fields: modle" in res.output
    res = CliRunner().invoke(cli, ["submit", "--db", db_url])
    assert res.exit_code == 2 and "missing FILE, --provider, --model" in res.output


def test_submissions_through_20_percent_faults_leave_one_job_each(db_url: str, home: Path) -> None:
    """Every kind of request fails 20 % of the time. Each submission either returns a recorded
    job or raises a vendor error; after `reconcile`, every ledger row has at most one vendor job,
    every vendor job belongs to a row, and every created job runs to success."""
    import random

    from tuneops.errors import ProviderError
    from tuneops.orchestrator.reconcile import reconcile
    from tuneops.providers.retry import RetryPolicy

    faults = "429=0.05,500=0.03,503=0.03,timeout=0.03,drop=0.03,lost=0.03,seed=11"
    retries: list[float] = []

    def noisy(name: str) -> OpenAIProvider:
        return OpenAIProvider.sandboxed(
            SandboxTransport(home / "sandbox", speed=1000, faults=faults),
            retry=RetryPolicy(sleep=retries.append, rng=random.Random(1), attempts=6))

    failed = 0
    with Orchestrator(Ledger.open(db_url), provider_factory=noisy, sleep=lambda s: None) as o:
        for i in range(16):
            try:
                rec = o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL,
                                             labels={"n": str(i)}))
                assert rec.vendor_job_id
            except ProviderError:
                failed += 1
    assert retries, "no fault was injected"
    with Orchestrator(Ledger.open(db_url), sandbox=True, sleep=lambda s: None) as o:
        reconcile(o, provider="openai", grace=0)
        rows = o.ledger.list_jobs(provider="openai")
        vendor = list(o.provider("openai").list_jobs())
        assert len(rows) == 16
        refs = [j.client_ref for j in vendor]
        assert len(refs) == len(set(refs)), "a job was created twice"
        assert set(refs) <= {r.client_ref for r in rows}
        for row in rows:
            if row.client_ref in refs:
                assert o.wait(row.id, timeout=60).status == "succeeded"
            else:
                assert row.raw_status == "never_created"
        assert len(vendor) >= 16 - failed


class FailEvents(httpx2.BaseTransport):
    """Forwards to the sandbox, but the next `fail` event listings answer 500."""

    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self.inner = inner
        self.fail = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.fail and request.url.path.endswith("/events"):
            self.fail -= 1
            return httpx2.Response(500, json={"error": {"message": "boom", "type": "server_error",
                                                         "param": None, "code": None}})
        return self.inner.handle_request(request)


def test_a_status_is_recorded_only_with_its_events(db_url: str, home: Path) -> None:
    """If the events cannot be read, the status change is not written either: the next pass sees
    the change again and records both (a watcher lists events only when a status changes)."""
    from tuneops.errors import VendorServerError
    from tuneops.providers.retry import RetryPolicy

    t = FailEvents(SandboxTransport(home / "sandbox", speed=1000, faults=""))
    provider = OpenAIProvider.sandboxed(t, retry=RetryPolicy(attempts=1, sleep=lambda s: None))
    with Orchestrator(Ledger.open(db_url), provider_factory=lambda name: provider,
                      sleep=lambda s: None) as o:
        rec = o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL))
        vendor = o.provider("openai")
        import time

        while not vendor.get_job(rec.vendor_job_id).is_final:
            time.sleep(0.02)
        t.fail = 1
        with pytest.raises(VendorServerError):
            o.refresh(rec.id)
        assert o.ledger.get(rec.id).status != "succeeded"
        done = o.refresh(rec.id)
        assert done.status == "succeeded" and done.billed_cost is not None
        events = [h for h in o.ledger.history(rec.id) if h.kind == "event"]
        assert len(events) == len(list(vendor.list_events(rec.vendor_job_id)))
