"""How a stored Mistral fine-tuning job looks at a given moment: its status, the job object (plain
for lists and creation, detailed with events and checkpoints for GET / start / cancel), all derived
from the stored document, its `Timeline` and `now`.

Status sequence emulated (the spec lists the statuses but not their order; this order follows
Mistral's fine-tuning guide, where a job created with ``auto_start=false`` waits, validated, for
``POST /v1/fine_tuning/jobs/{id}/start``):

    QUEUED -> VALIDATING -> VALIDATED -> [start] -> STARTED -> RUNNING -> SUCCESS
                         -> FAILED_VALIDATION                          -> FAILED
    any unfinished state -> [cancel] -> (CANCELLATION_REQUESTED while a run winds down) -> CANCELLED

The wait for ``start`` is a pause of the shared `Timeline` that begins when validation ends; a job
created with ``auto_start=true`` (or started while it validates) has no pause. Events are
``{"name": "status-updated", "data": {"status": ...}}``, one per status change.
"""

from __future__ import annotations

import math
from typing import Any

from tuneops.providers.sandbox.app import b62
from tuneops.providers.sandbox.timeline import Timeline, loss_at, token_accuracy

__all__ = [
    "checkpoints",
    "events",
    "job_object",
    "model_name",
    "status_at",
    "timeline_of",
]

ORG = "5f1e7a3c"  # the organisation part of fine-tuned model names (8 hex digits, as in the spec)
QUEUED_SHARE = 0.2  # of the validation window spent QUEUED before VALIDATING
MAX_CHECKPOINTS = 5


def timeline_of(doc: dict[str, Any]) -> Timeline:
    p = doc["plan"]
    return Timeline(doc["created"], p["validate_s"], p["queue_s"], p["run_s"], p["total_steps"],
                    p["fail"], p["fail_at"], tuple((t, k) for t, k in doc["actions"]))


def status_at(doc: dict[str, Any], now: float) -> tuple[str, float]:
    """Mistral's status at `now` and the real time it began."""
    tl = timeline_of(doc)
    phase = tl.phase_at(now)
    name = phase.name
    if name == "validating" and tl.work(now) >= tl.queued_w - 1e-6:
        # the instant of a /start: work time is back at the end of validation, give or take
        # floating-point rounding of the pause
        return "STARTED", now
    if name == "validating":
        switch = tl.created_at + QUEUED_SHARE * tl.validate_s
        return ("QUEUED", tl.created_at) if now < switch else ("VALIDATING", switch)
    if name == "paused":
        return "VALIDATED", phase.since
    if name == "queued":
        return "STARTED", phase.since
    if name == "running":
        return "RUNNING", phase.since
    if name == "succeeded":
        return "SUCCESS", phase.since
    if name == "failed":
        return ("FAILED_VALIDATION" if tl.fail == "file" else "FAILED"), phase.since
    # cancelled: a job stopped mid-run takes a while to wind down
    cancel_at = phase.since
    if tl.work(cancel_at) >= tl.running_w and now < cancel_at + doc["plan"]["cancel_s"]:
        return "CANCELLATION_REQUESTED", cancel_at
    ran = tl.work(cancel_at) >= tl.running_w
    return "CANCELLED", cancel_at + (doc["plan"]["cancel_s"] if ran else 0.0)


def model_name(doc: dict[str, Any]) -> str:
    """``ft:<base>:<org>:<suffix>:<8 hex>`` like the spec's example
    ``ft:open-mistral-7b:587a6b29:20240514:7e773925`` (no suffix: that part is left out)."""
    tail = b62(doc["id"], "model", length=8).lower().encode().hex()[:8]
    parts = ["ft", doc["model"], ORG, *([doc["suffix"]] if doc.get("suffix") else []), tail]
    return ":".join(parts)


def _hyperparameters(doc: dict[str, Any]) -> dict[str, Any]:
    h = doc["hyperparameters"]
    return {"training_steps": doc["metadata"]["training_steps"], "learning_rate": h["learning_rate"],
            "weight_decay": h["weight_decay"], "warmup_fraction": h["warmup_fraction"],
            "epochs": h.get("epochs"), "seq_len": h.get("seq_len"), "fim_ratio": h["fim_ratio"]}


