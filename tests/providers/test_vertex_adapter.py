"""The Vertex adapter's pure parts (state mapping, job translation, error mapping, references),
its refusals and configuration messages, and GCS de-duplication over the sandbox. No network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
import requests
from google.api_core import exceptions as core_exc
from google.genai import errors as genai_errors
from google.genai import tunings, types
from google.oauth2.credentials import Credentials

from tuneops.errors import (
    AuthError,
    InvalidRequestError,
    MalformedResponseError,
    MissingCredentialsError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    UsageError,
    VendorConnectionError,
    VendorServerError,
    VendorTimeoutError,
    error_class_for_status,
)
from tuneops.providers.models import JobSpec
from tuneops.providers.sandbox import SandboxTransport
from tuneops.providers.vertex import (
    REF_LABEL,
    VertexProvider,
    client_ref_of,
    job_from_vertex,
    label_value,
    parse_bucket,
    status_from_vertex,
    vendor_errors,
)

_ENV = ("GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GEMINI_API_KEY", "GOOGLE_API_KEY",
        "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE", "TUNEOPS_VERTEX_BUCKET",
        "TUNEOPS_SANDBOX_FAULTS")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # no tuneops.toml from the working tree


def genai_dump(camel: dict[str, Any]) -> dict[str, Any]:
    """What the adapter sees: a REST TuningJob read by google-genai's own converter and types."""
    job = types.TuningJob._from_response(response=tunings._TuningJob_from_vertex(camel), kwargs={})
    raw: dict[str, Any] = job.model_dump(mode="json", exclude_none=True)
    return raw


SUCCEEDED = {
    "name": "projects/123/locations/us-central1/tuningJobs/456",
    "tunedModelDisplayName": "support-bot [tn-abc1234]",
    "baseModel": "gemini-2.5-flash",
    "createTime": "2026-11-28T10:00:00.123456Z",
    "startTime": "2026-11-28T10:05:00Z",
    "endTime": "2026-11-28T11:00:00Z",
    "state": "JOB_STATE_SUCCEEDED",
    "labels": {REF_LABEL: "tn-abc1234", "team": "search"},
    "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/p/x.jsonl",
                             "hyperParameters": {"epochCount": "3", "adapterSize": "ADAPTER_SIZE_FOUR",
                                                 "learningRateMultiplier": 1.0}},
    "tuningDataStats": {"supervisedTuningDataStats": {"totalBillableTokenCount": "123456789012",
                                                      "tuningDatasetExampleCount": "500"}},
    "tunedModel": {"model": "projects/123/locations/us-central1/models/9@1",
                   "endpoint": "projects/123/locations/us-central1/endpoints/8"},
}


@pytest.mark.parametrize(("state", "expected"), [
    ("JOB_STATE_QUEUED", "queued"), ("JOB_STATE_PENDING", "pending"), ("JOB_STATE_RUNNING", "running"),
    ("JOB_STATE_UPDATING", "running"), ("JOB_STATE_CANCELLING", "running"), ("JOB_STATE_PAUSED", "pending"),
    ("JOB_STATE_SUCCEEDED", "succeeded"), ("JOB_STATE_PARTIALLY_SUCCEEDED", "succeeded"),
    ("JOB_STATE_FAILED", "failed"), ("JOB_STATE_EXPIRED", "failed"), ("JOB_STATE_CANCELLED", "cancelled"),
    ("JOB_STATE_UNSPECIFIED", "pending"), ("JOB_STATE_SOMETHING_NEW", "pending"),
])
def test_every_job_state_is_mapped(state: str, expected: str) -> None:
    status, warning = status_from_vertex(state)
    assert status == expected
    if state in ("JOB_STATE_UNSPECIFIED", "JOB_STATE_SOMETHING_NEW"):
        assert warning and state in warning


def test_the_tuning_detail_refines_a_running_job() -> None:
    assert status_from_vertex("JOB_STATE_RUNNING", "TUNING_JOB_STATE_PROCESSING_DATASET")[0] == "validating"
    assert status_from_vertex("JOB_STATE_PENDING", "TUNING_JOB_STATE_WAITING_FOR_QUOTA")[0] == "queued"
    assert status_from_vertex("JOB_STATE_SUCCEEDED", "TUNING_JOB_STATE_TUNING")[0] == "succeeded"


def test_a_succeeded_job_from_a_genai_payload() -> None:
    job = job_from_vertex(genai_dump(SUCCEEDED))
    assert job.provider == "vertex" and job.id == SUCCEEDED["name"]
    assert job.status == "succeeded" and job.is_final and job.method == "sft"
    assert job.fine_tuned_model == "projects/123/locations/us-central1/endpoints/8"
    assert job.raw["tuned_model"]["model"].endswith("models/9@1")
    assert job.trained_tokens == 123456789012  # an int64 that arrived as a JSON string
    assert job.hyperparameters["epoch_count"] == 3
    assert job.client_ref == "tn-abc1234"
    assert job.training_file == "gs://b/p/x.jsonl"
    assert job.created_at is not None and job.created_at.year == 2026 and job.finished_at is not None


