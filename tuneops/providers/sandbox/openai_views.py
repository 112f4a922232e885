"""How a stored OpenAI fine-tuning job looks at a given moment: the job object, its events, its
checkpoints and its result file, all derived from the stored document, its `Timeline` and `now`.

Shapes: schemas `FineTuningJob`, `FineTuningJobEvent`, `FineTuningJobCheckpoint` of OpenAI's
OpenAPI spec. Event wording follows what the live API emits ("Validating training file: ...",
"Files validated, moving job to queued state", "Step 12/100: training loss=1.23", "Checkpoint
created at step 50", "New fine-tuned model created", "The job has successfully completed").
"""

from __future__ import annotations

import base64
import math
from typing import Any

from tuneops.providers.sandbox.app import b62
from tuneops.providers.sandbox.openai_common import ORG_ID, ORG_SLUG
from tuneops.providers.sandbox.timeline import Timeline, loss_at, token_accuracy

__all__ = [
    "checkpoint_steps",
    "job_checkpoints",
    "job_events",
    "job_object",
    "metric_steps",
    "model_name",
    "results_file_content",
    "timeline_of",
]

_STATUS = {"validating": "validating_files"}
_ACTION_MESSAGES = {
    "pause": "Fine-tuning job paused",
    "resume": "Fine-tuning job resumed",
    "cancel": "Fine-tuning job cancelled",
}
MAX_METRIC_EVENTS = 100


def timeline_of(doc: dict[str, Any]) -> Timeline:
    p = doc["plan"]
    return Timeline(doc["created"], p["validate_s"], p["queue_s"], p["run_s"], p["total_steps"],
                    p["fail"], p["fail_at"], tuple((t, k) for t, k in doc["actions"]))


def model_name(doc: dict[str, Any], checkpoint_step: int | None = None) -> str:
    """``ft:<base>:<org>:<suffix>:<id>`` (suffix may be empty), as OpenAI names fine-tuned models;
    a checkpoint gets its own id and ``:ckpt-step-<N>`` (spec example of FineTuningJobCheckpoint)."""
    base = f"ft:{doc['model']}:{ORG_SLUG}:{doc.get('suffix') or ''}:"
    if checkpoint_step is None:
        return base + b62(doc["id"], "model", length=8)
    return base + b62(doc["id"], "ckpt", checkpoint_step, length=8) + f":ckpt-step-{checkpoint_step}"


def _hyper_view(doc: dict[str, Any], resolved: bool) -> dict[str, Any]:
    src = doc["resolved"] if resolved else doc["requested"]
    return dict(src)


def _validated(doc: dict[str, Any], tl: Timeline, now: float) -> bool:
    """Hyperparameters read "auto" until the files are validated, then their resolved values."""
    if doc["plan"]["fail"] == "file":
        return False
    at = tl.real(tl.queued_w)
    cancel = tl.cancelled_at
    return now >= at and (cancel is None or cancel >= at)


def job_object(doc: dict[str, Any], now: float) -> dict[str, Any]:
    tl = timeline_of(doc)
    phase = tl.phase_at(now)
    status = _STATUS.get(phase.name, phase.name)
    succeeded = status == "succeeded"
    hyper = _hyper_view(doc, _validated(doc, tl, now))
    common = {k: v for k, v in hyper.items() if k != "beta"}
    error = None
    if status == "failed":
        error = doc["error"] if doc["plan"]["fail"] == "file" else doc["vendor_error"]
    estimated = None
    if status in ("queued", "running"):
        # the vendor does not know a job will fail: it estimates the full run
        estimated = math.ceil(tl.real(tl.running_w + tl.run_s if tl.fail == "vendor" else tl.end_w))
    method_type = doc["method_type"]
    return {
        "object": "fine_tuning.job",
        "id": doc["id"],
        "model": doc["model"],
        "created_at": doc["created_at"],
        # Only a job that ran to an end by itself has finished_at; cancelled ones keep null
        # (API reference example of a cancelled job).
        "finished_at": int(phase.since) if status in ("succeeded", "failed") else None,
        "fine_tuned_model": model_name(doc) if succeeded else None,
        "organization_id": ORG_ID,
        "result_files": [doc["result_file"]] if succeeded else [],
        "status": status,
        "validation_file": doc["validation_file"],
        "training_file": doc["training_file"],
        # Top-level hyperparameters are deprecated in favour of method.<type>.hyperparameters but
        # still reported (FineTuningJob.hyperparameters is required).
        "hyperparameters": common,
        "trained_tokens": doc["dataset"]["tokens"] * doc["resolved"]["n_epochs"] if succeeded else None,
        "integrations": doc["integrations"],
        "seed": doc["seed"],
        "estimated_finish": estimated,
        "method": {"type": method_type, method_type: {"hyperparameters": hyper}},
        "metadata": doc["metadata"],
        "error": error,
        # not in the published schema, but sent by the live API next to `fine_tuned_model`
        "user_provided_suffix": doc.get("suffix"),
    }


def metric_steps(total: int) -> list[int]:
    """Steps that get a metrics event: all of them for short runs, about 100 for long ones."""
    if total <= 0:
        return []
    every = max(1, math.ceil(total / MAX_METRIC_EVENTS))
    return sorted({1, *range(every, total + 1, every), total})


