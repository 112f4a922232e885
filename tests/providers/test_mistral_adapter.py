"""Mistral adapter, pure parts: status mapping, job translation (payloads shaped as in Mistral's
published spec), the create payload, and error mapping by status. No HTTP."""

from __future__ import annotations

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
    VendorTimeoutError,
)
from tuneops.providers.mistral import (
    MistralProvider,
    checkpoint_from_mistral,
    create_payload,
    error_for_status,
    event_from_mistral,
    job_from_mistral,
    status_from_mistral,
    vendor_errors,
)
from tuneops.providers.models import JobSpec

JOB_ID = "7ad642c1-fc6f-4ab1-9d9b-2f4c6a8d1e3b"
FILE_ID = "e85980c9-409e-4a46-9304-36588f6292b0"


def detailed(status: str = "RUNNING", **kw: Any) -> dict[str, Any]:
    """A CompletionDetailedJobOut as the spec describes it."""
    doc = {
        "id": JOB_ID, "auto_start": False, "model": "open-mistral-7b", "status": status,
        "created_at": 1716963433, "modified_at": 1716963900, "training_files": [FILE_ID],
        "validation_files": [], "object": "job", "fine_tuned_model": None, "suffix": "tn-abc1234",
        "integrations": [], "trained_tokens": None, "job_type": "completion",
        "metadata": {"expected_duration_seconds": 220, "cost": 10.0, "cost_currency": "EUR",
                     "train_tokens_per_step": 131072, "train_tokens": 1310720,
                     "data_tokens": 305375, "estimated_start_time": None},
        "hyperparameters": {"training_steps": 10, "learning_rate": 0.0001, "weight_decay": 0.1,
                            "warmup_fraction": 0.05, "epochs": None, "seq_len": None,
                            "fim_ratio": 0.9},
        "repositories": [],
        "events": [{"name": "status-updated", "data": {"status": "RUNNING"}, "created_at": 1716963600},
                   {"name": "status-updated", "data": {"status": "QUEUED"}, "created_at": 1716963433}],
        "checkpoints": [],
    }
    return {**doc, **kw}


@pytest.mark.parametrize(("raw", "auto_start", "expected"), [
    ("QUEUED", False, "queued"), ("VALIDATING", False, "validating"),
    ("VALIDATED", False, "pending"), ("VALIDATED", True, "queued"), ("STARTED", False, "queued"),
    ("RUNNING", False, "running"), ("CANCELLATION_REQUESTED", False, "running"),
    ("SUCCESS", False, "succeeded"), ("FAILED", False, "failed"),
    ("FAILED_VALIDATION", False, "failed"), ("CANCELLED", False, "cancelled"),
])
def test_status_mapping(raw: str, auto_start: bool, expected: str) -> None:
    assert status_from_mistral(raw, auto_start) == (expected, None)


def test_an_unknown_status_is_kept_not_final_with_a_warning() -> None:
    status, warning = status_from_mistral("REHEATING")
    assert status == "pending" and warning is not None and "REHEATING" in warning
    job = job_from_mistral(detailed("REHEATING"))
    assert not job.is_final and job.warnings == [warning]


def test_a_running_job() -> None:
    job = job_from_mistral(detailed())
    assert (job.provider, job.id, job.status, job.raw_status) == ("mistral", JOB_ID, "running", "RUNNING")
    assert job.client_ref == "tn-abc1234" and job.training_file == FILE_ID
    assert job.method == "sft" and job.base_model == "open-mistral-7b"
    assert job.cost is None, "metadata.cost is only a quote until the job succeeds"
    assert job.started_at is not None and job.finished_at is None
    assert job.estimated_finish is not None
    assert job.estimated_finish.timestamp() == 1716963600 + 220
    assert job.hyperparameters == {"training_steps": 10, "learning_rate": 0.0001, "weight_decay": 0.1,
                                   "warmup_fraction": 0.05, "fim_ratio": 0.9}


def test_a_succeeded_job_reports_model_tokens_and_cost() -> None:
    job = job_from_mistral(detailed("SUCCESS", fine_tuned_model="ft:open-mistral-7b:587a6b29:tn:7e773925",
                                    trained_tokens=1310720))
    assert job.is_final and job.fine_tuned_model and job.trained_tokens == 1310720
    assert (job.cost, job.currency) == (10.0, "EUR")
    assert job.finished_at is not None and job.finished_at.timestamp() == 1716963900


def test_failed_validation_is_a_data_error_with_the_event_reason() -> None:
    events = [{"name": "status-updated", "created_at": 1716963500,
               "data": {"status": "FAILED_VALIDATION", "error": "Line 5: last message must be"
                        " from the assistant"}}]
    job = job_from_mistral(detailed("FAILED_VALIDATION", events=events))
    assert job.status == "failed" and job.error is not None
    assert job.error.kind == "data" and "Line 5" in job.error.message
    # a listed job (no events) still says what kind of failure it was
    plain = {k: v for k, v in detailed("FAILED_VALIDATION").items() if k != "events"}
    assert job_from_mistral(plain).error.kind == "data"  # type: ignore[union-attr]
    assert job_from_mistral(detailed("FAILED")).error.kind == "vendor"  # type: ignore[union-attr]