def test_string_int64_values_in_a_plain_dict_are_read_too() -> None:
    raw = {"name": "n", "state": "JOB_STATE_RUNNING",
           "preference_optimization_spec": {"hyper_parameters": {"epoch_count": "2", "beta": 0.2}},
           "tuning_data_stats": {"preference_optimization_data_stats": {"total_billable_token_count": "77"}}}
    job = job_from_vertex(raw)
    assert job.method == "dpo" and job.trained_tokens == 77 and job.hyperparameters["epoch_count"] == 2


def test_a_failed_job_carries_its_error() -> None:
    camel = {**SUCCEEDED, "state": "JOB_STATE_FAILED", "tunedModel": None,
             "error": {"code": 3, "message": "Invalid training dataset: line 5: bad role"}}
    job = job_from_vertex(genai_dump({k: v for k, v in camel.items() if v is not None}))
    assert job.status == "failed" and job.error is not None
    assert job.error.kind == "data" and job.error.code == "3" and "line 5" in job.error.message


def test_a_succeeded_job_without_a_model_is_not_final_yet() -> None:
    camel = {k: v for k, v in SUCCEEDED.items() if k != "tunedModel"}
    assert not job_from_vertex(genai_dump(camel)).is_final


def test_an_unreadable_job_is_a_malformed_response() -> None:
    with pytest.raises(MalformedResponseError) as info:
        job_from_vertex({"state": "JOB_STATE_RUNNING"})  # no name
    assert info.value.__cause__ is not None


def test_references_survive_gcp_label_rules() -> None:
    assert label_value("tn-abc1234") == "tn-abc1234"
    odd = "Run#7/Ünïcode"
    assert label_value(odd).startswith("h-") and len(label_value(odd)) <= 63
    assert client_ref_of(f"my model [{odd}]", {REF_LABEL: label_value(odd)}) == odd
    assert client_ref_of("renamed by hand", {REF_LABEL: "tn-1"}) == "tn-1"
    assert client_ref_of("renamed by hand", {REF_LABEL: label_value(odd)}) is None
    assert client_ref_of("someone else's [x]", {REF_LABEL: "tn-2"}) == "tn-2"
    assert client_ref_of(None, None) is None


@pytest.mark.parametrize(("status", "cls"), [
    (400, InvalidRequestError), (401, AuthError), (403, AuthError), (404, NotFoundError),
    (409, InvalidRequestError), (412, InvalidRequestError), (429, RateLimitedError),
    (500, VendorServerError), (503, VendorServerError), (302, ProviderError),
])
def test_errors_map_by_http_status(status: int, cls: type[ProviderError]) -> None:
    assert error_class_for_status(status) is cls


def test_a_genai_error_is_mapped_with_its_retry_after() -> None:
    response = httpx2.Response(429, headers={"retry-after": "7"})
    body = {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
    with pytest.raises(RateLimitedError) as info, vendor_errors():
        raise genai_errors.ClientError(429, body, response)
    err = info.value
    assert err.retry_after == 7 and err.status_code == 429 and err.provider == "vertex"
    assert "Quota exceeded" in err.message and isinstance(err.__cause__, genai_errors.ClientError)


@pytest.mark.parametrize(("raised", "cls"), [
    (core_exc.NotFound("No such object: b/o"), NotFoundError),
    (core_exc.ServiceUnavailable("busy"), VendorServerError),
    (core_exc.Forbidden("no"), AuthError),
    (httpx2.ReadTimeout("slow"), VendorTimeoutError),
    (httpx2.RemoteProtocolError("gone"), VendorConnectionError),
    (requests.exceptions.ReadTimeout("slow"), VendorTimeoutError),
    (requests.exceptions.ConnectionError("gone"), VendorConnectionError),
])
def test_storage_and_transport_errors_are_mapped(raised: Exception, cls: type[ProviderError]) -> None:
    with pytest.raises(cls) as info, vendor_errors():
        raise raised
    assert info.value.__cause__ is raised


# -- configuration -------------------------------------------------------------------------------

CREDS = Credentials(token="fake-token-for-tests")


def test_a_gemini_api_key_alone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "not-a-real-key")
    with pytest.raises(UsageError) as info:
        VertexProvider(location="us-central1", credentials=CREDS)
    text = str(info.value)
    assert "Vertex" in text and "Developer API" in text and "GOOGLE_CLOUD_PROJECT" in text
    assert "not-a-real-key" not in text


