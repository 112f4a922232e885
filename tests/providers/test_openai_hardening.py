"""The OpenAI adapter against servers that are legal but unkind: lists whose cursor never advances
(`has_more: true` with the same last id, or with an empty page), and cancel / pause / resume whose
answer is lost after the server acted, so that the retry is refused. No network: HTTP goes to an
injected httpx2.MockTransport."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

from tuneops.errors import InvalidRequestError, MalformedResponseError, UnconfirmedCreateError
from tuneops.providers.models import Job, JobSpec
from tuneops.providers.openai import OpenAIProvider
from tuneops.providers.retry import RetryPolicy

JOB_ID = "ftjob-abc123"
CREATED = 1764300000


def job_body(status: str = "queued", ref: str = "tn-0001", **over: Any) -> dict[str, Any]:
    """A `fine_tuning.job` as the published spec describes it (FineTuningJob schema)."""
    body: dict[str, Any] = {
        "object": "fine_tuning.job", "id": JOB_ID, "model": "gpt-4o-mini-2024-07-18",
        "created_at": CREATED, "finished_at": None, "fine_tuned_model": None,
        "organization_id": "org-123", "result_files": [], "status": status,
        "validation_file": None, "training_file": "file-abc123", "trained_tokens": None,
        "error": None, "seed": 42, "estimated_finish": None, "integrations": [],
        "hyperparameters": {"n_epochs": "auto", "batch_size": "auto",
                            "learning_rate_multiplier": "auto"},
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}},
        "metadata": {"tuneops_ref": ref}, "user_provided_suffix": ref,
    }
    body.update(over)
    return body


EVENT = {"object": "fine_tuning.job.event", "id": "ftevent-1", "created_at": CREATED,
         "level": "info", "message": "Step 1/10", "data": {}, "type": "message"}
CHECKPOINT = {"object": "fine_tuning.job.checkpoint", "id": "ftckpt-1", "created_at": CREATED,
              "fine_tuned_model_checkpoint": "ft:gpt-4o-mini-2024-07-18:org:x:ckpt-step-10",
              "step_number": 10, "metrics": {"step": 10, "train_loss": 0.5},
              "fine_tuning_job_id": JOB_ID}

Handler = Callable[[httpx2.Request], httpx2.Response]


class Server:
    """A MockTransport handler that records every request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if len(self.requests) > 50:  # the old adapter looped forever: fail instead of hanging
            raise AssertionError(f"runaway client: {request.method} {request.url}")
        return self.handler(request)


def provider(server: Server) -> OpenAIProvider:
    return OpenAIProvider(
        api_key="sk-tuneops-fake-key-0002", base_url="https://api.openai.com/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        retry=RetryPolicy(sleep=lambda _: None, rng=random.Random(0)))


def error_body(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error",
                      "param": "fine_tuning_job_id", "code": None}}


# ---------------------------------------------------------------- a cursor that never advances


