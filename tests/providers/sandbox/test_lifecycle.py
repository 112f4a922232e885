"""Fine-tuning jobs through the official `openai` SDK (max_retries=0) against the in-process
sandbox: the whole life of a job, a bad file, cancel, pause/resume, paging, metadata filtering,
persistence across instances and determinism for a seed."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.providers.sandbox.conftest import make_client, upload, wait_for
from tuneops.datasets.cost import openai_auto_epochs
from tuneops.datasets.rules import get_pack
from tuneops.datasets.tokens import counter_for
from tuneops.providers.sandbox import ManualClock

SNAPSHOT = "gpt-4o-mini-2024-07-18"


def tokens_of(path: Path, method: str = "sft") -> tuple[int, int]:
    """(training tokens of one pass, examples), counted the way the brief prescribes."""
    counter = counter_for(get_pack("openai", method), SNAPSHOT)
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return sum(counter.count(r).training for r in rows), len(rows)


def test_whole_lifecycle(client: Any, good_file: Path) -> None:
    f = upload(client, good_file)
    assert f.purpose == "fine-tune" and f.bytes == good_file.stat().st_size
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=f.id, suffix="my-suffix",
                                         metadata={"team": "search", "run": "1"})
    assert job.status == "validating_files" and job.model == SNAPSHOT
    assert job.hyperparameters.n_epochs == "auto" and job.fine_tuned_model is None
    assert job.metadata == {"team": "search", "run": "1"}

    done = wait_for(client, job.id)
    assert done.status == "succeeded", done.error
    assert re.fullmatch(rf"ft:{SNAPSHOT}:tuneops-sandbox:my-suffix:[A-Za-z0-9]{{8}}", done.fine_tuned_model)
    tokens, n = tokens_of(good_file)
    epochs = openai_auto_epochs(n)
    assert done.hyperparameters.n_epochs == epochs
    assert done.method.supervised.hyperparameters.n_epochs == epochs
    assert done.trained_tokens == tokens * epochs
    assert done.finished_at >= done.created_at and done.error is None

    events = list(client.fine_tuning.jobs.list_events(done.id, limit=5))
    messages = [e.message for e in events]
    assert messages[0] == "The job has successfully completed"
    assert messages[-1] == f"Created fine-tuning job: {done.id}"
    assert "Fine-tuning job started" in messages and "New fine-tuned model created" in messages
    assert [e.created_at for e in events] == sorted((e.created_at for e in events), reverse=True)
    metrics = [e for e in events if e.type == "metrics"]
    assert metrics and metrics[0].data["step"] == metrics[0].data["total_steps"]

    ckpts = list(client.fine_tuning.jobs.checkpoints.list(done.id))
    assert [c.step_number for c in ckpts] == sorted((c.step_number for c in ckpts), reverse=True)
    assert len(ckpts) == min(3, epochs) and ckpts[0].step_number == metrics[0].data["total_steps"]
    assert ckpts[0].fine_tuned_model_checkpoint.endswith(f":ckpt-step-{ckpts[0].step_number}")
    assert ckpts[0].metrics.train_loss > 0

    (result_id,) = done.result_files
    result = client.files.retrieve(result_id)
    assert result.purpose == "fine-tune-results" and result.filename == "step_metrics.csv"
    csv = base64.b64decode(client.files.content(result_id).read()).decode()
    assert csv.startswith("step,train_loss,train_accuracy")


def test_dpo_job_with_explicit_hyperparameters(client: Any, dpo_file: Path) -> None:
    f = upload(client, dpo_file)
    job = client.fine_tuning.jobs.create(
        model=SNAPSHOT, training_file=f.id,
        method={"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2, "beta": 0.2}}})
    done = wait_for(client, job.id)
    assert done.status == "succeeded" and done.method.type == "dpo"
    assert done.method.dpo.hyperparameters.beta == 0.2
    assert done.trained_tokens == tokens_of(dpo_file, "dpo")[0] * 2
    assert re.fullmatch(rf"ft:{SNAPSHOT}:tuneops-sandbox::[A-Za-z0-9]{{8}}", done.fine_tuned_model)


def test_bad_file_fails_like_openai_naming_the_lines(client: Any, bad_file: Path) -> None:
    f = upload(client, bad_file)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=f.id)
    assert job.status == "validating_files" and job.error is None
    done = wait_for(client, job.id)
    assert done.status == "failed"
    assert done.error.code == "invalid_training_file" and done.error.param == "training_file"
    assert "Line 3" in done.error.message and "robot" in done.error.message
    assert "Line 7" in done.error.message
    assert done.fine_tuned_model is None and done.trained_tokens is None and done.result_files == []
    events = list(client.fine_tuning.jobs.list_events(done.id))
    assert events[0].level == "error" and events[0].message == done.error.message
    assert list(client.fine_tuning.jobs.checkpoints.list(done.id)) == []


def _manual(transport_factory: Callable[..., Any], **kw: Any) -> tuple[Any, ManualClock]:
    clock = ManualClock()
    return make_client(transport_factory(clock=clock, speed=1.0, **kw)), clock


def test_cancel(transport_factory: Callable[..., Any], good_file: Path) -> None:
    client, clock = _manual(transport_factory)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, good_file).id)
    clock.advance(90)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at is None
    clock.advance(10_000)
    later = client.fine_tuning.jobs.retrieve(job.id)
    assert later.status == "cancelled" and later.fine_tuned_model is None
    assert next(iter(client.fine_tuning.jobs.list_events(job.id))).message == "Fine-tuning job cancelled"
    with pytest.raises(openai.BadRequestError) as err:
        client.fine_tuning.jobs.cancel(job.id)
    assert "cancelled" in err.value.message


def test_pause_and_resume(transport_factory: Callable[..., Any], good_file: Path) -> None:
    client, clock = _manual(transport_factory)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, good_file).id)
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.pause(job.id)  # not running yet
    clock.advance(90)
    running = client.fine_tuning.jobs.retrieve(job.id)
    assert running.status == "running" and running.estimated_finish is not None
    paused = client.fine_tuning.jobs.pause(job.id)
    assert paused.status == "paused"
    steps_before = len(list(client.fine_tuning.jobs.list_events(job.id)))
    clock.advance(5_000)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"
    assert len(list(client.fine_tuning.jobs.list_events(job.id))) == steps_before
    resumed = client.fine_tuning.jobs.resume(job.id)
    assert resumed.status == "running"
    assert resumed.estimated_finish == pytest.approx(running.estimated_finish + 5_000, abs=1)
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.resume(job.id)
    clock.advance(10_000)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded"
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id)]
    assert "Fine-tuning job paused" in messages and "Fine-tuning job resumed" in messages


def test_pagination_and_metadata_filter(client: Any, good_file: Path) -> None:
    f = upload(client, good_file)
    ids = [client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=f.id,
                                          metadata={"team": "a" if i % 3 == 0 else "b"}).id
           for i in range(7)]
    first = client.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in first.data] == ids[::-1][:2] and first.has_more
    assert [j.id for j in client.fine_tuning.jobs.list(limit=2)] == ids[::-1]  # auto-paging
    assert [j.id for j in client.fine_tuning.jobs.list(limit=2, after=ids[3])] == ids[:3][::-1]
    team_a = [j.id for j in client.fine_tuning.jobs.list(limit=2, metadata={"team": "a"})]
    assert team_a == [ids[6], ids[3], ids[0]]
    assert list(client.fine_tuning.jobs.list(metadata={"team": "zzz"})) == []
    events = client.fine_tuning.jobs.list_events(ids[0], limit=1)
    assert len(events.data) == 1 and events.has_more


def test_state_persists_across_transport_instances(transport_factory: Callable[..., Any],
                                                   good_file: Path) -> None:
    one = make_client(transport_factory())
    f = upload(one, good_file)
    job = one.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=f.id, suffix="persist")
    two = make_client(transport_factory())  # a new instance over the same directory
    assert two.files.retrieve(f.id).filename == good_file.name
    done = wait_for(two, job.id)
    assert done.status == "succeeded" and ":persist:" in done.fine_tuned_model
    assert one.fine_tuning.jobs.retrieve(job.id).fine_tuned_model == done.fine_tuned_model


def _scripted_run(directory: Path, seed: int, data: Path) -> list[Any]:
    from tuneops.providers.sandbox import SandboxTransport

    clock = ManualClock(1_760_000_000)
    client = make_client(SandboxTransport(directory, clock=clock, seed=seed, speed=1.0, faults=""))
    f = upload(client, data)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=f.id, suffix="det")
    clock.advance(100_000)
    return [f.model_dump(), job.model_dump(), client.fine_tuning.jobs.retrieve(job.id).model_dump(),
            [e.model_dump() for e in client.fine_tuning.jobs.list_events(job.id)],
            [c.model_dump() for c in client.fine_tuning.jobs.checkpoints.list(job.id)]]


def test_deterministic_for_a_seed(tmp_path: Path, good_file: Path) -> None:
    a = _scripted_run(tmp_path / "a", 7, good_file)
    b = _scripted_run(tmp_path / "b", 7, good_file)
    c = _scripted_run(tmp_path / "c", 8, good_file)
    assert a == b
    assert a[1]["id"] != c[1]["id"] and a[2]["fine_tuned_model"] != c[2]["fine_tuned_model"]


def test_request_validation_errors(client: Any, good_file: Path) -> None:
    f = upload(client, good_file)
    jobs = client.fine_tuning.jobs
    cases: list[tuple[dict[str, Any], str | None, str | None]] = [
        ({"training_file": f.id}, "model", "missing_required_parameter"),
        ({"model": "gpt-4-turbo", "training_file": f.id}, "model", "model_not_available"),
        ({"model": "gpt-4o-mini", "training_file": "file-nope"}, "training_file", "file_not_found"),
        ({"model": "gpt-4o-mini", "training_file": f.id, "suffix": "x" * 65}, "suffix", "invalid_value"),
        ({"model": "gpt-4o-mini", "training_file": f.id, "seed": "7"}, "seed", "invalid_type"),
        ({"model": "gpt-4o-mini", "training_file": f.id,
          "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 99}}}},
         "method.supervised.hyperparameters.n_epochs", "integer_above_max_value"),
        ({"model": "gpt-4o-mini", "training_file": f.id, "colour": "blue"}, "colour", "unknown_parameter"),
    ]
    for body, param, code in cases:
        with pytest.raises(openai.BadRequestError) as err:
            client.post("/fine_tuning/jobs", body=body, cast_to=object)
        assert err.value.param == param and err.value.code == code, body
        assert err.value.type == "invalid_request_error"
    with pytest.raises(openai.NotFoundError):
        jobs.retrieve("ftjob-doesnotexist")
    with pytest.raises(openai.NotFoundError) as nf:
        client.get("/fine_tuning/nothing", cast_to=object)
    assert nf.value.message.startswith("Error code: 404") and "Invalid URL" in str(nf.value.body)
