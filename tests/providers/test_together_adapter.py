"""The Together adapter: pure translations (statuses, jobs, money, references, errors, request
bodies) without HTTP, then the upload flow and the price quote against the sandbox emulator."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.providers.contract.harness import retry
from tests.providers.sandbox.conftest import chat_rows
from tuneops.errors import (
    AuthError,
    DataValidationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    VendorConnectionError,
    VendorServerError,
    VendorTimeoutError,
)
from tuneops.providers.models import JobSpec
from tuneops.providers.retry import RetryPolicy
from tuneops.providers.sandbox import ManualClock, SandboxTransport
from tuneops.providers.together import (
    TogetherProvider,
    _StatusError,
    job_from_together,
    ref_from_suffix,
    status_from_together,
    suffix_with_ref,
    usd_from_nanodollars,
    vendor_errors,
)

FAKE_KEY = "tgp-fake-key-for-tests"


@pytest.fixture(autouse=True)
def _no_ambient_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)


# -- statuses, money, references -----------------------------------------------------------------

@pytest.mark.parametrize(("raw", "ours"), [
    ("pending", "pending"), ("queued", "queued"), ("running", "running"),
    ("compressing", "running"), ("uploading", "running"), ("cancel_requested", "running"),
    ("cancelled", "cancelled"), ("error", "failed"), ("user_error", "failed"),
    ("completed", "succeeded"),
])
def test_every_sdk_status_maps(raw: str, ours: str) -> None:
    assert status_from_together(raw) == (ours, None)


def test_an_unknown_status_is_kept_with_a_warning() -> None:
    status, warning = status_from_together("defrosting")
    assert status == "pending" and warning and "defrosting" in warning


def test_nanodollars_become_dollars() -> None:
    assert usd_from_nanodollars(1_500_000_000) == 1.5
    assert usd_from_nanodollars(4) == 4e-9
    assert usd_from_nanodollars(None) is None


def test_the_reference_rides_in_the_suffix() -> None:
    assert suffix_with_ref(None, "tn-abc1234") == "tuneops--tn-abc1234"
    assert ref_from_suffix("support-bot--tn-abc1234") == "tn-abc1234"
    long = suffix_with_ref("x" * 60, "tn-abc1234")
    assert len(long) == 40 and ref_from_suffix(long) == "tn-abc1234"
    assert ref_from_suffix("made-by-hand") is None and ref_from_suffix(None) is None
    with pytest.raises(InvalidRequestError):
        suffix_with_ref(None, "a--b")
    with pytest.raises(InvalidRequestError):
        suffix_with_ref(None, "r" * 38)


# -- jobs ----------------------------------------------------------------------------------------

def sdk_job(**over: Any) -> dict[str, Any]:
    """A retrieve answer shaped like `FinetuneResponse` (together/types/finetune_response.py)."""
    doc: dict[str, Any] = {
        "id": "ft-2b1c3d4e-0000-4000-8000-000000000001", "status": "completed",
        "user_id": "u-1", "created_at": "2026-11-28T10:00:00.000Z",
        "updated_at": "2026-11-28T10:42:00.000Z", "started_at": "2026-11-28T10:05:00.000Z",
        "model": "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
        "model_output_name": "me/Meta-Llama-3.1-8B-Instruct-Reference-tuneops--tn-abc1234-1a2b3c4d",
        "suffix": "tuneops--tn-abc1234", "training_file": "file-1", "validation_file": "",
        "n_epochs": 3, "batch_size": 8, "learning_rate": 1e-5, "n_checkpoints": 1, "n_evals": 0,
        "training_method": {"method": "sft", "train_on_inputs": "auto"},
        "training_type": {"type": "Lora", "lora_r": 8, "lora_alpha": 16},
        "token_count": 123_456, "total_price": 59_258_880, "events": [],
    }
    doc.update(over)
    return doc


def test_a_completed_job_translates() -> None:
    job = job_from_together(sdk_job())
    assert job.status == "succeeded" and job.is_final and job.raw_status == "completed"
    assert job.fine_tuned_model == sdk_job()["model_output_name"]
    assert job.trained_tokens == 123_456
    assert job.cost == pytest.approx(0.05925888) and job.currency == "USD"
    assert job.client_ref == "tn-abc1234" and job.method == "sft"
    assert job.finished_at is not None and job.finished_at.minute == 42
    assert job.created_at is not None and job.started_at is not None
    assert job.validation_file is None
    assert job.hyperparameters == {"n_epochs": 3, "batch_size": 8, "learning_rate": 1e-5,
                                   "n_checkpoints": 1, "n_evals": 0, "training_type": "lora"}


def test_a_running_job_has_no_model_cost_or_end_yet() -> None:
    job = job_from_together(sdk_job(status="uploading", total_price=None))
    assert job.status == "running" and not job.is_final
    assert job.fine_tuned_model is None and job.cost is None and job.finished_at is None


def test_a_dpo_job_keeps_its_beta() -> None:
    job = job_from_together(sdk_job(training_method={"method": "dpo", "dpo_beta": 0.2},
                                    training_type={"type": "Full"}))
    assert job.method == "dpo" and job.hyperparameters["dpo_beta"] == 0.2
    assert job.hyperparameters["training_type"] == "full"


def test_a_user_error_reads_its_event() -> None:
    events = [{"object": "fine-tune-event", "type": "job_pending", "message": "created",
               "created_at": "2026-11-28T10:00:00Z"},
              {"object": "fine-tune-event", "type": "job_user_error", "level": "error",
               "message": "Line 5: unknown role 'robot'", "created_at": "2026-11-28T10:01:00Z"}]
    job = job_from_together(sdk_job(status="user_error", events=events, total_price=0))
    assert job.status == "failed" and job.error is not None
    assert job.error.kind == "data" and "Line 5" in job.error.message
    assert job.cost is None
    vendor = job_from_together(sdk_job(status="error", events=[]))
    assert vendor.error is not None and vendor.error.kind == "vendor"


def test_a_job_without_id_is_malformed() -> None:
    raw = sdk_job()
    del raw["id"]
    with pytest.raises(MalformedResponseError) as info:
        job_from_together(raw)
    assert isinstance(info.value.__cause__, KeyError)


# -- errors --------------------------------------------------------------------------------------

def _raise(status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
    request = httpx2.Request("GET", "https://api.together.ai/v1/fine-tunes/ft-x")
    response = httpx2.Response(status, json=body if body is not None else {"error": {
        "message": "nope", "type": "invalid_request_error", "param": None, "code": None}},
        headers=headers, request=request)
    with vendor_errors():
        raise _StatusError(response)


@pytest.mark.parametrize(("status", "cls"), [
    (400, InvalidRequestError), (401, AuthError), (403, AuthError), (404, NotFoundError),
    (409, InvalidRequestError), (422, InvalidRequestError), (429, RateLimitedError),
    (500, VendorServerError), (503, VendorServerError),
])
def test_errors_map_by_status_and_are_chained(status: int, cls: type[Exception]) -> None:
    with pytest.raises(cls) as info:
        _raise(status)
    err = info.value
    assert err.__cause__ is not None
    assert getattr(err, "status_code", None) == status and "nope" in str(err)
    assert getattr(err, "provider", None) == "together"


def test_retry_after_is_read() -> None:
    with pytest.raises(RateLimitedError) as info:
        _raise(429, headers={"retry-after": "7"})
    assert info.value.retry_after == 7.0


def test_transport_failures_map() -> None:
    request = httpx2.Request("GET", "https://api.together.ai/v1/files")
    with pytest.raises(VendorTimeoutError), vendor_errors():
        raise httpx2.ReadTimeout("slow", request=request)
    with pytest.raises(VendorConnectionError), vendor_errors():
        raise httpx2.ConnectError("refused", request=request)


# -- request bodies ------------------------------------------------------------------------------

def provider(transport: Any = None, **kw: Any) -> TogetherProvider:
    if transport is None:
        transport = httpx2.MockTransport(lambda r: httpx2.Response(500))
    return TogetherProvider(api_key=FAKE_KEY, base_url="http://sandbox.tuneops/together/v1",
                            http_client=httpx2.Client(transport=transport), **kw)


def spec(**kw: Any) -> JobSpec:
    base: dict[str, Any] = {"base_model": "Qwen/Qwen3-8B", "training_file": "file-1",
                            "client_ref": "tn-abc1234"}
    return JobSpec(**{**base, **kw})


def test_sft_request_body() -> None:
    body = provider().request_body(spec(epochs=3, batch_size="auto", learning_rate_multiplier=2.0,
                                        suffix="bot", seed=7, extra={"n_evals": 2}))
    assert body == {"model": "Qwen/Qwen3-8B", "training_file": "file-1",
                    "training_method": {"method": "sft", "train_on_inputs": "auto"},
                    "n_epochs": 3, "n_evals": 2, "batch_size": "max",
                    "learning_rate": pytest.approx(2e-5), "random_seed": 7,
                    "suffix": "bot--tn-abc1234"}


def test_dpo_full_and_lora_bodies() -> None:
    p = provider()
    dpo = p.request_body(spec(method="dpo", beta=0.3, extra={"training_type": "full"}))
    assert dpo["training_method"] == {"method": "dpo", "dpo_beta": 0.3}
    assert dpo["training_type"] == {"type": "Full"}
    lora = p.request_body(spec(extra={"lora_r": 16}))
    assert lora["training_type"]["lora_r"] == 16 and lora["training_type"]["lora_alpha"] == 32
    with pytest.raises(InvalidRequestError):
        p.request_body(spec(method="rft"))
    with pytest.raises(InvalidRequestError):
        p.request_body(spec(extra={"training_type": "qlora"}))


def test_the_key_never_shows() -> None:
    p = provider()
    assert FAKE_KEY not in repr(p)


# -- against the emulator ------------------------------------------------------------------------

class Recording(httpx2.BaseTransport):
    def __init__(self, inner: SandboxTransport) -> None:
        self.inner = inner
        self.sandbox = inner.sandbox
        self.seen: list[tuple[str, str, str | None, int]] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self.inner.handle_request(request)
        self.seen.append((request.method, request.url.path, request.headers.get("authorization"),
                          response.status_code))
        return response


def write(tmp_path: Path, rows: list[dict[str, Any]], name: str = "train.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_upload_redirect_put_preprocess_then_dedupe(tmp_path: Path) -> None:
    rec = Recording(SandboxTransport(tmp_path / "state", speed=2000, seed=1))
    p = TogetherProvider.sandboxed(rec, retry=retry(), poll_interval=0.0)
    path = write(tmp_path, chat_rows(12))
    first = p.upload_file(path)
    assert first.status == "COMPLETED" and first.raw["validation_report"]["valid"] is True
    calls = [(m, u.rsplit("/", 1)[-1] if "_storage" in u else u, s) for m, u, _, s in rec.seen]
    assert [c[0] for c in calls] == ["POST", "PUT", "POST"]
    assert calls[0][2] == 302 and calls[1][2] == 200
    put_auth = rec.seen[1][2]
    assert put_auth is None, "the key must not go to the storage URL"
    rec.seen.clear()
    again = p.upload_file(path)
    assert again.id == first.id
    assert [(m, s) for m, _, _, s in rec.seen] == [("POST", 409), ("GET", 200)]  # no second PUT


def test_a_bad_file_is_refused_naming_the_line(tmp_path: Path) -> None:
    p = TogetherProvider.sandboxed(SandboxTransport(tmp_path / "s", speed=2000), retry=retry(),
                                   poll_interval=0.0)
    rows = chat_rows(12)
    rows[4] = {"messages": [{"role": "robot", "content": "x"}]}
    with pytest.raises(DataValidationError) as info:
        p.upload_file(write(tmp_path, rows))
    assert "Line 5" in str(info.value)


def test_upload_waits_for_processing(tmp_path: Path) -> None:
    clock = ManualClock()
    transport = SandboxTransport(tmp_path / "s", speed=1.0, clock=clock)
    transport.sandbox.api("together").files.instant_bytes = 0  # type: ignore[attr-defined]
    policy = RetryPolicy(sleep=lambda s: clock.advance(1.0))
    p = TogetherProvider.sandboxed(transport, retry=policy, poll_interval=1.0)
    rec: list[str] = []
    original = p._get_path

    def spy(path: str, **kw: Any) -> Any:
        rec.append(path)
        return original(path, **kw)

    p._get_path = spy  # type: ignore[method-assign]
    f = p.upload_file(write(tmp_path, chat_rows(12)))
    assert f.status == "COMPLETED" and rec == [f"/files/{f.id}"]


def test_server_estimate_matches_the_billed_cost(tmp_path: Path) -> None:
    p = TogetherProvider.sandboxed(SandboxTransport(tmp_path / "s", speed=2000), retry=retry(),
                                   poll_interval=0.0)
    f = p.upload_file(write(tmp_path, chat_rows(12)))
    s = spec(training_file=f.id, epochs=2)
    amount, currency = p.server_estimate(s)
    assert currency == "USD" and amount > 0
    job = p.create_job_safely(s)


    deadline = time.monotonic() + 20
    while not (job := p.get_job(job.id)).is_final:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert job.cost == pytest.approx(amount, rel=1e-3)
    assert TogetherProvider.capabilities()["server_estimate"] is True


def test_events_and_checkpoints(tmp_path: Path) -> None:
    clock = ManualClock()
    p = TogetherProvider.sandboxed(SandboxTransport(tmp_path / "s", speed=1.0, clock=clock),
                                   retry=retry(), poll_interval=0.0)
    f = p.upload_file(write(tmp_path, chat_rows(12)))
    job = p.create_job_safely(spec(training_file=f.id, epochs=2, extra={"n_checkpoints": 2}))
    clock.advance(10_000)
    done = p.get_job(job.id)
    assert done.status == "succeeded" and done.fine_tuned_model
    events = list(p.list_events(job.id))
    assert events[0].data["type"] == "job_pending" and events[-1].data["type"] == "job_complete"
    assert len({e.id for e in events}) == len(events)
    checkpoints = list(p.list_checkpoints(job.id))
    assert [c.step for c in checkpoints] == [4, 2]
    assert checkpoints[0].model == done.fine_tuned_model
