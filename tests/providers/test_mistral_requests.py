"""Request-level tests of the Mistral adapter: real `httpx2.Client` exchanges answered by respx
routes (the `httpx2_mock` fixture of the pytest-httpx2 plugin, which patches httpcore2), so the
URL, headers and JSON body the adapter sends to the (deprecated) ``/v1/fine_tuning/jobs``
endpoints are checked as they go over the wire. Answers are shaped as in Mistral's published
spec (/work/shared/specs/mistral-openapi.yaml: `CompletionJobOut`, `CompletionDetailedJobOut`,
`JobsOut`)."""

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
    RateLimitedError,
    UnconfirmedCreateError,
    VendorServerError,
)
from tuneops.providers.mistral import DEFAULT_LEARNING_RATE, MistralProvider
from tuneops.providers.models import JobSpec
from tuneops.providers.retry import RetryPolicy

FAKE_KEY = "sk-mistral-fake-key-for-request-tests"
SERVER = "https://api.mistral.test"
JOBS = f"{SERVER}/v1/fine_tuning/jobs"
JOB_ID = "7ad642c1-fc6f-4ab1-9d9b-2f4c6a8d1e3b"
FILE_ID = "e85980c9-409e-4a46-9304-36588f6292b0"
VAL_ID = "0b8e3bd2-6d0c-4c5e-9e0f-3a1f2b4c5d6e"
REF = "tn-abc1234"


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("MISTRAL_BASE_URL", raising=False)


@pytest.fixture
def sleeps() -> list[float]:
    return []


def build(sleeps: list[float], **kw: Any) -> MistralProvider:
    # A client we build ourselves: pytest-httpx2 patches httpcore2's pool, so its default
    # transport is intercepted without handing it a transport.
    return MistralProvider(api_key=FAKE_KEY, server_url=SERVER, retry=RetryPolicy(sleep=sleeps.append),
                           http_client=httpx2.Client(), **kw)


@pytest.fixture
def mistral(sleeps: list[float]) -> Iterator[MistralProvider]:
    p = build(sleeps)
    yield p
    p.close()


def spec(**kw: Any) -> JobSpec:
    base: dict[str, Any] = {"base_model": "open-mistral-7b", "training_file": FILE_ID,
                            "client_ref": REF}
    return JobSpec(**{**base, **kw})


def job_out(status: str = "QUEUED", **kw: Any) -> dict[str, Any]:
    """A `CompletionJobOut` (created with auto_start=false), as the spec describes it."""
    doc: dict[str, Any] = {
        "id": JOB_ID, "auto_start": False, "model": "open-mistral-7b", "status": status,
        "created_at": 1716963433, "modified_at": 1716963900, "training_files": [FILE_ID],
        "validation_files": [], "object": "job", "fine_tuned_model": None, "suffix": REF,
        "integrations": [], "trained_tokens": None, "job_type": "completion",
        "metadata": {"expected_duration_seconds": 220, "cost": 10.0, "cost_currency": "EUR",
                     "train_tokens_per_step": 131072, "train_tokens": 1310720,
                     "data_tokens": 305375, "estimated_start_time": None},
        "hyperparameters": {"training_steps": 10, "learning_rate": 0.0001, "weight_decay": 0.1,
                            "warmup_fraction": 0.05, "epochs": None, "seq_len": None,
                            "fim_ratio": 0.9},
        "repositories": [],
    }
    return {**doc, **kw}


def detailed(status: str = "RUNNING", **kw: Any) -> dict[str, Any]:
    """A `CompletionDetailedJobOut`: the job with its events (newest first) and checkpoints."""
    events = [{"name": "status-updated", "data": {"status": "RUNNING"}, "created_at": 1716963600},
              {"name": "status-updated", "data": {"status": "QUEUED"}, "created_at": 1716963433}]
    return job_out(status, **{"events": events, "checkpoints": [], **kw})


