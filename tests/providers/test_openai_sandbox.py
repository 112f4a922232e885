"""The OpenAI adapter through the real openai SDK against the sandbox emulator: what only OpenAI
has (billed tokens equal to our estimate, checkpoints, pause/resume, the Uploads API, DPO's beta).
The contract every adapter meets (bad data, paging, every fault, one job per lost create...) runs
over OpenAI too, in tests/providers/contract/."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.providers.sandbox.conftest import BASE_URL, FAST, chat_rows, write_jsonl
from tuneops.datasets.estimate import estimate_file
from tuneops.errors import (
    InvalidRequestError,
)
from tuneops.providers.models import Job, JobSpec
from tuneops.providers.openai import OpenAIProvider
from tuneops.providers.retry import RetryPolicy
from tuneops.providers.sandbox import SandboxTransport

MODEL = "gpt-4o-mini-2024-07-18"


@pytest.fixture(autouse=True)
def _no_ambient_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)


def make(tmp_path: Path, faults: str = "", slept: list[float] | None = None, **kw: Any
         ) -> OpenAIProvider:
    transport = SandboxTransport(tmp_path / "state", speed=FAST, faults=faults, seed=3)
    return OpenAIProvider(
        api_key="sk-tuneops-fake", base_url=BASE_URL,
        http_client=httpx2.Client(transport=transport),
        retry=RetryPolicy(sleep=(slept if slept is not None else []).append, rng=random.Random(0),
                          attempts=kw.pop("attempts", 8)),
        **kw)


def wait(p: OpenAIProvider, job_id: str, timeout: float = 20.0) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = p.get_job(job_id)
        if job.is_final:
            return job
        assert time.monotonic() < deadline, f"{job_id} still {job.status}"
        time.sleep(0.02)


def train_file(tmp_path: Path, n: int = 12) -> Path:
    import json

    return write_jsonl(tmp_path / "train.jsonl", [json.dumps(r) for r in chat_rows(n)])


def spec(file_id: str, ref: str = "tn-0001", **kw: Any) -> JobSpec:
    return JobSpec(base_model=MODEL, training_file=file_id, client_ref=ref, **kw)


def test_lifecycle_matches_our_own_estimate(tmp_path: Path) -> None:
    p = make(tmp_path)
    path = train_file(tmp_path)
    f = p.upload_file(path)
    job = p.create_job_safely(spec(f.id, epochs=2, labels={"team": "search"}))
    assert job.client_ref == "tn-0001" and not job.is_final
    done = wait(p, job.id)
    assert done.status == "succeeded" and done.raw_status == "succeeded"
    assert done.fine_tuned_model is not None
    assert done.fine_tuned_model.startswith(f"ft:{MODEL}:") and ":tn-0001:" in done.fine_tuned_model
    est, report = estimate_file(path, provider="openai", model=MODEL, epochs=2)
    report.close()
    assert done.trained_tokens == est.billed_tokens  # the vendor's billed tokens = our estimate
    events = list(p.list_events(job.id))
    assert events and all(e.job_id == job.id for e in events)
    checkpoints = list(p.list_checkpoints(job.id))
    assert checkpoints and all(c.metrics for c in checkpoints)


def test_cancel_pause_resume(tmp_path: Path) -> None:
    from tuneops.providers.sandbox import ManualClock

    clock = ManualClock()
    transport = SandboxTransport(tmp_path / "state", speed=1.0, faults="", seed=1, clock=clock)
    p = OpenAIProvider(api_key="sk-tuneops-fake", base_url=BASE_URL,
                       http_client=httpx2.Client(transport=transport))
    f = p.upload_file(train_file(tmp_path))
    job = p.create_job_safely(spec(f.id, ref="a"))
    p.cancel_job(job.id)
    clock.advance(1)
    assert p.get_job(job.id).status == "cancelled"
    with pytest.raises(InvalidRequestError):
        p.resume_job(job.id)  # a cancelled job cannot be resumed
    other = p.create_job_safely(spec(f.id, ref="b"))
    for _ in range(600):
        if p.get_job(other.id).raw_status == "running":
            break
        clock.advance(1)
    paused = p.pause_job(other.id)
    assert paused.raw_status in ("paused", "pausing") and not paused.is_final
    clock.advance(10_000)
    assert p.get_job(other.id).raw_status == "paused"  # a paused job does not progress
    assert p.resume_job(other.id).status in ("queued", "running", "validating")
    clock.advance(10_000)
    assert p.get_job(other.id).status == "succeeded"


def test_large_file_through_the_uploads_api(tmp_path: Path) -> None:
    path = train_file(tmp_path, 200)
    p = make(tmp_path, part_size=8 * 1024, files_api_limit=16 * 1024)
    seen: list[tuple[int, int]] = []
    f = p.upload_file(path, progress=lambda d, t: seen.append((d, t)))
    assert f.bytes == path.stat().st_size and seen[-1] == (f.bytes, f.bytes)
    assert wait(p, p.create_job_safely(spec(f.id)).id).status == "succeeded"


def test_dpo_job(tmp_path: Path) -> None:
    import json

    rows = [{"input": {"messages": [{"role": "user", "content": f"Say {i} politely."}]},
             "preferred_output": [{"role": "assistant", "content": f"Certainly: {i}."}],
             "non_preferred_output": [{"role": "assistant", "content": f"{i}. Go away."}]}
            for i in range(12)]
    p = make(tmp_path)
    f = p.upload_file(write_jsonl(tmp_path / "dpo.jsonl", [json.dumps(r) for r in rows]))
    job = p.create_job_safely(spec(f.id, method="dpo", beta=0.2, epochs=1))
    done = wait(p, job.id)
    assert done.status == "succeeded" and done.method == "dpo"
    assert done.hyperparameters.get("beta") == 0.2
