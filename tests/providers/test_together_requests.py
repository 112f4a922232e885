"""Request-level tests of the Together adapter: real `httpx2.Client` exchanges answered by respx
routes (the `httpx2_mock` fixture of the pytest-httpx2 plugin, which patches httpcore2), so the
URL, headers and JSON body the adapter sends are checked as they go over the wire."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import respx

from tuneops.errors import (
    AuthError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    UnconfirmedCreateError,
    VendorServerError,
)
from tuneops.providers.models import JobSpec
from tuneops.providers.retry import RetryPolicy
from tuneops.providers.together import TogetherProvider, _StatusError

FAKE_KEY = "tgp-fake-key-for-request-tests"
BASE = "https://api.together.test/v1"
JOBS = f"{BASE}/fine-tunes"
JOB_ID = "ft-3b883474-f39c-40d9-9d5a-7f97ba9eeb9f"


@pytest.fixture(autouse=True)
def _no_ambient_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("TOGETHER_BASE_URL", raising=False)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def together(sleeps: list[float]) -> Iterator[TogetherProvider]:
    # A client we build ourselves: pytest-httpx2 patches httpcore2's pool, so its default
    # transport is intercepted without handing it a transport.
    p = TogetherProvider(api_key=FAKE_KEY, base_url=BASE,
                         retry=RetryPolicy(sleep=sleeps.append), http_client=httpx2.Client())
    yield p
    p.close()


def spec(**kw: Any) -> JobSpec:
    base: dict[str, Any] = {"base_model": "Qwen/Qwen3-8B", "training_file": "file-1",
                            "client_ref": "tn-abc1234"}
    return JobSpec(**{**base, **kw})


def job_payload(**kw: Any) -> dict[str, Any]:
    """A `FinetuneResponse`-shaped job (together/lib/types/fine_tuning.py)."""
    base: dict[str, Any] = {
        "id": JOB_ID, "status": "completed", "model": "Qwen/Qwen3-8B",
        "model_output_name": "acct/Qwen3-8B-tuneops--tn-abc1234",
        "training_file": "file-1", "validation_file": "",
        "n_epochs": 3, "batch_size": 16, "learning_rate": 2e-5, "n_evals": 0, "n_checkpoints": 1,
        "training_method": {"method": "sft", "train_on_inputs": "auto"},
        "training_type": {"type": "Lora", "lora_r": 8, "lora_alpha": 16},
        "suffix": "tuneops--tn-abc1234", "token_count": 123456, "total_price": 2_500_000_000,
        "created_at": "2025-06-01T10:00:00.000Z", "started_at": "2025-06-01T10:01:00Z",
        "updated_at": "2025-06-01T11:30:00Z", "events": [],
    }
    return {**base, **kw}


def sent_json(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


# -- (1) create: the exact body and the key ------------------------------------------------------

def test_create_sends_the_exact_body_and_bearer_key(httpx2_mock: respx.Router,
                                                    together: TogetherProvider) -> None:
    route = httpx2_mock.post(JOBS).respond(200, json=job_payload(status="pending"))
    job = together.create_job_safely(spec(epochs=3, batch_size=16, learning_rate_multiplier=2.0,
                                          suffix="bot", seed=7, validation_file="file-2",
                                          extra={"n_evals": 2, "lora_r": 8, "warmup_ratio": 0.1}))
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == JOBS
    assert request.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert sent_json(route) == {
        "model": "Qwen/Qwen3-8B", "training_file": "file-1", "validation_file": "file-2",
        "training_method": {"method": "sft", "train_on_inputs": "auto"},
        "n_epochs": 3, "n_evals": 2,
        "training_type": {"type": "Lora", "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.0,
                          "lora_trainable_modules": "all-linear"},
        "batch_size": 16, "learning_rate": pytest.approx(2e-5), "random_seed": 7,
        "suffix": "bot--tn-abc1234", "warmup_ratio": 0.1,
    }
    assert job.id == JOB_ID and job.status == "pending" and job.client_ref == "tn-abc1234"


def test_create_dpo_sends_the_beta_and_a_minimal_body(httpx2_mock: respx.Router,
                                                      together: TogetherProvider) -> None:
    route = httpx2_mock.post(JOBS).respond(200, json=job_payload(status="queued"))
    together.create_job_safely(spec(method="dpo", beta=0.2))
    assert sent_json(route) == {"model": "Qwen/Qwen3-8B", "training_file": "file-1",
                                "training_method": {"method": "dpo", "dpo_beta": 0.2},
                                "suffix": "tuneops--tn-abc1234"}


# -- (2) get / list: the answer mapped into a Job ------------------------------------------------

def test_get_job_maps_a_spec_shaped_answer(httpx2_mock: respx.Router,
                                           together: TogetherProvider) -> None:
    route = httpx2_mock.get(f"{JOBS}/{JOB_ID}").respond(200, json=job_payload())
    job = together.get_job(JOB_ID)
    assert route.call_count == 1
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert job.provider == "together" and job.id == JOB_ID
    assert job.status == "succeeded" and job.raw_status == "completed"
    assert job.cost == pytest.approx(2.5) and job.currency == "USD"  # nanodollars -> dollars
    assert job.fine_tuned_model == "acct/Qwen3-8B-tuneops--tn-abc1234"
    assert job.base_model == "Qwen/Qwen3-8B" and job.method == "sft"
    assert job.trained_tokens == 123456 and job.client_ref == "tn-abc1234"
    assert job.validation_file is None  # "" means none
    assert job.hyperparameters["n_epochs"] == 3 and job.hyperparameters["training_type"] == "lora"
    assert job.finished_at is not None and job.finished_at.hour == 11
    assert job.error is None and job.warnings == []


@pytest.mark.parametrize(("raw", "ours"), [
    ("pending", "pending"), ("queued", "queued"), ("running", "running"),
    ("compressing", "running"), ("cancel_requested", "running"), ("cancelled", "cancelled"),
    ("error", "failed"), ("user_error", "failed"), ("completed", "succeeded"),
])
def test_get_job_status_mapping(httpx2_mock: respx.Router, together: TogetherProvider,
                                raw: str, ours: str) -> None:
    httpx2_mock.get(f"{JOBS}/{JOB_ID}").respond(200, json=job_payload(status=raw))
    job = together.get_job(JOB_ID)
    assert job.status == ours
    if ours != "succeeded":
        assert job.fine_tuned_model is None


def test_get_job_failed_with_its_error_event(httpx2_mock: respx.Router,
                                             together: TogetherProvider) -> None:
    events = [{"type": "job_start", "message": "started"},
              {"type": "job_user_error", "message": "row 12 has no messages"}]
    httpx2_mock.get(f"{JOBS}/{JOB_ID}").respond(
        200, json=job_payload(status="user_error", total_price=0, events=events))
    job = together.get_job(JOB_ID)
    assert job.status == "failed" and job.error is not None
    assert job.error.kind == "data" and job.error.message == "row 12 has no messages"
    assert job.cost is None and job.currency is None  # a zero price is no cost


def test_list_jobs_maps_sorts_and_filters(httpx2_mock: respx.Router,
                                          together: TogetherProvider) -> None:
    older = job_payload(id="ft-old", status="running", total_price=None,
                        created_at="2025-05-01T00:00:00Z", suffix="tuneops--tn-old0001")
    newer = job_payload(id="ft-new", created_at="2025-06-02T00:00:00Z")
    foreign = job_payload(id="ft-hand", suffix="made-by-hand", created_at="2025-04-01T00:00:00Z")
    route = httpx2_mock.get(JOBS).respond(200, json={"data": [older, foreign, newer]})
    jobs = list(together.list_jobs())
    assert [j.id for j in jobs] == ["ft-new", "ft-old", "ft-hand"]  # newest first
    assert [j.status for j in jobs] == ["succeeded", "running", "succeeded"]
    assert jobs[0].cost == pytest.approx(2.5) and jobs[1].cost is None
    assert [j.client_ref for j in jobs] == ["tn-abc1234", "tn-old0001", None]
    assert [j.id for j in together.list_jobs(client_ref="tn-old0001")] == ["ft-old"]
    assert route.call_count == 2


# -- (3) retries ---------------------------------------------------------------------------------

def test_a_503_then_200_on_a_get_is_retried_once(httpx2_mock: respx.Router,
                                                  together: TogetherProvider,
                                                  sleeps: list[float]) -> None:
    route = httpx2_mock.get(f"{JOBS}/{JOB_ID}").mock(side_effect=[
        respx.MockResponse(503, json={"error": {"message": "busy"}}),
        respx.MockResponse(200, json=job_payload()),
    ])
    job = together.get_job(JOB_ID)
    assert job.id == JOB_ID
    assert route.call_count == 2
    assert len(sleeps) == 1


def test_a_429_with_retry_after_sleeps_that_long(httpx2_mock: respx.Router,
                                                 together: TogetherProvider,
                                                 sleeps: list[float]) -> None:
    route = httpx2_mock.get(f"{JOBS}/{JOB_ID}").mock(side_effect=[
        respx.MockResponse(429, headers={"Retry-After": "2"}, json={"error": "slow down"}),
        respx.MockResponse(200, json=job_payload()),
    ])
    assert together.get_job(JOB_ID).id == JOB_ID
    assert route.call_count == 2
    assert sleeps == [2]


# -- (4) errors by status ------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "cls"), [
    (401, AuthError), (404, NotFoundError), (400, InvalidRequestError),
])
def test_error_statuses_map_chained(httpx2_mock: respx.Router, together: TogetherProvider,
                                    sleeps: list[float], status: int,
                                    cls: type[ProviderError]) -> None:
    body = {"error": {"message": f"nope {status}", "type": "invalid_request_error"}}
    route = httpx2_mock.get(f"{JOBS}/{JOB_ID}").respond(status, json=body)
    with pytest.raises(cls) as info:
        together.get_job(JOB_ID)
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.body == body
    assert err.provider == "together" and f"nope {status}" in err.message
    assert err.__cause__ is not None and isinstance(err.__cause__, _StatusError)
    assert route.call_count == 1 and sleeps == []  # refusals are not retried


def test_a_400_on_create_is_raised_and_sent_once(httpx2_mock: respx.Router,
                                                 together: TogetherProvider) -> None:
    body = {"error": {"message": "unknown model"}}
    create = httpx2_mock.post(JOBS).respond(400, json=body)
    with pytest.raises(InvalidRequestError) as info:
        together.create_job_safely(spec())
    assert info.value.status_code == 400 and info.value.body == body
    assert info.value.__cause__ is not None
    assert create.call_count == 1  # and no look-up: respx would have refused the unrouted GET


# -- (5) a create is not blindly retried on 5xx --------------------------------------------------

def test_a_5xx_on_create_adopts_the_job_it_finds(httpx2_mock: respx.Router,
                                                 together: TogetherProvider) -> None:
    create = httpx2_mock.post(JOBS).respond(503, json={"error": {"message": "upstream"}})
    lookup = httpx2_mock.get(JOBS).respond(200, json={"data": [job_payload(status="queued")]})
    job = together.create_job_safely(spec())
    assert create.call_count == 1  # the job was there: never sent again
    assert lookup.call_count == 1
    assert job.id == JOB_ID and job.client_ref == "tn-abc1234" and job.status == "queued"
    assert any("adopted" in w for w in job.warnings)


def test_a_5xx_on_create_is_resent_only_after_the_lookup_finds_nothing(
        httpx2_mock: respx.Router, together: TogetherProvider, sleeps: list[float]) -> None:
    create = httpx2_mock.post(JOBS).mock(side_effect=[
        respx.MockResponse(503, json={"error": {"message": "upstream"}}),
        respx.MockResponse(200, json=job_payload(status="pending")),
    ])
    other = job_payload(id="ft-other", suffix="tuneops--tn-zzz9999")
    lookup = httpx2_mock.get(JOBS).respond(200, json={"data": [other]})
    job = together.create_job_safely(spec())
    assert create.call_count == 2 and lookup.call_count == 1
    # the look-up came between the two POSTs
    assert [c.request.method for c in httpx2_mock.calls] == ["POST", "GET", "POST"]
    assert sent_json(create, 0) == sent_json(create, 1)
    assert job.id == JOB_ID and len(sleeps) == 1


def test_a_5xx_on_create_with_a_failing_lookup_is_not_resent(
        httpx2_mock: respx.Router, together: TogetherProvider) -> None:
    create = httpx2_mock.post(JOBS).respond(502, text="bad gateway")
    lookup = httpx2_mock.get(JOBS).respond(401, json={"error": {"message": "bad key"}})
    with pytest.raises(UnconfirmedCreateError) as info:
        together.create_job_safely(spec())
    assert create.call_count == 1
    assert lookup.call_count == 1
    assert isinstance(info.value.__cause__, AuthError)


def test_a_5xx_on_create_with_a_lookup_that_keeps_failing_is_not_resent(
        httpx2_mock: respx.Router, together: TogetherProvider, sleeps: list[float]) -> None:
    create = httpx2_mock.post(JOBS).respond(500)
    lookup = httpx2_mock.get(JOBS).respond(503)
    with pytest.raises(UnconfirmedCreateError) as info:
        together.create_job_safely(spec())
    assert create.call_count == 1
    # the look-up's read is retried by the one retry layer, not by a second one around it
    # (which once sent attempts x attempts requests)
    assert lookup.call_count == together.retry.attempts
    assert isinstance(info.value.__cause__, VendorServerError)
    assert info.value.__cause__.status_code == 503
    assert sleeps