def sent_json(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


def methods_and_paths(router: respx.Router) -> list[str]:
    return [f"{c.request.method} {c.request.url.path}" for c in router.calls]


# -- (1) create: the exact JobIn body, auto_start=false, then /start ----------------------------

def test_create_sends_the_exact_jobin_body_then_starts(httpx2_mock: respx.Router,
                                                       mistral: MistralProvider) -> None:
    create = httpx2_mock.post(JOBS).respond(200, json=job_out("QUEUED"))
    start = httpx2_mock.post(f"{JOBS}/{JOB_ID}/start").respond(
        200, json=job_out("STARTED", auto_start=True))
    integrations = [{"type": "wandb", "project": "tuneops", "api_key": "0" * 40}]
    job = mistral.create_job_safely(spec(
        epochs=3, learning_rate_multiplier=2.0, suffix="bot", seed=7, batch_size=16,
        validation_file=VAL_ID, labels={"team": "nlp"},
        extra={"training_steps": 10, "integrations": integrations}))

    assert create.call_count == 1 and start.call_count == 1
    request = create.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == JOBS  # no dry_run: this one spawns a job
    assert request.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    body = sent_json(create)
    assert body == {
        "model": "open-mistral-7b",
        "training_files": [{"file_id": FILE_ID, "weight": 1}],
        "validation_files": [VAL_ID],
        "hyperparameters": {"epochs": 3.0, "training_steps": 10,
                            "learning_rate": pytest.approx(2 * DEFAULT_LEARNING_RATE)},
        "suffix": REF,  # the suffix carries our reference, not the user's "bot"
        "auto_start": False,
        "job_type": "completion",
        "integrations": integrations,
    }
    assert body["auto_start"] is False  # not merely falsy

    # then the start of the job just created, after the create, keyed as well
    assert methods_and_paths(httpx2_mock) == ["POST /v1/fine_tuning/jobs",
                                              f"POST /v1/fine_tuning/jobs/{JOB_ID}/start"]
    start_request = start.calls.last.request
    assert start_request.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert start_request.content == b""

    assert job.id == JOB_ID and job.raw_status == "STARTED" and job.status == "queued"
    assert job.client_ref == REF
    # what Mistral has no place for is reported, not silently dropped
    assert any("suffix 'bot' not sent" in w for w in job.warnings)
    assert any(w.startswith("batch_size not sent") for w in job.warnings)
    assert any(w.startswith("seed not sent") for w in job.warnings)
    assert any("labels" in w for w in job.warnings)


def test_create_minimal_body(httpx2_mock: respx.Router, mistral: MistralProvider) -> None:
    create = httpx2_mock.post(JOBS).respond(200, json=job_out("VALIDATING"))
    httpx2_mock.post(f"{JOBS}/{JOB_ID}/start").respond(200, json=job_out("QUEUED", auto_start=True))
    job = mistral.create_job_safely(spec())
    assert sent_json(create) == {
        "model": "open-mistral-7b", "training_files": [{"file_id": FILE_ID, "weight": 1}],
        "hyperparameters": {}, "suffix": REF, "auto_start": False, "job_type": "completion",
    }
    assert job.warnings == []


def test_create_of_a_job_already_started_is_not_started_again(httpx2_mock: respx.Router,
                                                              mistral: MistralProvider) -> None:
    # a job answered as RUNNING is past /start: nothing more is sent (respx refuses unrouted calls)
    create = httpx2_mock.post(JOBS).respond(200, json=job_out("RUNNING"))
    job = mistral.create_job_safely(spec())
    assert create.call_count == 1 and len(httpx2_mock.calls) == 1
    assert job.status == "running"


# -- (2) get / list: spec-shaped answers mapped into Jobs ---------------------------------------

def test_get_job_maps_a_spec_shaped_answer(httpx2_mock: respx.Router,
                                           mistral: MistralProvider) -> None:
    raw = detailed("SUCCESS", fine_tuned_model="ft:open-mistral-7b:abc:tn-abc1234",
                   trained_tokens=1310720, validation_files=[VAL_ID])
    route = httpx2_mock.get(f"{JOBS}/{JOB_ID}").respond(200, json=raw)
    job = mistral.get_job(JOB_ID)
    assert route.call_count == 1
    request = route.calls.last.request
    assert str(request.url) == f"{JOBS}/{JOB_ID}"
    assert request.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert job.provider == "mistral" and job.id == JOB_ID
    assert job.status == "succeeded" and job.raw_status == "SUCCESS" and job.is_final
    assert job.fine_tuned_model == "ft:open-mistral-7b:abc:tn-abc1234"
    assert job.base_model == "open-mistral-7b" and job.method == "sft"
    assert job.cost == pytest.approx(10.0) and job.currency == "EUR"  # billed once succeeded
    assert job.trained_tokens == 1310720 and job.client_ref == REF
    assert job.training_file == FILE_ID and job.validation_file == VAL_ID
    assert job.hyperparameters == {"training_steps": 10, "learning_rate": 0.0001,
                                   "weight_decay": 0.1, "warmup_fraction": 0.05, "fim_ratio": 0.9}
    assert job.started_at is not None and int(job.started_at.timestamp()) == 1716963600
    assert job.finished_at is not None and int(job.finished_at.timestamp()) == 1716963900
    assert job.error is None and job.warnings == []


@pytest.mark.parametrize(("raw", "auto_start", "ours"), [
    ("QUEUED", False, "queued"), ("STARTED", True, "queued"), ("VALIDATING", False, "validating"),
    ("VALIDATED", False, "pending"), ("VALIDATED", True, "queued"), ("RUNNING", True, "running"),
    ("CANCELLATION_REQUESTED", True, "running"), ("SUCCESS", True, "succeeded"),
    ("FAILED", True, "failed"), ("FAILED_VALIDATION", False, "failed"),
    ("CANCELLED", True, "cancelled"),
])
def test_get_job_status_mapping(httpx2_mock: respx.Router, mistral: MistralProvider,
                                raw: str, auto_start: bool, ours: str) -> None:
    httpx2_mock.get(f"{JOBS}/{JOB_ID}").respond(200, json=detailed(raw, auto_start=auto_start))
    job = mistral.get_job(JOB_ID)
    assert job.status == ours and job.raw_status == raw
    if raw != "SUCCESS":
        assert job.cost is None and job.currency is None  # a quote is not a cost


def test_get_job_failed_validation_reads_its_reason_from_events(
        httpx2_mock: respx.Router, mistral: MistralProvider) -> None:
    events = [{"name": "status-updated", "created_at": 1716963500,
               "data": {"status": "FAILED_VALIDATION", "error": "line 3: no messages"}},
              {"name": "status-updated", "data": {"status": "QUEUED"}, "created_at": 1716963433}]
    httpx2_mock.get(f"{JOBS}/{JOB_ID}").respond(200, json=detailed("FAILED_VALIDATION", events=events))
    job = mistral.get_job(JOB_ID)
    assert job.status == "failed" and job.error is not None
    assert job.error.kind == "data" and job.error.code == "FAILED_VALIDATION"
    assert job.error.message == "line 3: no messages"


def test_list_jobs_pages_filters_and_maps(httpx2_mock: respx.Router, sleeps: list[float]) -> None:
    mine = job_out("RUNNING", id="job-1", auto_start=True)
    other = job_out("SUCCESS", id="job-2", suffix="tn-zzz9999")  # the server filter is not trusted
    last = job_out("VALIDATED", id="job-3")
    route = httpx2_mock.get(JOBS).mock(side_effect=[
        respx.MockResponse(200, json={"object": "list", "total": 3, "data": [mine, other]}),
        respx.MockResponse(200, json={"object": "list", "total": 3, "data": [last, mine]}),
    ])
    with build(sleeps, page_size=2) as p:
        jobs = list(p.list_jobs(client_ref=REF))
    assert [j.id for j in jobs] == ["job-1", "job-3"]  # job-2 filtered, job-1 seen twice once
    assert [j.status for j in jobs] == ["running", "pending"]
    assert route.call_count == 2  # page 1 of size 2 reaches the total of 3: no third call
    params = [dict(c.request.url.params) for c in route.calls]
    assert params == [{"page_size": "2", "suffix": REF, "page": "0"},
                      {"page_size": "2", "suffix": REF, "page": "1"}]
    assert all(c.request.headers["Authorization"] == f"Bearer {FAKE_KEY}" for c in route.calls)


def test_list_jobs_without_ref_lists_every_job(httpx2_mock: respx.Router,
                                               mistral: MistralProvider) -> None:
    hand = job_out("CANCELLED", id="job-9", suffix=None)
    route = httpx2_mock.get(JOBS).respond(
        200, json={"object": "list", "total": 2, "data": [job_out("QUEUED"), hand]})
    jobs = list(mistral.list_jobs())
    assert [(j.id, j.status, j.client_ref) for j in jobs] == [(JOB_ID, "queued", REF),
                                                              ("job-9", "cancelled", None)]
    assert route.call_count == 1
    assert "suffix" not in route.calls.last.request.url.params


# -- (3) retries ---------------------------------------------------------------------------------

def test_a_503_then_200_on_a_get_is_retried_once(httpx2_mock: respx.Router,
                                                  mistral: MistralProvider,
                                                  sleeps: list[float]) -> None:
    route = httpx2_mock.get(f"{JOBS}/{JOB_ID}").mock(side_effect=[
        respx.MockResponse(503, json={"detail": "busy"}),
        respx.MockResponse(200, json=detailed()),
    ])
    job = mistral.get_job(JOB_ID)
    assert job.id == JOB_ID and job.status == "running"
    assert route.call_count == 2
    assert len(sleeps) == 1


def test_a_429_with_retry_after_sleeps_that_long(httpx2_mock: respx.Router,
                                                 mistral: MistralProvider,
                                                 sleeps: list[float]) -> None:
    route = httpx2_mock.get(f"{JOBS}/{JOB_ID}").mock(side_effect=[
        respx.MockResponse(429, headers={"Retry-After": "7"}, json={"message": "Requests rate limit"}),
        respx.MockResponse(200, json=detailed()),
    ])
    assert mistral.get_job(JOB_ID).id == JOB_ID
    assert route.call_count == 2
    assert sleeps == [7]


def test_a_429_asking_for_too_long_a_wait_is_raised_at_once(httpx2_mock: respx.Router,
                                                             mistral: MistralProvider,
                                                             sleeps: list[float]) -> None:
    route = httpx2_mock.get(f"{JOBS}/{JOB_ID}").respond(
        429, headers={"Retry-After": "3600"}, json={"message": "Requests rate limit"})
    with pytest.raises(RateLimitedError) as info:
        mistral.get_job(JOB_ID)
    assert info.value.retry_after == 3600 and info.value.status_code == 429
    assert route.call_count == 1 and sleeps == []


# -- (4) errors by status ------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "cls", "body", "text"), [
    (401, AuthError, {"message": "Unauthorized", "request_id": "r1"}, "Unauthorized"),
    (404, NotFoundError, {"detail": "Job not found"}, "Job not found"),
    (400, InvalidRequestError, {"detail": "bad job id"}, "bad job id"),
    (422, InvalidRequestError,
     {"detail": [{"type": "uuid_parsing", "loc": ["path", "job_id"], "msg": "Input should be a UUID"}]},
     "path.job_id: Input should be a UUID"),
])
def test_error_statuses_map_chained(httpx2_mock: respx.Router, mistral: MistralProvider,
                                    sleeps: list[float], status: int, cls: type[ProviderError],
                                    body: dict[str, Any], text: str) -> None:
    route = httpx2_mock.get(f"{JOBS}/{JOB_ID}").respond(status, json=body)
    with pytest.raises(cls) as info:
        mistral.get_job(JOB_ID)
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.body == body
    assert err.provider == "mistral" and err.message == f"Mistral answered {status}: {text}"
    assert isinstance(err.__cause__, httpx2.HTTPStatusError)
    assert err.__cause__.response.status_code == status
    assert route.call_count == 1 and sleeps == []  # refusals are not retried
    if cls is AuthError:
        assert "MISTRAL_API_KEY" in err.hint
    else:
        assert err.hint == ""