def checkpoint_steps(doc: dict[str, Any]) -> list[int]:
    """One checkpoint at the end of each of the last three epochs: OpenAI keeps those
    (fine-tuning guide, "Checkpointed models")."""
    epochs = doc["resolved"]["n_epochs"]
    per_epoch = doc["plan"]["steps_per_epoch"]
    total = doc["plan"]["total_steps"]
    return [min(total, e * per_epoch) for e in range(max(1, epochs - 2), epochs + 1)] if total else []


def _metrics(doc: dict[str, Any], step: int, *, full: bool) -> dict[str, Any]:
    seed, total = doc["seed"], doc["plan"]["total_steps"]
    train = loss_at(seed, step, total)
    out: dict[str, Any] = {"step": step, "train_loss": train,
                           "train_mean_token_accuracy": token_accuracy(train)}
    if doc["validation_file"]:
        valid = loss_at(seed, step, total, offset=0.08, noise="valid")
        out |= {"valid_loss": valid, "valid_mean_token_accuracy": token_accuracy(valid)}
        if full:
            full_valid = loss_at(seed, step, total, offset=0.06, noise="full")
            out |= {"full_valid_loss": full_valid,
                    "full_valid_mean_token_accuracy": token_accuracy(full_valid)}
    return out


def _progress_end(tl: Timeline, now: float) -> float:
    """The last real time whose progress counts: now, or earlier if cancelled or finished."""
    stop = min(now, tl.real(tl.end_w))
    cancel = tl.cancelled_at
    return stop if cancel is None else min(stop, cancel)


def job_events(doc: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Events up to `now`, newest first (the order the live API lists them in)."""
    tl = timeline_of(doc)
    jid = doc["id"]
    stop = _progress_end(tl, now)
    found: list[tuple[float, int, dict[str, Any]]] = []

    def add(t: float, key: str, message: str, *, level: str = "info", type_: str = "message",
            data: dict[str, Any] | None = None, limit: float = stop) -> None:
        if t <= limit:
            found.append((t, len(found), {
                "object": "fine_tuning.job.event", "id": "ftevent-" + b62(jid, key, length=24),
                "created_at": int(t), "level": level, "message": message,
                "data": data or {}, "type": type_,
            }))

    files = f"Validating training file: {doc['training_file']}"
    if doc["validation_file"]:
        files += f" and validation file: {doc['validation_file']}"
    add(tl.created_at, "created", f"Created fine-tuning job: {jid}")
    add(tl.created_at, "validating", files)
    end = tl.real(tl.end_w)
    if tl.fail == "file":
        add(end, "failed", doc["error"]["message"], level="error")
    else:
        add(tl.real(tl.queued_w), "validated", "Files validated, moving job to queued state")
        add(tl.real(tl.running_w), "started", "Fine-tuning job started")
        total = tl.total_steps
        for step in metric_steps(total):
            m = _metrics(doc, step, full=False)
            data = {"step": step, "train_loss": m["train_loss"], "total_steps": total,
                    "train_mean_token_accuracy": m["train_mean_token_accuracy"]}
            if "valid_loss" in m:
                data |= {"valid_loss": m["valid_loss"],
                         "valid_mean_token_accuracy": m["valid_mean_token_accuracy"]}
            add(tl.real(tl.work_of_step(step)), f"step:{step}",
                f"Step {step}/{total}: training loss={m['train_loss']:.2f}", type_="metrics", data=data)
        for step in checkpoint_steps(doc):
            add(tl.real(tl.work_of_step(step)), f"ckpt:{step}", f"Checkpoint created at step {step}")
        if tl.fail == "vendor":
            add(end, "failed", doc["vendor_error"]["message"], level="error")
        else:
            for key, message in (("model", "New fine-tuned model created"),
                                 ("eval", "Evaluating model against our usage policies"),
                                 ("evaldone", "Usage policy evaluations completed, model is now"
                                              " enabled for sampling"),
                                 ("done", "The job has successfully completed")):
                add(end, key, message)
    for i, (t, kind) in enumerate(tl.actions):
        add(t, f"action:{i}", _ACTION_MESSAGES.get(kind, kind), limit=now)
    found.sort(key=lambda e: (e[0], e[1]))
    return [e for _, _, e in reversed(found)]


def job_checkpoints(doc: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Checkpoints made by `now`, newest first."""
    tl = timeline_of(doc)
    if tl.fail == "file":
        return []
    stop = _progress_end(tl, now)
    out = []
    for step in checkpoint_steps(doc):
        t = tl.real(tl.work_of_step(step))
        if t > stop:
            continue
        out.append({
            "object": "fine_tuning.job.checkpoint",
            "id": "ftckpt_" + b62(doc["id"], "checkpoint", step, length=24),
            "created_at": int(t), "fine_tuning_job_id": doc["id"],
            "fine_tuned_model_checkpoint": model_name(doc, step),
            "metrics": _metrics(doc, step, full=True), "step_number": step,
        })
    return out[::-1]


def results_file_content(doc: dict[str, Any]) -> bytes:
    """The job's ``step_metrics.csv``. The live API serves result files base64-encoded, and
    clients decode them (as OpenAI's fine-tuning cookbook notebooks do), so this one is too."""
    total = doc["plan"]["total_steps"]
    every = max(1, math.ceil(total / 10_000))
    rows = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"]
    for step in sorted({*range(every, total + 1, every), total} - {0}):
        m = _metrics(doc, step, full=False)
        rows.append(f"{step},{m['train_loss']},{m['train_mean_token_accuracy']},"
                    f"{m.get('valid_loss', '')},{m.get('valid_mean_token_accuracy', '')}")
    return base64.b64encode(("\n".join(rows) + "\n").encode())
