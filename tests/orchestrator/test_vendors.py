"""One OpenAI-format dataset to all four vendors through the sandbox, the vendors' own price
quotes in the budget guard, and `tuneops migrate` from a finished OpenAI job to each vendor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.orchestrator._data import EXAMPLE, MODEL
from tuneops.cli import cli

pytestmark = pytest.mark.usefixtures("home")

TARGETS = {
    "openai": MODEL,
    "mistral": "open-mistral-7b",
    "together": "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
    "vertex": "gemini-2.5-flash",
}
# Google publishes no per-token tuning price we could confirm, so the bundled table has no Vertex
# row; a user's own table (here, the state dir's prices.toml) fills the gap.
USER_PRICES = """
[[price]]
provider = "vertex"
model = "gemini-2.5-flash"
match = "exact"
method = "*"
price_per_1m_tokens = 5.0
currency = "USD"
source = "our contract with Google (test)"
as_of = "2026-11-28"
"""


def run(*args: str) -> Any:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_one_dataset_to_all_four_vendors(db_url: str, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "prices.toml").write_text(USER_PRICES)
    done = {}
    for provider, model in TARGETS.items():
        doc = run("submit", str(EXAMPLE), "--provider", provider, "--model", model, "--epochs", "2",
                  "--sandbox", "--wait", "--yes", "--json", "--db", db_url)
        assert doc["status"] == "succeeded" and doc["fine_tuned_model"], doc
        assert doc["trained_tokens"] > 0 and doc["billed_cost"] > 0 and doc["currency"] == "USD"
        done[provider] = doc
    assert "tool_call_ids_remapped" in done["mistral"]["conversion"]["changes"]
    assert "conversion" in done["vertex"] and "conversion" not in done["openai"]
    assert done["together"]["cost_basis"] == done["mistral"]["cost_basis"] == "vendor"
    assert "price table" in done["vertex"]["cost_basis"]

    listed = {r["provider"]: r for r in run("list", "--json", "--db", db_url)}
    assert {p: r["fine_tuned_model"] for p, r in listed.items()} == {
        p: d["fine_tuned_model"] for p, d in done.items()}
    costs = run("costs", "--include-sandbox", "--json", "--db", db_url)
    groups = {g["group"]: g for g in costs["groups"]}
    assert set(groups) == set(TARGETS)
    for provider, doc in done.items():
        assert groups[provider]["billed_tokens"] == doc["trained_tokens"]
        assert groups[provider]["billed"]["USD"] == pytest.approx(doc["billed_cost"])


@pytest.mark.parametrize("provider", ["mistral", "together"])
def test_the_vendors_quote_drives_the_budget_guard(db_url: str, provider: str) -> None:
    args = ["submit", str(EXAMPLE), "--provider", provider, "--model", TARGETS[provider],
            "--epochs", "2", "--sandbox", "--yes", "--json", "--db", db_url]
    ok = run(*args)
    quoted = ok["estimated_cost"]
    assert quoted > 0
    res = CliRunner().invoke(cli, [*args, "--max-cost", str(quoted * 0.99)])
    assert res.exit_code == 2
    assert "quotes" in res.output or "estimated cost" in res.output
    assert [r["id"] for r in run("list", "--all", "--json", "--db", db_url)] == [ok["id"]]


def test_migrate_a_finished_openai_job_to_each_vendor(db_url: str) -> None:
    from tuneops.datasets.engine import ValidationOptions, validate_file
    from tuneops.orchestrator import Ledger
    from tuneops.paths import state_dir

    source = run("submit", str(EXAMPLE), "--provider", "openai", "--model", MODEL,
                 "--batch-size", "4", "--lr-multiplier", "2", "--sandbox", "--wait", "--yes",
                 "--json", "--db", db_url)
    assert source["status"] == "succeeded"
    resolved_epochs = source["hyperparameters_resolved"]["n_epochs"]

    plan = run("migrate", source["id"], "--to", "together", "--model", TARGETS["together"],
               "--dry-run", "--json", "--db", db_url)
    assert plan["carried"] == {"epochs": resolved_epochs, "batch_size": 4}
    assert "absolute learning rate" in plan["dropped"]["learning_rate_multiplier"]

    expected = {"mistral": ({"epochs"}, {"batch_size", "learning_rate_multiplier"}),
                "together": ({"epochs", "batch_size"}, {"learning_rate_multiplier"}),
                "vertex": ({"epochs", "learning_rate_multiplier"}, {"batch_size"})}
    children = []
    for target, (carried, dropped) in expected.items():
        doc = run("migrate", source["vendor_job_id"], "--to", target, "--model", TARGETS[target],
                  "--sandbox", "--wait", "--yes", "--json", "--db", db_url)
        assert doc["status"] == "succeeded" and doc["fine_tuned_model"], doc
        assert doc["parent_id"] == source["id"] and doc["provider"] == target
        assert set(doc["migration"]["carried"]) == carried
        assert set(doc["migration"]["dropped"]) == dropped
        assert doc["hyperparameters_requested"]["epochs"] == resolved_epochs
        children.append(doc["id"])
        # what was uploaded is the converted data, and it passes the target's rules
        converted = sorted((state_dir() / "converted").glob(f"*-{target}-sft.jsonl"))
        assert converted, f"nothing converted for {target}"
        report = validate_file(converted[-1], ValidationOptions(provider=target, method="sft"))
        assert report.errors == 0 and report.stats.valid_examples == 60
        report.close()

    shown = run("show", source["id"], "--json", "--db", db_url)
    assert [c["id"] for c in shown["lineage"]["migrated_to"]] == children
    child = run("show", children[0], "--json", "--db", db_url)
    assert [p["id"] for p in child["lineage"]["migrated_from"]] == [source["id"]]
    res = CliRunner().invoke(cli, ["show", children[0], "--db", db_url])
    assert f"from {source['id']}" in res.output
    with Ledger.open(db_url) as ledger:
        assert [c.id for c in ledger.children(source["id"])] == children


def test_migrate_refuses_clearly(db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_bytes(EXAMPLE.read_bytes())
    source = run("submit", str(data), "--provider", "openai", "--model", MODEL, "--sandbox",
                 "--yes", "--json", "--db", db_url)
    res = CliRunner().invoke(cli, ["migrate", source["id"], "--to", "bedrock", "--model", "x",
                                   "--db", db_url])
    assert res.exit_code == 2 and "cannot migrate to 'bedrock'" in res.output
    data.write_text(data.read_text() + "\n")
    res = CliRunner().invoke(cli, ["migrate", source["id"], "--to", "mistral", "--model",
                                   TARGETS["mistral"], "--db", db_url, "--sandbox"])
    assert res.exit_code != 0 and "has changed since the job was submitted" in res.output
    assert "Traceback" not in res.output


def test_estimate_asks_the_vendor_for_its_quote(db_url: str) -> None:
    doc = run("estimate", str(EXAMPLE), "--provider", "mistral", "--model", TARGETS["mistral"],
              "--epochs", "2", "--quote", "--sandbox", "--json", "--db", db_url)
    assert doc["vendor_quote"]["cost"] > 0 and doc["estimate"] is None  # no Mistral row for it
    sub = run("submit", str(EXAMPLE), "--provider", "mistral", "--model", TARGETS["mistral"],
              "--epochs", "2", "--sandbox", "--yes", "--json", "--db", db_url)
    assert sub["estimated_cost"] == doc["vendor_quote"]["cost"]
    assert run("list", "--all", "--json", "--db", db_url)[0]["id"] == sub["id"]  # quote made no job
    res = CliRunner().invoke(cli, ["estimate", str(EXAMPLE), "--provider", "openai", "--model",
                                   MODEL, "--quote", "--sandbox", "--db", db_url])
    assert res.exit_code != 0 and "no price quote" in res.output
