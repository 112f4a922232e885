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
# what else reaches Vertex (or Google's credential chain) from the environment: the Vertex tests
# start with none of it, so the printed settings alone must be enough
GOOGLE_VARS = ("GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "TUNEOPS_VERTEX_BUCKET",
               "TUNEOPS_VERTEX_ACCESS_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "GCLOUD_PROJECT",
               "GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI",
               "GOOGLE_GENAI_USE_ENTERPRISE", "API_ENDPOINT_OVERRIDE")


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
    from tuneops.providers.sandbox.app import APIS, CLIENT_SETTINGS

    with SandboxServer(Sandbox(tmp_path / "s")) as server:
        for vendor, items in server.client_settings().items():
            assert items, vendor
            table = {var: value for var, value, _ in CLIENT_SETTINGS[vendor]}
            for item in items:
                if table[item["name"]].startswith("/"):  # a URL setting: on this server
                    assert item["value"].startswith(server.url)
                    assert item["value"] == server.url + table[item["name"]]
                else:  # a plain value: given as it is, and no web address (those are paths)
                    assert item["value"] == table[item["name"]]
                    assert not item["value"].startswith(("http://", "https://", server.url))

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


def _vertex_settings(served: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The printed Vertex settings set in the environment, and nothing else of Google's: no ADC
    (no key file, an empty gcloud config), no project, no bucket."""
    for var in GOOGLE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(Path(served.sandbox.store.directory) / "no-gcloud"))
    settings = {i["name"]: i["value"] for i in served.client_settings()["vertex"]}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings


def test_the_vertex_settings_are_the_sandbox_ones() -> None:
    """The plain values are those the adapter's --sandbox mode and the emulator use."""
    from tuneops.providers import vertex
    from tuneops.providers.sandbox.app import CLIENT_SETTINGS
    from tuneops.providers.sandbox.vertex_gcs import BUCKETS

    table = {var: value for var, value, _ in CLIENT_SETTINGS["vertex"]}
    assert table["GOOGLE_CLOUD_PROJECT"] == vertex.SANDBOX_PROJECT
    assert table["GOOGLE_CLOUD_LOCATION"] == vertex.SANDBOX_LOCATION
    assert table["TUNEOPS_VERTEX_BUCKET"] == vertex.SANDBOX_BUCKET
    assert vertex.parse_bucket(table["TUNEOPS_VERTEX_BUCKET"])[0] in BUCKETS
    assert vertex.TOKEN_ENV in table


def test_tuneops_reaches_the_served_vertex_sandbox_with_the_printed_settings(
        served: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ADC, no project, no bucket, no --sandbox: only what `sandbox serve` prints."""
    settings = _vertex_settings(served, monkeypatch)
    from tuneops.providers.vertex import VertexProvider

    assert VertexProvider.credentials_status()[0] == (
        "env:TUNEOPS_VERTEX_ACCESS_TOKEN (project tuneops-sandbox, location us-central1)")
    res = CliRunner().invoke(cli, ["submit", str(EXAMPLE), "--provider", "vertex", "--model",
                                   "gemini-2.5-flash", "--epochs", "2", "--yes", "--wait", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "succeeded" and doc["fine_tuned_model"], doc
    assert doc["sandbox"] is False and doc["hyperparameters_resolved"]["epoch_count"] == 2
    assert doc["training_file_id"].startswith(settings["TUNEOPS_VERTEX_BUCKET"] + "/")
    # recorded at the served endpoint, not at {location}-aiplatform.googleapis.com
    assert doc["endpoint"].startswith(served.url), doc["endpoint"]
    # the token is a secret: nothing shown carries it
    assert settings["TUNEOPS_VERTEX_ACCESS_TOKEN"] not in res.output
    # and the served sandbox, not the in-process one, holds the job (the SDK test below finds
    # the uploaded file there too)
    name = doc["vendor_job_id"].rsplit("/", 1)[-1]
    with httpx2.Client() as http:
        got = http.get(f"{settings['GOOGLE_VERTEX_BASE_URL']}v1beta1/projects/p/locations/"
                       f"us-central1/tuningJobs/{name}", headers={"authorization": "Bearer x"})
        assert got.status_code == 200 and got.json()["state"] == "JOB_STATE_SUCCEEDED", got.text


def test_the_google_sdks_take_the_printed_vertex_settings(
        served: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """google-cloud-storage takes STORAGE_EMULATOR_HOST as it is; google-genai (Vertex mode)
    takes GOOGLE_VERTEX_BASE_URL from the environment and the token as its credentials."""
    import os

    from google import genai
    from google.cloud import storage  # type: ignore[import-untyped]
    from google.oauth2.credentials import Credentials

    settings = _vertex_settings(served, monkeypatch)
    res = CliRunner().invoke(cli, ["submit", str(EXAMPLE), "--provider", "vertex", "--model",
                                   "gemini-2.5-flash", "--yes", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)

    gcs = storage.Client()  # anonymous, at STORAGE_EMULATOR_HOST: no ADC needed
    assert gcs.project == settings["GOOGLE_CLOUD_PROJECT"]
    bucket = gcs.get_bucket(doc["training_file_id"].removeprefix("gs://").split("/", 1)[0])
    assert bucket.name == "tuneops-sandbox"
    bucket.blob("sdk-check.jsonl").upload_from_string(b'{"contents": []}\n', if_generation_match=0)
    blob = bucket.get_blob("sdk-check.jsonl")
    assert blob is not None and blob.size == 17
    gcs.close()

    client = genai.Client(vertexai=True, project=os.environ["GOOGLE_CLOUD_PROJECT"],
                          location=os.environ["GOOGLE_CLOUD_LOCATION"],
                          credentials=Credentials(  # type: ignore[no-untyped-call]
                              token=os.environ["TUNEOPS_VERTEX_ACCESS_TOKEN"]))
    jobs = list(client.tunings.list())
    assert [j.name for j in jobs] == [doc["vendor_job_id"]]
    assert jobs[0].base_model == "gemini-2.5-flash"
    assert client.tunings.get(name=doc["vendor_job_id"]).name == doc["vendor_job_id"]
    client.close()


def test_served_storage_finds_an_object_under_a_prefix(
        served: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from google.cloud import storage

    _vertex_settings(served, monkeypatch)
    gcs = storage.Client()
    bucket = gcs.bucket("tuneops-sandbox")
    bucket.blob("tuneops/a.jsonl").upload_from_string(b"{}\n", if_generation_match=0)
    try:
        assert bucket.blob("tuneops/a.jsonl").exists()
    finally:
        gcs.close()
