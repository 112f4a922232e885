"""`tuneops sandbox serve` prints, per vendor, the settings that point tuneops and the vendor's SDK
at it: with exactly those (and any key), `tuneops submit` without --sandbox reaches the served
sandbox over loopback, and so does the vendor's official SDK."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner

from tests.orchestrator._data import EXAMPLE, MODEL
from tuneops.cli import cli
from tuneops.providers.registry import provider_class
from tuneops.providers.sandbox import Sandbox
from tuneops.providers.sandbox.server import SandboxServer

TARGETS = {
    "openai": MODEL,
    "mistral": "open-mistral-7b",
    "together": "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
}
ENDPOINT_VARS = ("OPENAI_BASE_URL", "MISTRAL_BASE_URL", "TOGETHER_BASE_URL", "GOOGLE_VERTEX_BASE_URL",
                 "STORAGE_EMULATOR_HOST", "TUNEOPS_SANDBOX_FAULTS", "TUNEOPS_DB")


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for var in ENDPOINT_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    with SandboxServer(Sandbox(tmp_path / "served", speed=5000)) as server:
        yield server


@pytest.mark.parametrize("vendor", sorted(TARGETS))
def test_tuneops_reaches_the_served_sandbox_with_the_printed_settings(
        vendor: str, served: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = served.client_settings()[vendor]
    assert settings, vendor
    for item in settings:
        monkeypatch.setenv(item["name"], item["value"])
    monkeypatch.setenv(provider_class(vendor).key_env, "test-key-0123456789")
    res = CliRunner().invoke(cli, ["submit", str(EXAMPLE), "--provider", vendor, "--model",
                                   TARGETS[vendor], "--yes", "--wait", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "succeeded" and doc["fine_tuned_model"], doc
    # the job was recorded at the served endpoint, not at the vendor's
    assert doc["endpoint"].startswith(served.url), doc["endpoint"]
    # and the served sandbox, not the in-process one, holds it
    with httpx2.Client() as http:
        assert http.get(served.url + "/_sandbox/health").status_code == 200


def test_the_official_sdks_take_the_same_settings(served: SandboxServer) -> None:
    settings = {v: {i["name"]: i["value"] for i in items}
                for v, items in served.client_settings().items()}
    import openai
    from mistralai.client import Mistral

    client = openai.OpenAI(api_key="sk-test", base_url=settings["openai"]["OPENAI_BASE_URL"],
                           max_retries=0)
    assert list(client.fine_tuning.jobs.list()) == []
    sdk = Mistral(api_key="test", server_url=settings["mistral"]["MISTRAL_BASE_URL"])
    assert sdk.files.list().total == 0


def test_serve_prints_every_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The text output carries each setting as an `export` line (what a user copies)."""
    with SandboxServer(Sandbox(tmp_path / "s")) as server:
        for vendor, items in server.client_settings().items():
            assert items, vendor
            for item in items:
                assert item["value"].startswith(server.url)
    from tuneops.providers.sandbox.app import APIS, CLIENT_SETTINGS

    assert set(CLIENT_SETTINGS) == set(APIS)


@pytest.mark.parametrize("vendor", ["mistral", "together"])
def test_a_job_is_followed_where_it_was_sent(vendor: str, served: SandboxServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Submitted to the served sandbox, then the environment points elsewhere (nothing listens
    there): `watch` and `status` still ask the endpoint the job was sent to."""
    for item in served.client_settings()[vendor]:
        monkeypatch.setenv(item["name"], item["value"])
    monkeypatch.setenv(provider_class(vendor).key_env, "test-key-0123456789")
    runner = CliRunner()
    res = runner.invoke(cli, ["submit", str(EXAMPLE), "--provider", vendor, "--model",
                              TARGETS[vendor], "--yes", "--json"])
    assert res.exit_code == 0, res.output
    job_id = json.loads(res.stdout)["id"]
    for item in served.client_settings()[vendor]:
        monkeypatch.setenv(item["name"], "http://127.0.0.1:9/nothing-here")
    res = runner.invoke(cli, ["watch", job_id, "--timeout", "120", "--json"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["status", job_id, "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "succeeded" and doc["endpoint"].startswith(served.url), doc
