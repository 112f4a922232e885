"""Fault injection: the spec syntax, each fault as the SDK sees it, lost responses, failing jobs and
reproducibility for a seed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.providers.sandbox.conftest import make_client, upload, wait_for
from tuneops.errors import UsageError
from tuneops.providers.sandbox import Fault, FaultConfig, parse_faults
from tuneops.providers.sandbox.faults import FaultInjector


def test_spec_syntax() -> None:
    cfg = parse_faults("429=0.1,500=0.05,503=0.05,timeout=0.05,drop=0.05,lost=0.05,fail_jobs=0.1,seed=7")
    assert (cfg.rate_limit, cfg.server_error, cfg.unavailable) == (0.1, 0.05, 0.05)
    assert (cfg.timeout, cfg.drop, cfg.lost, cfg.fail_jobs, cfg.seed) == (0.05, 0.05, 0.05, 0.1, 7)
    assert parse_faults(cfg.to_spec()) == cfg
    assert parse_faults("rate_limit=0.2, retry_after=0.5; stall=2") == FaultConfig(
        rate_limit=0.2, retry_after=0.5, stall=2)
    assert parse_faults("") == FaultConfig() and not FaultConfig().active
    for bad in ("429", "teapot=0.1", "429=lots", "429=1.5", "429=0.6,500=0.6", "stall=9999"):
        with pytest.raises(UsageError):
            parse_faults(bad)


def test_env_var_is_read_when_faults_are_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEOPS_SANDBOX_FAULTS", "503=0.25,seed=3")
    assert FaultConfig.coerce(None) == FaultConfig(unavailable=0.25, seed=3)
    assert FaultConfig.coerce({"429": 0.5}) == FaultConfig(rate_limit=0.5)


def test_draws_are_reproducible_and_near_their_rates() -> None:
    cfg = parse_faults("429=0.3,drop=0.1,seed=11")
    seq = _draws(cfg.to_spec(), 1000)
    assert seq == _draws(cfg.to_spec(), 1000)
    assert 250 < seq.count(Fault.RATE_LIMIT) < 350 and 60 < seq.count(Fault.DROP) < 140
    assert _draws("429=0.3,drop=0.1,seed=12", 1000) != seq


@pytest.mark.parametrize(("spec", "exc", "status"), [
    ("429=1,retry_after=2", "RateLimitError", 429),
    ("500=1", "InternalServerError", 500),
    ("503=1", "InternalServerError", 503),
    ("timeout=1", "APITimeoutError", None),
    ("drop=1", "APIConnectionError", None),
])
def test_each_fault_reaches_the_sdk_as_the_vendor_would(
        transport_factory: Callable[..., Any], spec: str, exc: str, status: int | None) -> None:
    client = make_client(transport_factory(faults=spec))
    with pytest.raises(getattr(openai, exc)) as err:
        client.files.list()
    if exc == "APIConnectionError":
        assert not isinstance(err.value, openai.APITimeoutError)
    if status is not None:
        assert err.value.status_code == status
        assert err.value.body["type"] in ("requests", "server_error")
        assert err.value.response.headers["x-tuneops-sandbox-fault"] == str(status)
    if status == 429:
        assert err.value.code == "rate_limit_exceeded"
        assert err.value.response.headers["retry-after"] == "2"
        assert err.value.response.headers["retry-after-ms"] == "2000"


def test_sdk_retries_honour_retry_after(transport_factory: Callable[..., Any]) -> None:
    # a seed whose first draw is a 429 and whose second is clean
    seed = next(s for s in range(1000) if _draws(f"429=0.5,seed={s}", 2) == [Fault.RATE_LIMIT, None])
    client = make_client(transport_factory(faults=f"429=0.5,seed={seed},retry_after=0.01"), max_retries=2)
    page = client.files.with_raw_response.list()
    assert page.retries_taken == 1


def _draws(spec: str, n: int) -> list[Fault | None]:
    inj = FaultInjector(parse_faults(spec))
    return [inj.draw() for _ in range(n)]


def test_a_lost_response_still_takes_effect(transport_factory: Callable[..., Any], good_file: Path) -> None:
    clean = make_client(transport_factory())
    f = upload(clean, good_file)
    lossy = make_client(transport_factory(faults="lost=1"))
    with pytest.raises(openai.APITimeoutError):
        lossy.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=f.id, metadata={"ref": "r-1"})
    jobs = list(clean.fine_tuning.jobs.list(metadata={"ref": "r-1"}))
    assert len(jobs) == 1 and jobs[0].training_file == f.id


def test_fail_jobs_makes_jobs_fail_vendor_side(transport_factory: Callable[..., Any],
                                               good_file: Path) -> None:
    client = make_client(transport_factory(faults="fail_jobs=1"))
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, good_file).id)
    done = wait_for(client, job.id)
    assert done.status == "failed" and done.error.code == "server_error" and done.error.param is None
    assert done.fine_tuned_model is None and done.trained_tokens is None
    steps = [e for e in client.fine_tuning.jobs.list_events(job.id) if e.type == "metrics"]
    assert steps and steps[0].data["step"] < steps[0].data["total_steps"]  # it got partway


def test_which_jobs_fail_depends_only_on_seed_and_job(transport_factory: Callable[..., Any]) -> None:
    cfg = parse_faults("fail_jobs=0.5,seed=5")
    verdicts = [FaultInjector(cfg).job_fails(f"ftjob-{i}") for i in range(200)]
    assert verdicts == [FaultInjector(cfg).job_fails(f"ftjob-{i}") for i in range(200)]
    assert 60 < sum(v is not None for v in verdicts) < 140
    assert all(0 < v < 1 for v in verdicts if v is not None)