def test_a_422_model_not_available_on_create_gets_the_hint(httpx2_mock: respx.Router,
                                                           mistral: MistralProvider,
                                                           sleeps: list[float]) -> None:
    body = {"detail": "Model not available for this type of fine-tuning (completion)."}
    create = httpx2_mock.post(JOBS).respond(422, json=body)
    with pytest.raises(InvalidRequestError) as info:
        mistral.create_job_safely(spec(base_model="mistral-large-latest"))
    err = info.value
    assert err.status_code == 422 and err.body == body
    assert "not available for this type of fine-tuning" in err.message
    assert "open-mistral-7b" in err.hint and "deprecated" in err.hint
    assert isinstance(err.__cause__, httpx2.HTTPStatusError)
    # sent once; no look-up and no /start (respx would have refused the unrouted calls)
    assert create.call_count == 1 and len(httpx2_mock.calls) == 1 and sleeps == []


def test_a_400_on_create_is_raised_and_sent_once(httpx2_mock: respx.Router,
                                                 mistral: MistralProvider) -> None:
    body = {"detail": "Invalid file"}
    create = httpx2_mock.post(JOBS).respond(400, json=body)
    with pytest.raises(InvalidRequestError) as info:
        mistral.create_job_safely(spec())
    assert info.value.status_code == 400 and info.value.body == body and not info.value.hint
    assert info.value.__cause__ is not None
    assert create.call_count == 1 and len(httpx2_mock.calls) == 1