def test_developer_api_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    with pytest.raises(UsageError, match="GOOGLE_GENAI_USE_VERTEXAI"):
        VertexProvider(project="p", location="us-central1", credentials=CREDS)


def test_a_missing_location_says_how_to_set_it() -> None:
    with pytest.raises(UsageError) as info:
        VertexProvider(project="p", credentials=CREDS)
    assert "GOOGLE_CLOUD_LOCATION" in str(info.value)


def test_a_missing_project_says_how_to_set_it() -> None:
    with pytest.raises(UsageError) as info:
        VertexProvider(location="us-central1", credentials=CREDS)
    assert "GOOGLE_CLOUD_PROJECT" in str(info.value)


def test_missing_credentials_say_how_to_get_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    import google.auth.exceptions

    def no_adc(**_: Any) -> Any:
        raise google.auth.exceptions.DefaultCredentialsError("no ADC here")

    monkeypatch.setattr(google.auth, "default", no_adc)
    with pytest.raises(MissingCredentialsError) as info:
        VertexProvider(project="p", location="us-central1")
    assert "gcloud auth application-default login" in str(info.value)
    assert info.value.__cause__ is not None


def test_project_and_location_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "env-project")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
    p = VertexProvider(credentials=CREDS)
    assert (p.project, p.location) == ("env-project", "europe-west4")
    assert "fake-token" not in repr(p)
    p.close()


def test_a_missing_bucket_says_how_to_set_it(tmp_path: Path) -> None:
    p = VertexProvider(project="p", location="us-central1", credentials=CREDS)
    path = tmp_path / "x.jsonl"
    path.write_text("{}\n")
    with pytest.raises(UsageError) as info:
        p.upload_file(path)
    assert "TUNEOPS_VERTEX_BUCKET" in str(info.value) and "vertex_bucket" in str(info.value)


def test_the_bucket_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEOPS_VERTEX_BUCKET", "gs://my-bucket/some/prefix/")
    p = VertexProvider(project="p", location="us-central1", credentials=CREDS)
    assert p.bucket() == ("my-bucket", "some/prefix")


@pytest.mark.parametrize("bad", ["s3://b/x", "my-bucket", "gs://", "gs://UPPER/x"])
def test_a_bucket_must_be_a_gs_uri(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_bucket(bad)


def test_the_create_config_carries_method_hyperparameters_and_reference() -> None:
    p = VertexProvider(project="p", location="us-central1", credentials=CREDS)
    spec = JobSpec(base_model="gemini-2.5-flash", training_file="gs://b/x.jsonl", method="dpo",
                   epochs=2, beta=0.3, learning_rate_multiplier=0.5, client_ref="tn-xyz",
                   suffix="bot", labels={"Team": "Search Ops"}, extra={"adapter_size": 4})
    config = p._config(spec)
    assert config.method == "PREFERENCE_TUNING" and config.epoch_count == 2 and config.beta == 0.3
    assert config.adapter_size == "ADAPTER_SIZE_FOUR" and config.learning_rate_multiplier == 0.5
    assert config.tuned_model_display_name == "bot [tn-xyz]"
    assert config.labels is not None and config.labels[REF_LABEL] == "tn-xyz"
    assert set(config.labels) == {REF_LABEL, "team"}
    with pytest.raises(UsageError):
        p._config(spec.model_copy(update={"batch_size": 8}))
    with pytest.raises(UsageError):
        p._config(spec.model_copy(update={"extra": {"adapter_size": 3}}))


# -- GCS de-duplication over the sandbox ----------------------------------------------------------

def test_the_same_content_is_uploaded_once(tmp_path: Path) -> None:
    transport = SandboxTransport(tmp_path / "state", faults="", speed=1000, seed=1)
    seen: list[tuple[str, str]] = []
    dispatch = transport.sandbox.dispatch

    def record(request: Any) -> Any:
        seen.append((request.method, request.path))
        return dispatch(request)

    transport.sandbox.dispatch = record  # type: ignore[method-assign]
    p = VertexProvider.sandboxed(transport)
    rows = [{"contents": [{"role": "user", "parts": [{"text": "hi"}]},
                          {"role": "model", "parts": [{"text": "hello"}]}]}]
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"  # another name, same bytes
    for path in (a, b):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    first = p.upload_file(a)
    uploads = [s for s in seen if s[1].startswith("/vertex/upload/")]
    assert len(uploads) == 1 and not first.raw["reused"]
    second = p.upload_file(b)
    assert second.id == first.id and second.raw["reused"]
    assert [s for s in seen if s[1].startswith("/vertex/upload/")] == uploads  # no second upload
    assert first.id.startswith("gs://tuneops-sandbox/tuneops/") and first.raw["sha256"] in first.id
    assert not any(path.endswith("/b/tuneops-sandbox") for _, path in seen)  # no bucket metadata fetch
    p.close()
