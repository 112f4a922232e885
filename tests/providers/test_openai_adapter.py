"""The OpenAI adapter without a server: pure translation, exact requests, error mapping, retries,
and never creating a job twice. HTTP goes to an injected httpx2.MockTransport (the SDK speaks
httpx2, so respx on httpx would not see it); nothing reaches the network."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx2
import pytest

from tuneops.errors import (
    AuthError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    VendorConnectionError,
    VendorServerError,
    VendorUnavailableError,
)
from tuneops.providers.models import JobSpec
from tuneops.providers.openai import OpenAIProvider, job_from_openai, status_from_openai
from tuneops.providers.retry import RetryPolicy

FAKE_KEY = "sk-tuneops-fake-key-0001"


def job_body(**over: Any) -> dict[str, Any]:
    """A `fine_tuning.job` as the published spec describes it (FineTuningJob schema)."""
    body: dict[str, Any] = {
        "object": "fine_tuning.job", "id": "ftjob-abc123", "model": "gpt-4o-mini-2024-07-18",
        "created_at": 1764300000, "finished_at": None, "fine_tuned_model": None,
        "organization_id": "org-123", "result_files": [], "status": "queued",
        "validation_file": None, "training_file": "file-abc123", "trained_tokens": None,
        "error": None, "seed": 42, "estimated_finish": None, "integrations": [],
        "hyperparameters": {"n_epochs": "auto", "batch_size": "auto",
                            "learning_rate_multiplier": "auto"},
        "method": {"type": "supervised", "supervised": {"hyperparameters": {
            "n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8}}},
        "metadata": {"tuneops_ref": "tn-0001", "team": "search"},
        "user_provided_suffix": "tn-0001",
    }
    body.update(over)
    return body


def test_translation_of_a_succeeded_job() -> None:
    job = job_from_openai(job_body(
        status="succeeded", fine_tuned_model="ft:gpt-4o-mini-2024-07-18:org:tn-0001:AbC",
        trained_tokens=123456, finished_at=1764303600))
    assert job.status == "succeeded" and job.raw_status == "succeeded" and job.is_final
    assert job.fine_tuned_model == "ft:gpt-4o-mini-2024-07-18:org:tn-0001:AbC"
    assert job.trained_tokens == 123456 and job.method == "sft"
    assert job.hyperparameters == {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8}
    assert job.client_ref == "tn-0001"
    assert job.created_at is not None and job.created_at.tzinfo is not None
    assert job.finished_at is not None and (job.finished_at - job.created_at).total_seconds() == 3600


def test_failed_job_error_is_classified() -> None:
    job = job_from_openai(job_body(status="failed", error={
        "code": "invalid_training_file", "message": "line 3: missing messages",
        "param": "training_file"}))
    assert job.status == "failed" and job.error is not None
    assert (job.error.kind, job.error.code, job.error.param) == (
        "data", "invalid_training_file", "training_file")


def test_succeeded_without_model_id_is_not_final() -> None:
    assert not job_from_openai(job_body(status="succeeded")).is_final


@pytest.mark.parametrize(("raw", "status"), [
    ("validating_files", "validating"), ("queued", "queued"), ("running", "running"),
    ("pausing", "running"), ("paused", "pending"), ("succeeded", "succeeded"),
    ("failed", "failed"), ("cancelled", "cancelled"),
])
def test_status_table(raw: str, status: str) -> None:
    assert status_from_openai(raw) == (status, None)


def test_unknown_status_is_kept_and_warned_about() -> None:
    job = job_from_openai(job_body(status="deploying"))
    assert job.status == "pending" and job.raw_status == "deploying" and not job.is_final
    assert "unknown OpenAI job status 'deploying'" in job.warnings[0]


def test_malformed_payload() -> None:
    with pytest.raises(MalformedResponseError):
        job_from_openai({"object": "fine_tuning.job"})


# ------------------------------------------------------------------------------ request level


class Vendor:
    """A scripted vendor: a list of responders, one per request, recording what was sent."""

    def __init__(self, *responders: Callable[[httpx2.Request], httpx2.Response]) -> None:
        self.responders = list(responders)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if not self.responders:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        return self.responders.pop(0)(request)


def reply(status: int, body: Any, headers: dict[str, str] | None = None
          ) -> Callable[[httpx2.Request], httpx2.Response]:
    return lambda req: httpx2.Response(status, json=body, headers=headers or {})


def drop(req: httpx2.Request) -> httpx2.Response:
    raise httpx2.RemoteProtocolError("server disconnected without sending a response")


def err(status: int, message: str = "nope") -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None,
                      "code": None}}


def provider(vendor: Vendor, slept: list[float] | None = None, **kw: Any) -> OpenAIProvider:
    sleeps = slept if slept is not None else []
    return OpenAIProvider(
        api_key=FAKE_KEY, base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(vendor)),
        retry=RetryPolicy(sleep=sleeps.append, rng=random.Random(0)),
        today=lambda: date(2026, 11, 28), **kw)


SPEC = JobSpec(base_model="gpt-4o-mini-2024-07-18", training_file="file-abc123",
               client_ref="tn-0001", epochs=3, labels={"team": "search"}, seed=7)


def test_create_sends_the_reference_and_hyperparameters() -> None:
    vendor = Vendor(reply(200, job_body()))
    job = provider(vendor).create_job_safely(SPEC)
    assert job.id == "ftjob-abc123"
    (req,) = vendor.requests
    assert req.method == "POST" and req.url.path == "/v1/fine_tuning/jobs"
    assert req.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert json.loads(req.content) == {
        "model": "gpt-4o-mini-2024-07-18", "training_file": "file-abc123",
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}},
        "metadata": {"team": "search", "tuneops_ref": "tn-0001"}, "suffix": "tn-0001", "seed": 7,
    }
    assert req.headers.get("x-stainless-retry-count") in (None, "0")


def test_create_is_never_blindly_retried_a_lost_answer_is_adopted() -> None:
    # the create takes effect but its answer is lost; the look-up finds the job by reference
    found = {"object": "list", "data": [job_body()], "has_more": False}
    vendor = Vendor(drop, reply(200, found))
    job = provider(vendor).create_job_safely(SPEC)
    assert job.id == "ftjob-abc123" and "adopted" in job.warnings[-1]
    assert [r.method for r in vendor.requests] == ["POST", "GET"]
    assert vendor.requests[1].url.params["metadata[tuneops_ref]"] == "tn-0001"


def test_create_that_never_arrived_is_sent_again_once() -> None:
    empty = {"object": "list", "data": [], "has_more": False}
    vendor = Vendor(reply(503, err(503)), reply(200, empty), reply(200, job_body()))
    job = provider(vendor).create_job_safely(SPEC)
    assert job.id == "ftjob-abc123"
    assert [r.method for r in vendor.requests] == ["POST", "GET", "POST"]


def test_create_refusal_is_raised_not_retried() -> None:
    vendor = Vendor(reply(400, err(400, "model not available for fine-tuning")))
    with pytest.raises(InvalidRequestError, match="model not available") as exc:
        provider(vendor).create_job_safely(SPEC)
    assert exc.value.status_code == 400 and exc.value.__cause__ is not None
    assert len(vendor.requests) == 1


def test_reads_are_retried_honouring_retry_after() -> None:
    slept: list[float] = []
    vendor = Vendor(reply(429, err(429), {"retry-after-ms": "1500"}), reply(500, err(500)),
                    reply(200, job_body(status="running")))
    job = provider(vendor, slept).get_job("ftjob-abc123")
    assert job.status == "running" and len(vendor.requests) == 3
    assert slept[0] == 1.5 and len(slept) == 2


@pytest.mark.parametrize(("status", "exc"), [
    (401, AuthError), (403, AuthError), (404, NotFoundError), (400, InvalidRequestError),
    (422, InvalidRequestError),
])
def test_errors_are_mapped_by_status(status: int, exc: type[Exception]) -> None:
    vendor = Vendor(reply(status, err(status, "detail from vendor")))
    with pytest.raises(exc) as info:
        provider(vendor).get_job("ftjob-x")
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert FAKE_KEY not in str(info.value)


def test_exhausted_retries_keep_the_vendor_error() -> None:
    vendor = Vendor(*[reply(503, err(503))] * 5)
    with pytest.raises(VendorServerError) as info:
        provider(vendor).get_job("ftjob-x")
    assert info.value.status_code == 503 and len(vendor.requests) == 5


def test_dropped_connections_become_connection_errors() -> None:
    vendor = Vendor(*[drop] * 5)
    with pytest.raises(VendorConnectionError):
        provider(vendor).get_job("ftjob-x")


def test_list_pages_with_the_cursor() -> None:
    p1 = {"object": "list", "data": [job_body(id="ftjob-1"), job_body(id="ftjob-2")], "has_more": True}
    p2 = {"object": "list", "data": [job_body(id="ftjob-3")], "has_more": False}
    vendor = Vendor(reply(200, p1), reply(200, p2))
    assert [j.id for j in provider(vendor).list_jobs()] == ["ftjob-1", "ftjob-2", "ftjob-3"]
    assert vendor.requests[1].url.params["after"] == "ftjob-2"


def test_no_new_jobs_at_openai_after_the_shutdown_date() -> None:
    vendor = Vendor()
    p = provider(vendor)
    p._today = lambda: date(2027, 1, 6)
    with pytest.raises(VendorUnavailableError, match="2027-01-06"):
        p.create_job_safely(SPEC)
    assert vendor.requests == []


def test_rate_limit_with_a_long_retry_after_comes_back_with_it() -> None:
    vendor = Vendor(reply(429, err(429), {"retry-after": "3600"}))
    with pytest.raises(RateLimitedError) as info:
        provider(vendor).get_job("ftjob-x")
    assert info.value.retry_after == 3600.0 and len(vendor.requests) == 1


def test_repr_never_shows_the_key() -> None:
    p = provider(Vendor())
    assert FAKE_KEY not in repr(p) and "flag" in repr(p)


def test_large_files_go_through_the_uploads_api_in_parts(tmp_path: Any) -> None:
    import hashlib

    data = b"".join(b'{"messages": [{"role": "user", "content": "%d"}]}\n' % i for i in range(400))
    path = tmp_path / "big.jsonl"
    path.write_bytes(data)
    parts: dict[str, bytes] = {}

    def handler(req: httpx2.Request) -> httpx2.Response:
        if req.url.path == "/v1/uploads":
            assert json.loads(req.content)["bytes"] == len(data)
            return httpx2.Response(200, json={
                "id": "upload_1", "object": "upload", "bytes": len(data), "created_at": 1,
                "expires_at": 2, "filename": "big.jsonl", "purpose": "fine-tune", "status": "pending"})
        if req.url.path == "/v1/uploads/upload_1/parts":
            part_id = f"part_{len(parts)}"
            body = req.read()
            # the part's bytes travel as multipart `data`: keep what lies between the headers
            payload = body.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]
            parts[part_id] = payload
            return httpx2.Response(200, json={"id": part_id, "object": "upload.part",
                                              "created_at": 1, "upload_id": "upload_1"})
        if req.url.path == "/v1/uploads/upload_1/complete":
            sent = json.loads(req.content)
            joined = b"".join(parts[p] for p in sent["part_ids"])
            assert joined == data and sent["md5"] == hashlib.md5(data).hexdigest()
            return httpx2.Response(200, json={
                "id": "upload_1", "object": "upload", "bytes": len(data), "created_at": 1,
                "expires_at": 2, "filename": "big.jsonl", "purpose": "fine-tune",
                "status": "completed", "file": {
                    "id": "file-big", "object": "file", "bytes": len(data), "created_at": 1,
                    "filename": "big.jsonl", "purpose": "fine-tune", "status": "processed"}})
        raise AssertionError(req.url)

    seen: list[tuple[int, int]] = []
    p = OpenAIProvider(api_key=FAKE_KEY, http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
                       part_size=4096, files_api_limit=8192, upload_workers=3)
    uploaded = p.upload_file(path, progress=lambda done, total: seen.append((done, total)))
    assert uploaded.id == "file-big"
    assert len(parts) == -(-len(data) // 4096)  # several parts, sent concurrently
    assert seen[-1] == (len(data), len(data))


def test_the_test_payloads_follow_the_published_spec() -> None:
    from tests.providers.sandbox import _spec

    if not _spec.SPEC_PATH.exists():
        pytest.skip(f"the vendor spec is not at {_spec.SPEC_PATH}")
    validators = _spec.validators()
    for body in (job_body(), job_body(status="succeeded", fine_tuned_model="ft:x:y:z:w",
                                      trained_tokens=10, finished_at=1764303600),
                 job_body(status="failed", error={"code": "invalid_training_file",
                                                  "message": "m", "param": "training_file"})):
        errors = [e.message for e in validators["FineTuningJob"].iter_errors(body)]
        assert errors == [], errors
    assert not list(validators["ErrorResponse"].iter_errors(err(400)))