# -- (5) a create is not blindly retried after a 5xx ---------------------------------------------

def test_a_5xx_on_create_adopts_the_job_it_finds_and_starts_it(httpx2_mock: respx.Router,
                                                               mistral: MistralProvider) -> None:
    create = httpx2_mock.post(JOBS).respond(503, json={"detail": "upstream"})
    lookup = httpx2_mock.get(JOBS).respond(
        200, json={"object": "list", "total": 1, "data": [job_out("VALIDATED")]})
    start = httpx2_mock.post(f"{JOBS}/{JOB_ID}/start").respond(
        200, json=job_out("STARTED", auto_start=True))
    job = mistral.create_job_safely(spec())
    assert create.call_count == 1  # the job was there: never sent again
    assert lookup.call_count == 1 and lookup.calls.last.request.url.params["suffix"] == REF
    assert start.call_count == 1  # the adopted job, created with auto_start=false, is started
    assert methods_and_paths(httpx2_mock) == ["POST /v1/fine_tuning/jobs", "GET /v1/fine_tuning/jobs",
                                              f"POST /v1/fine_tuning/jobs/{JOB_ID}/start"]
    assert job.id == JOB_ID and job.client_ref == REF and job.raw_status == "STARTED"
    assert any("adopted" in w and REF in w for w in job.warnings)