def test_an_unreadable_job_is_a_malformed_response() -> None:
    with pytest.raises(MalformedResponseError) as info:
        job_from_mistral({"status": "RUNNING"})
    assert isinstance(info.value.__cause__, KeyError)


def test_events_and_checkpoints() -> None:
    e = event_from_mistral(JOB_ID, 3, {"name": "status-updated", "created_at": 1716963500,
                                       "data": {"status": "FAILED_VALIDATION", "error": "bad line 5"}})
    assert e.id == f"{JOB_ID}:3" and e.level == "error" and "bad line 5" in e.message
    c = checkpoint_from_mistral(JOB_ID, {"metrics": {"train_loss": 0.8, "valid_loss": None},
                                         "step_number": 4, "created_at": 1716963500})
    assert c.step == 4 and c.metrics == {"train_loss": 0.8}


def spec(**kw: Any) -> JobSpec:
    return JobSpec(base_model="open-mistral-7b", training_file=FILE_ID, client_ref="tn-abc1234",
                   **kw)


def test_create_payload_carries_the_reference_in_the_suffix_and_does_not_start() -> None:
    body, warnings = create_payload(spec(epochs=3, learning_rate_multiplier=2.0,
                                         validation_file="v-1", batch_size="auto"))
    assert body == {"model": "open-mistral-7b",
                    "training_files": [{"file_id": FILE_ID, "weight": 1}],
                    "hyperparameters": {"epochs": 3.0, "learning_rate": 2e-4},
                    "suffix": "tn-abc1234", "auto_start": False, "job_type": "completion",
                    "validation_files": ["v-1"]}
    assert warnings == []


def test_create_payload_warns_about_what_mistral_cannot_take() -> None:
    body, warnings = create_payload(spec(suffix="mine", batch_size=8, seed=1, labels={"a": "b"},
                                         extra={"training_steps": 10}))
    assert body["suffix"] == "tn-abc1234" and body["hyperparameters"] == {"training_steps": 10}
    assert len(warnings) == 4 and "mine" in warnings[0]


def test_create_payload_refusals() -> None:
    with pytest.raises(InvalidRequestError):
        create_payload(spec(method="dpo"))
    with pytest.raises(InvalidRequestError, match="18"):
        create_payload(JobSpec(base_model="m", training_file="f", client_ref="r" * 19))


@pytest.mark.parametrize(("status", "cls"), [
    (400, InvalidRequestError), (401, AuthError), (403, AuthError), (404, NotFoundError),
    (409, InvalidRequestError), (422, InvalidRequestError), (429, RateLimitedError),
    (500, VendorServerError), (502, VendorServerError), (503, VendorServerError),
])
def test_errors_are_mapped_by_status(status: int, cls: type[Exception]) -> None:
    err = error_for_status(status, '{"object": "error", "message": "nope", "type": "x"}', {})
    assert type(err) is cls and err.status_code == status and "nope" in err.message


def test_the_422_bodies() -> None:
    refusal = error_for_status(
        422, '{"detail": "Model not available for this type of fine-tuning (completion)."}', {})
    assert isinstance(refusal, InvalidRequestError)
    assert "Model not available" in refusal.message and "open-mistral-7b" in refusal.hint
    pydantic = error_for_status(422, '{"detail": [{"type": "string_too_long", "loc": ["body",'
                                ' "suffix"], "msg": "String should have at most 18 characters"}]}', {})
    assert pydantic.message == "Mistral answered 422: suffix: String should have at most 18 characters"
    assert isinstance(pydantic.body, dict)
    assert "gateway down" in error_for_status(502, "gateway down", {}).message


def test_retry_after_is_read() -> None:
    assert error_for_status(429, "{}", {"Retry-After": "7"}).retry_after == 7.0
    assert error_for_status(429, "{}", {}).retry_after is None


def test_vendor_errors_chains_transport_and_status_errors() -> None:
    request = httpx2.Request("GET", "https://api.mistral.ai/v1/fine_tuning/jobs")
    with pytest.raises(VendorTimeoutError) as t, vendor_errors():
        raise httpx2.ReadTimeout("slow", request=request)
    assert isinstance(t.value.__cause__, httpx2.ReadTimeout)
    with pytest.raises(VendorConnectionError) as c, vendor_errors():
        raise httpx2.RemoteProtocolError("gone", request=request)
    assert c.value.__cause__ is not None
    response = httpx2.Response(404, json={"detail": "Job not found"}, request=request)
    with pytest.raises(NotFoundError) as n, vendor_errors():
        response.raise_for_status()
    assert n.value.message == "Mistral answered 404: Job not found"
    assert isinstance(n.value.__cause__, httpx2.HTTPStatusError)


def test_capabilities_and_notes() -> None:
    caps = MistralProvider.capabilities()
    assert caps["methods"] == ["sft"] and caps["server_estimate"] and caps["events"]
    assert caps["credentials_env"] == "MISTRAL_API_KEY"
    note = caps["notes"][0]
    assert "deprecated" in note["text"] and "2.5.2" in note["text"]
    assert len(note["date"]) == 10 and note["date"][4] == "-"


def test_the_key_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "sk-tuneops-fake")
    p = MistralProvider(http_client=httpx2.Client(transport=httpx2.MockTransport(
        lambda r: httpx2.Response(500))))
    assert "sk-tuneops-fake" not in repr(p) and p.key_source == "env:MISTRAL_API_KEY"
    p.close()
