"""`tuneops costs` and `tuneops export` over a ledger with finished sandbox jobs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.orchestrator._data import EXAMPLE, MODEL
from tuneops.cli import cli
from tuneops.orchestrator import Ledger, Orchestrator, SubmitRequest

pytestmark = pytest.mark.usefixtures("home")


@pytest.fixture
def ledger_with_jobs(db_url: str) -> list[str]:
    with Orchestrator(Ledger.open(db_url), sandbox=True, sleep=lambda s: None) as o:
        ids = [o.wait(o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL)).id,
                      timeout=60).id for _ in range(2)]
        o.ledger.record_intent(provider="openai", base_model=MODEL, sandbox=True)  # not billed
    return ids


def test_costs_estimated_and_billed_side_by_side(db_url: str, ledger_with_jobs: list[str]) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["costs", "--db", db_url, "--include-sandbox", "--json"])
    assert res.exit_code == 0, res.output
    (group,) = json.loads(res.output)["groups"]
    assert group["group"] == "openai" and group["jobs"] == 3 and group["billed_jobs"] == 2
    # the sandbox bills exactly the estimated tokens, at the same price
    assert group["billed"]["USD"] == pytest.approx(group["estimated"]["USD"])
    assert group["billed_tokens"] == 2 * 20_937
    res = runner.invoke(cli, ["costs", "--db", db_url, "--include-sandbox", "--by", "model"])
    assert f"openai:{MODEL}" in res.output and "1 not billed yet" in res.output
    res = runner.invoke(cli, ["costs", "--db", db_url])
    assert "sandbox jobs are left out" in res.output


def test_export_jsonl_and_csv(db_url: str, ledger_with_jobs: list[str], tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["export", "--db", db_url])
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert len(rows) == 3 and {r["id"] for r in rows} >= set(ledger_with_jobs)
    out = tmp_path / "jobs.csv"
    res = runner.invoke(cli, ["export", "--db", db_url, "--format", "csv", "-o", str(out)])
    assert res.exit_code == 0, res.output
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(table) == 3 and all(r["provider"] == "openai" for r in table)
    assert sum(1 for r in table if r["fine_tuned_model"]) == 2
