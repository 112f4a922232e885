"""How a stored Together fine-tune looks at a given moment: the job object, its events and its
checkpoints, derived from the stored document, its `Timeline` and `now`.

Statuses (`FinetuneJobStatus`, together/lib/types/fine_tuning.py): the timeline's validating phase
shows as ``pending``, then ``queued``, ``running``; the last tenth of the run is spent
``compressing`` then ``uploading`` the model (training steps end at 90 % of the run); the job ends
``completed``, ``error`` (vendor failure), ``user_error`` (bad data) or, after
``cancel_requested``, ``cancelled``. Event types are `FinetuneEventType` (types/finetune_event_type.py),
plus ``job_user_error``, which only the SDK's older enum (`lib/types/fine_tuning.py`,
``JOB_USER_ERROR``) names.

Every event carries all the fields the spec's `FineTuneEvent` requires (``param_count``,
``token_count``, ``total_steps``, ``wandb_url``, ``step``, ``checkpoint_path``, ``model_path``,
``training_offset``, ``hash``), typed as the spec types them (integers and strings, never null):
an event that has nothing to say in one sends 0 or "" (`EVENT_DEFAULTS`). The SDK types them all
as optional (`together/types/finetune_event.py`) and so reads either.
"""

from __future__ import annotations

import math
from typing import Any

from tuneops.providers.sandbox.app import b62
from tuneops.providers.sandbox.timeline import Timeline
from tuneops.providers.sandbox.together_common import USER_ID, iso

__all__ = ["EVENT_DEFAULTS", "TRAIN_SHARE", "checkpoint_steps", "job_checkpoints", "job_events",
           "job_object", "status_at", "timeline_of"]

TRAIN_SHARE = 0.9  # share of the run spent training; the rest compressing (half) and uploading
EVENT_DEFAULTS: dict[str, Any] = {
    "param_count": 0, "token_count": 0, "total_steps": 0, "wandb_url": "", "step": 0,
    "checkpoint_path": "", "model_path": "", "training_offset": 0,
}


def timeline_of(doc: dict[str, Any]) -> Timeline:
    p = doc["plan"]
    return Timeline(doc["created"], p["validate_s"], p["queue_s"], p["run_s"], p["total_steps"],
                    p["fail"], p["fail_at"], tuple((t, k) for t, k in doc["actions"]))


def _frac(tl: Timeline, now: float) -> float:
    return max(0.0, (tl.work(now) - tl.running_w) / tl.run_s) if tl.run_s > 0 else 1.0


def step_at(tl: Timeline, frac: float) -> int:
    return min(tl.total_steps, math.floor(frac / TRAIN_SHARE * tl.total_steps + 1e-9))


def time_of(tl: Timeline, frac: float) -> float:
    return tl.real(tl.running_w + tl.run_s * frac)


def status_at(doc: dict[str, Any], now: float) -> tuple[str, float]:
    """Together's status at `now` and the time it began."""
    tl = timeline_of(doc)
    phase = tl.phase_at(now)
    if phase.name == "cancelled":
        stopped = phase.since + doc["plan"]["cancel_s"]
        return ("cancel_requested", phase.since) if now < stopped else ("cancelled", stopped)
    if phase.name == "failed":
        return ("user_error" if tl.fail == "file" else "error"), phase.since
    if phase.name == "succeeded":
        return "completed", phase.since
    if phase.name == "validating":
        return "pending", phase.since
    if phase.name == "queued":
        return "queued", phase.since
    frac = _frac(tl, now)
    if frac >= (1 + TRAIN_SHARE) / 2:
        return "uploading", time_of(tl, (1 + TRAIN_SHARE) / 2)
    if frac >= TRAIN_SHARE:
        return "compressing", time_of(tl, TRAIN_SHARE)
    return "running", phase.since


def _billed_tokens(doc: dict[str, Any]) -> int:
    d = doc["dataset"]
    return int(d["tokens"] * doc["n_epochs"] + d["eval_tokens"] * doc["n_evals"])


