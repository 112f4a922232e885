"""The contract every adapter meets, run over every vendor through its SDK and its emulator:
lifecycle, bad data, cancel, paging and the reference filter, every fault type, reads through
faults, a lost answer to a create (exactly one job), and DPO where the vendor has it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.providers.contract.harness import VENDORS, Harness, LoseFirstCreate, Rows, load, retry
from tuneops.errors import (
    RateLimitedError,
    VendorConnectionError,
    VendorServerError,
    VendorTimeoutError,
)
from tuneops.providers.base import Provider
from tuneops.providers.models import Job, JobSpec
from tuneops.providers.sandbox import ManualClock, SandboxTransport

FAST = 2000.0


@pytest.fixture(autouse=True)
def _no_ambient_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)


@pytest.fixture(params=VENDORS)
def h(request: pytest.FixtureRequest) -> Harness:
    return load(request.param)


def transport(tmp_path: Path, faults: str = "", **kw: object) -> SandboxTransport:
    kw.setdefault("speed", FAST)
    return SandboxTransport(tmp_path / "state", faults=faults, seed=3, **kw)  # type: ignore[arg-type]


def write(tmp_path: Path, name: str, rows: Rows) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def spec(h: Harness, file_id: str, ref: str = "tn-0001", **kw: object) -> JobSpec:
    kw.setdefault("epochs", 1)
    return JobSpec(base_model=h.model, training_file=file_id, client_ref=ref, **kw)  # type: ignore[arg-type]


def wait(p: Provider, job_id: str, timeout: float = 30.0) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = p.get_job(job_id)
        if job.is_final:
            return job
        assert time.monotonic() < deadline, f"{job_id} still {job.status} ({job.raw_status})"
        time.sleep(0.02)


def test_lifecycle(h: Harness, tmp_path: Path) -> None:
    p = h.make(transport(tmp_path), retry=retry())
    path = write(tmp_path, "train.jsonl", h.sft_rows(12))
    f = p.upload_file(path)
    assert f.provider == h.name and f.id
    job = p.create_job_safely(spec(h, f.id, labels={"team": "search"}))
    assert job.provider == h.name and job.client_ref == "tn-0001" and not job.is_final
    assert p.get_job(job.id).client_ref == "tn-0001"  # the reference survives a round trip
    done = wait(p, job.id)
    assert done.status == "succeeded", done.error
    assert done.fine_tuned_model, "a finished job names its model"
    assert done.trained_tokens is not None and done.trained_tokens > 0
    assert done.finished_at is not None and done.created_at is not None
    if h.exact_tokens:
        from tuneops.datasets.estimate import estimate_file

        est, report = estimate_file(path, provider=h.name, model=h.model, epochs=1)
        report.close()
        assert done.trained_tokens == est.billed_tokens
    if h.reports_cost:
        assert done.cost is not None and done.cost > 0 and done.currency
    if type(p).supports_events:
        events = list(p.list_events(job.id))
        assert events and all(e.job_id == job.id for e in events)


def test_bad_data_fails_with_a_data_error_naming_the_line(h: Harness, tmp_path: Path) -> None:
    p = h.make(transport(tmp_path), retry=retry())
    path = write(tmp_path, "bad.jsonl", h.bad_rows())
    from tuneops.errors import DataValidationError, InvalidRequestError

    try:
        f = p.upload_file(path)
        job = wait(p, p.create_job_safely(spec(h, f.id)).id)
    except (InvalidRequestError, DataValidationError) as exc:  # refused at upload or create
        assert "5" in str(exc)
        return
    assert job.status == "failed" and job.error is not None
    assert job.error.kind == "data" and "5" in job.error.message


def test_cancel(h: Harness, tmp_path: Path) -> None:
    clock = ManualClock()
    p = h.make(transport(tmp_path, speed=1.0, clock=clock), retry=retry())
    f = p.upload_file(write(tmp_path, "train.jsonl", h.sft_rows(12)))
    job = p.create_job_safely(spec(h, f.id, ref="a"))
    p.cancel_job(job.id)
    clock.advance(60)
    assert p.get_job(job.id).status == "cancelled"


def test_paging_and_the_reference_filter(h: Harness, tmp_path: Path) -> None:
    p = h.make(transport(tmp_path), retry=retry(), page_size=2)
    f = p.upload_file(write(tmp_path, "train.jsonl", h.sft_rows(12)))
    ids = [p.create_job_safely(spec(h, f.id, ref=f"ref-{i}")).id for i in range(7)]
    listed = [j.id for j in p.list_jobs()]
    assert sorted(listed) == sorted(ids) and len(listed) == 7
    found = p.find_job_by_ref("ref-4")
    assert found is not None and found.id == ids[4]
    assert p.find_job_by_ref("nope") is None


@pytest.mark.parametrize("fault", ["429=1", "500=1", "503=1", "timeout=1", "drop=1"])
def test_every_fault_type_maps_to_its_error(h: Harness, tmp_path: Path, fault: str) -> None:
    expected = {"429=1": RateLimitedError, "500=1": VendorServerError, "503=1": VendorServerError,
                "timeout=1": VendorTimeoutError, "drop=1": VendorConnectionError}[fault]
    p = h.make(transport(tmp_path, f"{fault},stall=0.01"), retry=retry(attempts=2))
    with pytest.raises(expected) as info:
        p.get_job(h.missing_job_id)
    assert info.value.__cause__ is not None
    assert info.value.provider == h.name
    if fault == "429=1":
        assert info.value.retry_after is not None


def test_everything_succeeds_through_faults_by_retrying(h: Harness, tmp_path: Path) -> None:
    """Uploads and reads retried through 20 % faults; the create goes through `create_job_safely`."""
    slept: list[float] = []
    faults = "429=0.06,500=0.04,503=0.04,timeout=0.03,drop=0.03,stall=0.01"
    noisy = h.make(transport(tmp_path, faults), retry=retry(slept, attempts=12))
    f = noisy.upload_file(write(tmp_path, "train.jsonl", h.sft_rows(12)))
    clean = h.make(transport(tmp_path), retry=retry())
    job = None
    for _ in range(10):  # a create refused by an injected 429/503 is unambiguous: send again
        try:
            job = noisy.create_job_safely(spec(h, f.id, ref="noisy-1"))
            break
        except (RateLimitedError, VendorServerError, VendorConnectionError):
            continue
    assert job is not None
    assert wait(noisy, job.id).status == "succeeded"
    assert slept, "no fault was injected: the test did not exercise retries"
    assert [j.id for j in clean.list_jobs() if j.client_ref == "noisy-1"] == [job.id]


def test_a_lost_create_response_leaves_exactly_one_job(h: Harness, tmp_path: Path) -> None:
    clean = h.make(transport(tmp_path), retry=retry())
    f = clean.upload_file(write(tmp_path, "train.jsonl", h.sft_rows(12)))
    lossy = LoseFirstCreate(transport(tmp_path), h.is_create)
    p = h.make(lossy, retry=retry())
    job = p.create_job_safely(spec(h, f.id, ref="lost-1"))
    assert lossy.lost == 1 and "adopted" in job.warnings[-1]
    assert [j.id for j in clean.list_jobs() if j.client_ref == "lost-1"] == [job.id]
    assert wait(clean, job.id).status == "succeeded"


def test_dpo(h: Harness, tmp_path: Path) -> None:
    if h.dpo_rows is None:
        pytest.skip(f"{h.name} has no preference tuning")
    p = h.make(transport(tmp_path), retry=retry())
    f = p.upload_file(write(tmp_path, "dpo.jsonl", h.dpo_rows(12)))
    job = p.create_job_safely(spec(h, f.id, method="dpo", beta=0.2).model_copy(
        update={"base_model": h.dpo_model or h.model}))
    done = wait(p, job.id)
    assert done.status == "succeeded" and done.method == "dpo"
    assert done.fine_tuned_model