def stuck_lists(*, empty: bool = False) -> Handler:
    """Every list answers `has_more: true`, with the same single item (or none) every time."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "POST":
            raise httpx2.ReadError("connection reset after the request was sent")
        if path.endswith("/events"):
            item = EVENT
        elif path.endswith("/checkpoints"):
            item = CHECKPOINT
        else:
            item = job_body(ref="tn-someone-else")  # a server ignoring the metadata filter
        data = [] if empty else [item]
        return httpx2.Response(200, json={"object": "list", "data": data, "has_more": True})

    return handle


LISTS: dict[str, Callable[[OpenAIProvider], Iterator[Any]]] = {
    "jobs": lambda p: p.list_jobs(),
    "jobs by ref": lambda p: p.list_jobs(client_ref="tn-0001"),
    "events": lambda p: p.list_events(JOB_ID),
    "checkpoints": lambda p: p.list_checkpoints(JOB_ID),
}


@pytest.mark.parametrize("empty", [False, True], ids=["same last id", "empty page"])
@pytest.mark.parametrize("which", list(LISTS))
def test_a_list_whose_cursor_does_not_advance_stops(which: str, empty: bool) -> None:
    server = Server(stuck_lists(empty=empty))
    with pytest.raises(MalformedResponseError, match="has_more=true") as info:
        list(LISTS[which](provider(server)))
    assert info.value.provider == "openai"
    endpoint = {"events": "/events", "checkpoints": "/checkpoints"}.get(which, "/fine_tuning/jobs")
    assert endpoint in info.value.message
    assert 1 <= len(server.requests) <= 3
    assert all(r.method == "GET" for r in server.requests)


def test_the_cursor_sent_is_the_last_id_and_is_sent_once() -> None:
    server = Server(stuck_lists())
    with pytest.raises(MalformedResponseError, match="does not advance"):
        list(provider(server).list_jobs())
    assert [r.url.params.get("after") for r in server.requests] == [None, JOB_ID]


def test_find_job_by_ref_stops_on_a_cursor_that_does_not_advance() -> None:
    server = Server(stuck_lists())
    with pytest.raises(MalformedResponseError, match="/fine_tuning/jobs"):
        provider(server).find_job_by_ref("tn-0001")
    assert len(server.requests) <= 3


def test_the_look_up_after_a_lost_create_stops_on_a_cursor_that_does_not_advance() -> None:
    # the create's answer is lost; the look-up of our reference pages without end: the create
    # is left unconfirmed (never sent again), because of the unreadable list
    server = Server(stuck_lists())
    spec = JobSpec(base_model="gpt-4o-mini-2024-07-18", training_file="file-abc123",
                   client_ref="tn-0001")
    with pytest.raises(UnconfirmedCreateError) as info:
        provider(server).create_job_safely(spec)
    assert isinstance(info.value.__cause__, MalformedResponseError)
    methods = [r.method for r in server.requests]
    assert methods.count("POST") == 1 and 1 <= methods.count("GET") <= 3


# ----------------------------------------------- cancel / pause / resume whose answer is lost

ACTIONS: dict[str, tuple[str, str, str]] = {
    # action: (status before, status after the server acts, refusal of the repeated request)
    "cancel": ("running", "cancelled", "Job ftjob-abc123 is already cancelled."),
    "pause": ("running", "paused", "Job ftjob-abc123 is not running."),
    "resume": ("paused", "running", "Job ftjob-abc123 is not paused."),
}


def acting_server(action: str, *, acts: bool, lose: type[Exception] = httpx2.ReadError,
                  other: str = "succeeded") -> Handler:
    """The first `action` request is acted on (if `acts`; else the job ends up `other`) and its
    answer lost; every later one is refused with a 400; GET shows the job as it now is."""
    before, after, refusal = ACTIONS[action]
    state = {"status": before, "posts": 0}

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and request.url.path == f"/v1/fine_tuning/jobs/{JOB_ID}":
            return httpx2.Response(200, json=job_body(str(state["status"])))
        assert request.method == "POST"
        assert request.url.path == f"/v1/fine_tuning/jobs/{JOB_ID}/{action}"
        state["posts"] = int(state["posts"]) + 1
        if state["posts"] == 1:
            state["status"] = after if acts else other
            raise lose("the answer was lost")
        return httpx2.Response(400, json=error_body(refusal))

    return handle


def call(p: OpenAIProvider, action: str) -> Job:
    return {"cancel": p.cancel_job, "pause": p.pause_job, "resume": p.resume_job}[action](JOB_ID)


@pytest.mark.parametrize("lose", [httpx2.ReadError, httpx2.ReadTimeout])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_lost_answer_then_a_refused_retry_succeeds_when_the_job_is_as_requested(
        action: str, lose: type[Exception]) -> None:
    server = Server(acting_server(action, acts=True, lose=lose))
    job = call(provider(server), action)
    assert job.id == JOB_ID and job.raw_status == ACTIONS[action][1]
    assert "lost" in job.warnings[-1]
    assert [r.method for r in server.requests] == ["POST", "POST", "GET"]


@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_refused_retry_is_raised_when_the_job_is_not_as_requested(action: str) -> None:
    server = Server(acting_server(action, acts=False))
    with pytest.raises(InvalidRequestError, match=ACTIONS[action][2]) as info:
        call(provider(server), action)
    assert info.value.status_code == 400 and info.value.provider == "openai"
    assert [r.method for r in server.requests] == ["POST", "POST", "GET"]


def test_pausing_counts_as_paused_but_not_as_resumed() -> None:
    server = Server(acting_server("pause", acts=False, other="pausing"))
    assert call(provider(server), "pause").raw_status == "pausing"
    server = Server(acting_server("resume", acts=False, other="pausing"))
    with pytest.raises(InvalidRequestError):
        call(provider(server), "resume")


def test_a_refusal_with_no_lost_answer_before_it_is_raised_at_once() -> None:
    # nothing was ambiguous: the refusal is the server's answer to our only request
    server = Server(lambda r: httpx2.Response(400, json=error_body("Job is already cancelled.")))
    with pytest.raises(InvalidRequestError, match="already cancelled"):
        provider(server).cancel_job(JOB_ID)
    assert [r.method for r in server.requests] == ["POST"]