def job_object(doc: dict[str, Any], now: float, *, truncated: bool = False) -> dict[str, Any]:
    tl = timeline_of(doc)
    status, since = status_at(doc, now)
    started = tl.real(tl.running_w)
    has_started = now >= started and status not in ("pending", "queued", "user_error")
    frac = _frac(tl, now) if has_started else 0.0
    steps_done = step_at(tl, min(frac, 1.0)) if has_started else 0
    per_epoch = max(1, doc["plan"]["steps_per_epoch"])
    remaining = 0
    if status in ("pending", "queued", "running", "compressing", "uploading"):
        remaining = max(0, math.ceil(tl.real(tl.running_w + tl.run_s) - now))
    out: dict[str, Any] = {
        "id": doc["id"],
        "status": status,
        "user_id": USER_ID,
        "created_at": iso(tl.created_at),
        "updated_at": iso(max(since, tl.created_at)),
        "started_at": iso(started) if has_started else None,
        "model": doc["model"],
        "model_output_name": doc["output_name"],
        "suffix": doc["suffix"],
        "training_file": doc["training_file"],
        "validation_file": doc["validation_file"],
        "n_epochs": doc["n_epochs"],
        "n_evals": doc["n_evals"],
        "n_checkpoints": doc["n_checkpoints"],
        "batch_size": doc["batch_size"],
        "learning_rate": doc["learning_rate"],
        "warmup_ratio": doc["warmup_ratio"],
        "max_grad_norm": 1.0,
        "weight_decay": 0.0,
        "lr_scheduler": {"lr_scheduler_type": "cosine",
                         "lr_scheduler_args": {"min_lr_ratio": 0.0, "num_cycles": 0.5}},
        "packing": True,
        "random_seed": doc["random_seed"],
        "training_method": doc["training_method"],
        "training_type": doc["training_type"],
        # Sandbox assumption: token_count is the billed count (epochs x training tokens +
        # n_evals x validation tokens), known once the data has been read at the start.
        "token_count": _billed_tokens(doc) if has_started else None,
        # nanodollars (together/lib/utils/tools.py), set when the job has completed
        "total_price": (round(_billed_tokens(doc) * doc["usd_per_token"] * 1e9)
                        if status == "completed" else None),
        "epochs_completed": min(doc["n_epochs"], steps_done // per_epoch),
        "queue_depth": 0 if status == "queued" else None,
        "progress": {"estimate_available": remaining > 0, "seconds_remaining": remaining},
        "trainingfile_numlines": doc["dataset"]["lines"],
        "trainingfile_size": doc["dataset"]["bytes"],
        "param_count": None,
    }
    if not truncated:
        out["events"] = job_events(doc, now)
    return out


def checkpoint_steps(doc: dict[str, Any]) -> list[int]:
    """`n_checkpoints` evenly spaced steps, the last one the final model."""
    total, n = doc["plan"]["total_steps"], max(1, doc["n_checkpoints"])
    return sorted({max(1, round(total * k / n)) for k in range(1, n + 1)}) if total else []


def job_events(doc: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Events up to `now`, oldest first."""
    tl = timeline_of(doc)
    jid = doc["id"]
    found: list[tuple[float, int, dict[str, Any]]] = []
    status, _ = status_at(doc, now)
    cancel = tl.cancelled_at
    stop = min(now, cancel) if cancel is not None else now

    def add(t: float, type_: str, message: str, *, level: str = "info", limit: float | None = None,
            **extra: Any) -> None:
        if t <= (stop if limit is None else limit):
            found.append((t, len(found), {
                "object": "fine-tune-event", "created_at": iso(t), "type": type_, "level": level,
                "message": message, **EVENT_DEFAULTS, **extra,
                "hash": b62(jid, type_, len(found), length=16)}))

    add(tl.created_at, "job_pending", "Fine tune request created")
    end = tl.real(tl.end_w)
    if tl.fail == "file":
        add(end, "job_user_error", doc["error_message"], level="error")
    else:
        start = tl.real(tl.running_w)
        add(start, "job_start", "Job started")
        add(start, "model_downloading", f"Downloading model {doc['model']}")
        add(start, "model_download_complete", "Model download complete")
        add(start, "training_data_downloading", "Downloading training data")
        add(start, "training_data_download_complete", "Training data download complete",
            token_count=_billed_tokens(doc))
        add(start, "training_start", "Training started")
        total, per_epoch = tl.total_steps, max(1, doc["plan"]["steps_per_epoch"])
        for epoch in range(1, doc["n_epochs"] + 1):
            step = min(total, epoch * per_epoch)
            add(time_of(tl, TRAIN_SHARE * step / max(1, total)), "epoch_complete",
                f"Epoch completed, at step {step}", step=step, total_steps=total)
        for step in checkpoint_steps(doc)[:-1]:
            add(time_of(tl, TRAIN_SHARE * step / max(1, total)), "checkpoint_save",
                f"Checkpoint saved at step {step}", step=step,
                checkpoint_path=f"{doc['output_name']}-step-{step}")
        if tl.fail == "vendor":
            add(end, "job_error", doc["vendor_error"], level="error")
        else:
            for frac, type_, message in (
                    (TRAIN_SHARE, "training_complete", "Training completed"),
                    (TRAIN_SHARE, "model_compressing", "Compressing output model"),
                    ((1 + TRAIN_SHARE) / 2, "model_compression_complete", "Model compression complete"),
                    ((1 + TRAIN_SHARE) / 2, "model_uploading", "Uploading output model"),
                    (1.0, "model_upload_complete", "Model upload complete")):
                add(time_of(tl, frac), type_, message)
            add(end, "job_complete", "Fine tuning job completed", model_path=doc["output_name"])
    if cancel is not None and cancel < end:
        add(cancel, "cancel_requested", "Cancel requested by user", limit=now)
        if status == "cancelled":
            add(cancel + doc["plan"]["cancel_s"], "job_stopped", "Job stopped", limit=now)
    found.sort(key=lambda e: (e[0], e[1]))
    return [e for _, _, e in found]


def job_checkpoints(doc: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """Checkpoints saved by `now`, newest first; the final one once the job has completed."""
    tl = timeline_of(doc)
    if tl.fail == "file":
        return []
    status, _ = status_at(doc, now)
    steps = checkpoint_steps(doc)
    kind = "adapter" if doc["training_type"].get("type") == "Lora" else "model"
    out = []
    stop = min(now, tl.cancelled_at) if tl.cancelled_at is not None else now
    for step in steps[:-1]:
        t = time_of(tl, TRAIN_SHARE * step / max(1, tl.total_steps))
        if t <= stop and t <= tl.real(tl.end_w):
            out.append({"checkpoint_type": f"Intermediate (step {step})", "created_at": iso(t),
                        "path": f"{doc['output_name']}-step-{step}", "step": step,
                        "checkpoint": kind})
    if status == "completed" and steps:
        out.append({"checkpoint_type": "Final", "created_at": iso(tl.real(tl.end_w)),
                    "path": doc["output_name"], "step": steps[-1], "checkpoint": kind})
    return out[::-1]