def _metadata(doc: dict[str, Any]) -> dict[str, Any]:
    m = doc["metadata"]
    return {k: m[k] for k in ("expected_duration_seconds", "cost", "cost_currency",
                              "train_tokens_per_step", "train_tokens", "data_tokens",
                              "estimated_start_time")}


def job_object(doc: dict[str, Any], now: float, *, detailed: bool = False) -> dict[str, Any]:
    status, since = status_at(doc, now)
    changed = max([doc["created"], since, *(t for t, _ in doc["actions"] if t <= now)])
    success = status == "SUCCESS"
    out: dict[str, Any] = {
        "id": doc["id"],
        "auto_start": doc["auto_start"],
        "model": doc["model"],
        "status": status,
        "created_at": int(doc["created"]),
        "modified_at": int(changed),
        "training_files": [f["file_id"] for f in doc["training_files"]],
        "validation_files": list(doc["validation_files"]),
        "object": "job",
        "fine_tuned_model": model_name(doc) if success else None,
        "suffix": doc.get("suffix"),
        "integrations": doc["integrations"],
        "trained_tokens": doc["metadata"]["train_tokens"] if success else None,
        "metadata": _metadata(doc),
        "job_type": "completion",
        "hyperparameters": _hyperparameters(doc),
        "repositories": [],
    }
    if detailed:
        out["events"] = events(doc, now)
        out["checkpoints"] = checkpoints(doc, now)
    return out


def events(doc: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """One ``status-updated`` event per status reached by `now`, newest first. The event of a
    failed validation carries the reasons (Mistral's job objects have no error field)."""
    tl = timeline_of(doc)
    seen: list[tuple[float, str]] = []
    # probe every moment a status may change; status_at is the single source of truth
    moments = {tl.created_at, tl.created_at + QUEUED_SHARE * tl.validate_s,
               tl.real(tl.queued_w), tl.real(tl.running_w), tl.real(tl.end_w),
               *(t for t, _ in doc["actions"])}
    cancel = tl.cancelled_at
    if cancel is not None:
        moments.add(cancel + doc["plan"]["cancel_s"])
    for t in sorted(m for m in moments if m <= now and math.isfinite(m)):
        # just after the moment: a boundary computed through the pauses may be off by rounding
        status, _ = status_at(doc, min(now, t + 1e-6))
        if not seen or seen[-1][1] != status:
            seen.append((t, status))
    out = []
    for t, status in seen:
        data: dict[str, Any] = {"status": status}
        if status == "FAILED_VALIDATION" and doc.get("error"):
            data["error"] = doc["error"]
        elif status == "FAILED":
            data["error"] = ("The job failed due to an internal error. (tuneops sandbox: injected"
                             " fault fail_jobs)")
        out.append({"name": "status-updated", "data": data, "created_at": int(t)})
    return out[::-1]


def _checkpoint_steps(total: int) -> list[int]:
    if total <= 0:
        return []
    return sorted({max(1, math.ceil(total * k / MAX_CHECKPOINTS)) for k in range(1, MAX_CHECKPOINTS + 1)})


def checkpoints(doc: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Checkpoints saved by `now`, newest first, with the metrics of `CheckpointOut`."""
    tl = timeline_of(doc)
    if tl.fail == "file":
        return []
    stop = min(now, tl.real(tl.end_w))
    cancel = tl.cancelled_at
    if cancel is not None:
        stop = min(stop, cancel)
    total = tl.total_steps
    out = []
    for step in _checkpoint_steps(total):
        t = tl.real(tl.work_of_step(step))
        if t > stop:
            continue
        train = loss_at(doc["seed"], step, total)
        metrics: dict[str, Any] = {"train_loss": train, "valid_loss": None,
                                   "valid_mean_token_accuracy": None}
        if doc["validation_files"]:
            valid = loss_at(doc["seed"], step, total, offset=0.08, noise="valid")
            metrics |= {"valid_loss": valid, "valid_mean_token_accuracy": token_accuracy(valid)}
        out.append({"metrics": metrics, "step_number": step, "created_at": int(t)})
    return out[::-1]
