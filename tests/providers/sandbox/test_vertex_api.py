"""The Vertex emulator: tuning job shapes (read back with google-genai's own types), states over
the sandbox clock, page tokens, Google error bodies, faults, and the fake Cloud Storage API as
google-cloud-storage drives it. Nothing here opens a socket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from google.api_core import exceptions as core_exc
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.genai import tunings, types

from tuneops.providers.sandbox import ManualClock, SandboxTransport
from tuneops.providers.sandbox.requests_transport import sandbox_session

BASE = "http://sandbox.tuneops/vertex"
JOBS = f"{BASE}/v1beta1/projects/tuneops-sandbox/locations/us-central1/tuningJobs"
AUTH = {"authorization": "Bearer any-token"}


def turn(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"text": text}]}


SFT = [{"contents": [turn("user", f"What is {i} + {i}?"), turn("model", str(2 * i))]} for i in range(12)]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def transport(tmp_path: Path, clock: ManualClock) -> SandboxTransport:
    return SandboxTransport(tmp_path / "state", faults="", speed=1.0, clock=clock, seed=5)


@pytest.fixture
def http(transport: SandboxTransport) -> httpx2.Client:
    return httpx2.Client(transport=transport)


@pytest.fixture
def gcs(transport: SandboxTransport) -> storage.Client:
    client = storage.Client(project="tuneops-sandbox", credentials=AnonymousCredentials(),
                            _http=sandbox_session(transport.sandbox),
                            client_options={"api_endpoint": BASE})
    client._bucket_metadata_cache = None  # no background bucket fetch (see the adapter)
    return client


def put(gcs: storage.Client, name: str, rows: list[dict[str, Any]]) -> str:
    data = "".join(json.dumps(r) + "\n" for r in rows)
    gcs.bucket("tuneops-sandbox").blob(name).upload_from_string(data, content_type="application/jsonl",
                                                                retry=None)
    return f"gs://tuneops-sandbox/{name}"


def as_genai(doc: dict[str, Any]) -> types.TuningJob:
    """Read a REST answer the way google-genai does (its converter, then its pydantic type)."""
    job: types.TuningJob = types.TuningJob._from_response(
        response=tunings._TuningJob_from_vertex(doc), kwargs={})
    return job


def create(http: httpx2.Client, uri: str, **extra: Any) -> dict[str, Any]:
    body = {"baseModel": "gemini-2.5-flash",
            "supervisedTuningSpec": {"trainingDatasetUri": uri, "hyperParameters": {"epochCount": 2}},
            "tunedModelDisplayName": "adder [tn-1]", "labels": {"tuneops_ref": "tn-1"}, **extra}
    r = http.post(JOBS, json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def get(http: httpx2.Client, name: str) -> dict[str, Any]:
    r = http.get(f"{BASE}/v1beta1/{name}", headers=AUTH)
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def test_a_job_moves_through_its_states(http: httpx2.Client, gcs: storage.Client,
                                        clock: ManualClock) -> None:
    job = create(http, put(gcs, "d/train.jsonl", SFT))
    assert job["state"] == "JOB_STATE_PENDING" and "tuningDataStats" not in job
    assert job["name"].startswith("projects/") and "/tuningJobs/" in job["name"]
    parsed = as_genai(job)
    assert parsed.state == types.JobState.JOB_STATE_PENDING
    assert parsed.tuned_model_display_name == "adder [tn-1]" and parsed.labels == {"tuneops_ref": "tn-1"}
    seen = [job["state"]]
    for _ in range(100):
        clock.advance(15)
        doc = get(http, job["name"])
        if doc["state"] != seen[-1]:
            seen.append(doc["state"])
        if doc["state"] == "JOB_STATE_SUCCEEDED":
            break
    assert seen == ["JOB_STATE_PENDING", "JOB_STATE_QUEUED", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]
    stats = doc["tuningDataStats"]["supervisedTuningDataStats"]
    assert isinstance(stats["totalBillableTokenCount"], str) and int(stats["totalBillableTokenCount"]) > 0
    assert doc["supervisedTuningSpec"]["hyperParameters"]["epochCount"] == "2"
    done = as_genai(doc)
    assert done.state == types.JobState.JOB_STATE_SUCCEEDED
    assert done.tuning_data_stats is not None and done.tuning_data_stats.supervised_tuning_data_stats
    assert done.tuning_data_stats.supervised_tuning_data_stats.total_billable_token_count == int(
        stats["totalBillableTokenCount"])
    assert done.tuned_model is not None and done.tuned_model.endpoint and done.tuned_model.model
    assert "/endpoints/" in done.tuned_model.endpoint and done.end_time and done.start_time


def test_a_bad_line_fails_the_job_naming_it(http: httpx2.Client, gcs: storage.Client,
                                            clock: ManualClock) -> None:
    rows = list(SFT)
    rows[4] = {"contents": [turn("user", "x"), turn("assistant", "y")]}
    job = create(http, put(gcs, "d/bad.jsonl", rows))
    clock.advance(60)
    doc = get(http, job["name"])
    assert doc["state"] == "JOB_STATE_FAILED" and doc["error"]["code"] == 3
    assert "line 5" in doc["error"]["message"]
    assert as_genai(doc).error is not None


def test_preference_jobs(http: httpx2.Client, gcs: storage.Client, clock: ManualClock) -> None:
    rows = [{"contents": [turn("user", f"Say {i}.")],
             "completions": [{"score": 1, "completion": turn("model", f"Sure: {i}.")},
                             {"score": 0, "completion": turn("model", f"{i}.")}]} for i in range(12)]
    uri = put(gcs, "d/pref.jsonl", rows)
    body = {"preferenceOptimizationSpec": {"trainingDatasetUri": uri,
                                           "hyperParameters": {"beta": 0.2, "epochCount": "1"}}}
    job = create(http, uri, supervisedTuningSpec=None, **body)
    clock.advance(10_000)
    doc = get(http, job["name"])
    assert doc["state"] == "JOB_STATE_SUCCEEDED"
    parsed = as_genai(doc)
    assert parsed.preference_optimization_spec is not None
    assert parsed.tuning_data_stats is not None
    assert parsed.tuning_data_stats.preference_optimization_data_stats is not None


def test_cancel_goes_through_cancelling(http: httpx2.Client, gcs: storage.Client, clock: ManualClock) -> None:
    job = create(http, put(gcs, "d/train.jsonl", SFT))
    r = http.post(f"{BASE}/v1beta1/{job['name']}:cancel", headers=AUTH)
    assert r.status_code == 200 and r.json() == {}
    assert get(http, job["name"])["state"] == "JOB_STATE_CANCELLING"
    assert http.post(f"{BASE}/v1beta1/{job['name']}:cancel", headers=AUTH).status_code == 200
    clock.advance(60)
    doc = get(http, job["name"])
    assert doc["state"] == "JOB_STATE_CANCELLED" and "endTime" in doc


def test_list_pages_with_tokens(http: httpx2.Client, gcs: storage.Client) -> None:
    uri = put(gcs, "d/train.jsonl", SFT)
    names = [create(http, uri)["name"] for _ in range(5)]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        r = http.get(JOBS, params={"pageSize": 2, **({"pageToken": token} if token else {})}, headers=AUTH)
        assert r.status_code == 200
        page = r.json()
        parsed = types.ListTuningJobsResponse._from_response(
            response=tunings._ListTuningJobsResponse_from_vertex(page), kwargs={})
        seen += [j.name for j in parsed.tuning_jobs or [] if j.name]
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            break
    assert pages == 3 and seen == names[::-1]  # newest first
    bad = http.get(JOBS, params={"pageToken": "bm90LWEtam9i"}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["error"]["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize(("change", "status", "rpc"), [
    ({"baseModel": "gpt-4o"}, 400, "INVALID_ARGUMENT"),
    ({"supervisedTuningSpec": {"trainingDatasetUri": "gs://tuneops-sandbox/none.jsonl"}}, 400,
     "INVALID_ARGUMENT"),
    ({"labels": {"tuneops_ref": "Not Valid!"}}, 400, "INVALID_ARGUMENT"),
    ({"distillationSpec": {}}, 501, "NOT_IMPLEMENTED"),
])
def test_refused_creates_have_google_error_bodies(http: httpx2.Client, gcs: storage.Client,
                                                  change: dict[str, Any], status: int, rpc: str) -> None:
    uri = put(gcs, "d/train.jsonl", SFT)
    body = {"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": uri}, **change}
    r = http.post(JOBS, json=body, headers=AUTH)
    assert r.status_code == status
    error = r.json()["error"]
    assert error["code"] == status and error["status"] == rpc and error["message"]


def test_unknown_jobs_and_missing_auth(http: httpx2.Client) -> None:
    r = http.get(f"{JOBS}/42", headers=AUTH)
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"
    r = http.get(f"{JOBS}/42")
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"


def test_cancelling_a_finished_job_is_a_failed_precondition(http: httpx2.Client, gcs: storage.Client,
                                                            clock: ManualClock) -> None:
    job = create(http, put(gcs, "d/train.jsonl", SFT))
    clock.advance(10_000)
    r = http.post(f"{BASE}/v1beta1/{job['name']}:cancel", headers=AUTH)
    assert r.status_code == 400 and r.json()["error"]["status"] == "FAILED_PRECONDITION"


@pytest.mark.parametrize(("fault", "status", "rpc"), [
    ("429=1", 429, "RESOURCE_EXHAUSTED"), ("500=1", 500, "INTERNAL"), ("503=1", 503, "UNAVAILABLE")])
def test_injected_faults(tmp_path: Path, fault: str, status: int, rpc: str) -> None:
    http = httpx2.Client(transport=SandboxTransport(tmp_path / "s", faults=f"{fault},retry_after=3"))
    r = http.get(f"{JOBS}/42", headers=AUTH)
    assert r.status_code == status and r.json()["error"]["status"] == rpc
    if status == 429:
        assert r.headers["retry-after"] == "3"


# -- Cloud Storage -------------------------------------------------------------------------------

def test_gcs_multipart_upload_metadata_and_exists(gcs: storage.Client) -> None:
    blob = gcs.bucket("tuneops-sandbox").blob("a/b c.jsonl")
    assert not blob.exists(retry=None)
    blob.upload_from_string(b'{"x": 1}\n', content_type="application/jsonl", if_generation_match=0,
                            retry=None)
    assert blob.exists(retry=None)
    again = gcs.bucket("tuneops-sandbox").get_blob("a/b c.jsonl", retry=None)
    assert again is not None and again.size == 9 and again.content_type == "application/jsonl"
    assert again.crc32c and again.md5_hash and again.generation
    assert again.download_as_bytes(retry=None) == b'{"x": 1}\n'
    with pytest.raises(core_exc.PreconditionFailed):
        blob.upload_from_string(b"other", if_generation_match=0, retry=None)


def test_gcs_resumable_upload_of_a_large_file(gcs: storage.Client, tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    line = json.dumps(SFT[0]) + "\n"
    path.write_text(line * (9 * 1024 * 1024 // len(line) + 1))  # over the 8 MiB multipart limit
    blob = gcs.bucket("tuneops-sandbox").blob("big.jsonl", chunk_size=4 * 1024 * 1024)
    blob.upload_from_filename(str(path), content_type="application/jsonl", retry=None)
    stored = gcs.bucket("tuneops-sandbox").get_blob("big.jsonl", retry=None)
    assert stored is not None and stored.size == path.stat().st_size
    assert stored.download_as_bytes(retry=None) == path.read_bytes()


def test_gcs_errors(gcs: storage.Client, http: httpx2.Client) -> None:
    with pytest.raises(core_exc.NotFound):
        gcs.bucket("no-such-bucket").blob("x").upload_from_string(b"x", retry=None)
    r = http.get(f"{BASE}/storage/v1/b/tuneops-sandbox/o/missing")
    error = r.json()["error"]
    assert r.status_code == 404 and error["errors"][0]["reason"] == "notFound"
    boundary = "b1"
    body = (f"--{boundary}\r\ncontent-type: application/json\r\n\r\n"
            '{"name": "c.jsonl", "crc32c": "AAAAAA=="}'
            f"\r\n--{boundary}\r\ncontent-type: text/plain\r\n\r\nhello\r\n--{boundary}--")
    r = http.post(f"{BASE}/upload/storage/v1/b/tuneops-sandbox/o", params={"uploadType": "multipart"},
                  content=body, headers={"content-type": f'multipart/related; boundary="{boundary}"'})
    assert r.status_code == 400 and "CRC32C" in r.json()["error"]["message"]