def test_a_5xx_on_create_adopting_a_running_job_does_not_start_it(
        httpx2_mock: respx.Router, mistral: MistralProvider) -> None:
    create = httpx2_mock.post(JOBS).respond(500)
    httpx2_mock.get(JOBS).respond(
        200, json={"object": "list", "total": 1, "data": [job_out("RUNNING", auto_start=True)]})
    job = mistral.create_job_safely(spec())
    assert create.call_count == 1 and len(httpx2_mock.calls) == 2  # no /start
    assert job.status == "running"


def test_a_5xx_on_create_is_resent_only_after_the_lookup_finds_nothing(
        httpx2_mock: respx.Router, mistral: MistralProvider, sleeps: list[float]) -> None:
    create = httpx2_mock.post(JOBS).mock(side_effect=[
        respx.MockResponse(502, text="bad gateway"),
        respx.MockResponse(200, json=job_out("QUEUED")),
    ])
    other = job_out("RUNNING", id="job-other", suffix="tn-zzz9999")
    lookup = httpx2_mock.get(JOBS).respond(200, json={"object": "list", "total": 1, "data": [other]})
    start = httpx2_mock.post(f"{JOBS}/{JOB_ID}/start").respond(
        200, json=job_out("STARTED", auto_start=True))
    job = mistral.create_job_safely(spec())
    assert create.call_count == 2 and lookup.call_count == 1 and start.call_count == 1
    # the look-up came between the two creates, the start after the second
    assert methods_and_paths(httpx2_mock) == [
        "POST /v1/fine_tuning/jobs", "GET /v1/fine_tuning/jobs", "POST /v1/fine_tuning/jobs",
        f"POST /v1/fine_tuning/jobs/{JOB_ID}/start"]
    assert sent_json(create, 0) == sent_json(create, 1)
    assert job.id == JOB_ID and len(sleeps) == 1
    assert not any("adopted" in w for w in job.warnings)


def test_a_5xx_on_create_with_a_failing_lookup_is_not_resent(
        httpx2_mock: respx.Router, mistral: MistralProvider, sleeps: list[float]) -> None:
    create = httpx2_mock.post(JOBS).respond(503, json={"detail": "upstream"})
    lookup = httpx2_mock.get(JOBS).respond(401, json={"message": "Unauthorized"})
    with pytest.raises(UnconfirmedCreateError) as info:
        mistral.create_job_safely(spec())
    assert create.call_count == 1 and lookup.call_count == 1
    assert len(httpx2_mock.calls) == 2  # nothing more: no second create, no start
    assert isinstance(info.value.__cause__, AuthError)
    assert "reconcile" in info.value.hint and sleeps == []


def test_a_5xx_on_create_with_a_lookup_that_keeps_failing_is_not_resent(
        httpx2_mock: respx.Router, mistral: MistralProvider, sleeps: list[float]) -> None:
    create = httpx2_mock.post(JOBS).respond(500)
    lookup = httpx2_mock.get(JOBS).respond(503, json={"detail": "busy"})
    with pytest.raises(UnconfirmedCreateError) as info:
        mistral.create_job_safely(spec())
    assert create.call_count == 1
    # the look-up is retried before giving up (how often is the retry layer's business)
    assert lookup.call_count >= mistral.retry.attempts
    assert isinstance(info.value.__cause__, VendorServerError)
    assert info.value.__cause__.status_code == 503
    assert sleeps
