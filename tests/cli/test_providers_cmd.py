"""`tuneops providers`: what works where, with dates, and where credentials come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tuneops.cli import cli

FAKE = "sk-tuneops-providers-cmd-fake-0000"


@pytest.fixture(autouse=True)
def _clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    for var in ("OPENAI_API_KEY", "MISTRAL_API_KEY", "TOGETHER_API_KEY",
                "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION"):
        monkeypatch.delenv(var, raising=False)


def providers_json() -> dict[str, dict[str, object]]:
    res = CliRunner().invoke(cli, ["providers", "--json"])
    assert res.exit_code == 0, res.output
    return {p["name"]: p for p in json.loads(res.output)}


def test_every_vendor_with_its_dated_facts() -> None:
    rows = providers_json()
    assert {n for n, r in rows.items() if r["adapter"]} == {"openai", "mistral", "together", "vertex"}
    notes = {n: " ".join(f"{x['date']} {x['text']}" for x in r["notes"])  # type: ignore[attr-defined]
             for n, r in rows.items()}
    assert "2027-01-06" in notes["openai"]
    assert "deprecated" in notes["mistral"] and "2.5.2" in notes["mistral"]
    assert "Vertex" in notes["vertex"] and "Developer API" in notes["vertex"]
    assert not rows["bedrock"]["adapter"] and "2026-09-10" in notes["bedrock"]
    assert rows["vertex"]["upload"] == "gcs" and rows["together"]["server_estimate"]


def test_credentials_are_located_never_shown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rows = providers_json()
    assert all(rows[n]["credentials"] is None for n in ("openai", "mistral", "together", "vertex"))
    assert "MISTRAL_API_KEY" in str(rows["mistral"]["credentials_hint"])
    assert "gcloud auth application-default login" in str(rows["vertex"]["credentials_hint"])
    monkeypatch.setenv("MISTRAL_API_KEY", FAKE)
    sa = tmp_path / "sa.json"
    sa.write_text("{}")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(sa))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "acme-ml")
    res = CliRunner().invoke(cli, ["providers"])
    assert res.exit_code == 0 and FAKE not in res.output
    rows = providers_json()
    assert rows["mistral"]["credentials"] == "env:MISTRAL_API_KEY"
    assert str(rows["vertex"]["credentials"]).startswith("env:GOOGLE_APPLICATION_CREDENTIALS")
    assert "acme-ml" in str(rows["vertex"]["credentials"])
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    assert "not a file" in str(providers_json()["vertex"]["credentials_hint"])


def test_gcloud_adc_file_is_found(tmp_path: Path) -> None:
    (tmp_path / "gcloud").mkdir()
    (tmp_path / "gcloud" / "application_default_credentials.json").write_text("{}")
    assert "gcloud" in str(providers_json()["vertex"]["credentials"])


def test_no_api_key_can_be_stored_for_vertex() -> None:
    res = CliRunner().invoke(cli, ["keys", "set", "vertex"], input="x\n")
    assert res.exit_code == 2 and "takes no API key" in res.output
