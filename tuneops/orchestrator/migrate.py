"""`tuneops migrate`: take a job's data and settings to another vendor, through the normal
submit pipeline (validate, convert with its lossiness report, estimate, budget guard, upload,
create), with the new job linked to the old one in the ledger.

Why: OpenAI accepts no new fine-tuning jobs from 2027-01-06; people with OpenAI-format datasets
and job settings need to take them elsewhere in one step.

Hyperparameters are carried where the target has an equivalent and named where it has none:
epochs everywhere; OpenAI's learning-rate *multiplier* only where the target also takes a
multiplier (Vertex), not where it takes an absolute rate (Mistral, Together: a multiplier of an
unpublished per-model default has no faithful conversion); batch size where the target sets one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneops.errors import DatasetIOError, UsageError
from tuneops.orchestrator.records import JobRecord
from tuneops.orchestrator.submit import SubmitRequest, sha256_of

__all__ = ["TARGET_HYPERPARAMETERS", "MigrationPlan", "plan_migration", "source_hyperparameters"]

# What each vendor's job creation takes, in our names.
TARGET_HYPERPARAMETERS: dict[str, frozenset[str]] = {
    "openai": frozenset({"epochs", "batch_size", "learning_rate_multiplier"}),
    "vertex": frozenset({"epochs", "learning_rate_multiplier"}),
    "mistral": frozenset({"epochs"}),
    "together": frozenset({"epochs", "batch_size"}),
}
_WHY_NOT = {
    "learning_rate_multiplier": "{to} takes an absolute learning rate, not a multiplier of a"
                                " model default; {to}'s default is used",
    "batch_size": "{to} does not let you set a batch size; it chooses one",
    "epochs": "{to} does not take an epoch count",
}
# The names vendors resolve our settings to (hyperparameters as the vendor reported them).
_RESOLVED_NAMES = {
    "epochs": ("n_epochs", "epochs", "epoch_count", "epochCount"),
    "batch_size": ("batch_size",),
    "learning_rate_multiplier": ("learning_rate_multiplier", "learningRateMultiplier"),
}


def source_hyperparameters(record: JobRecord) -> dict[str, Any]:
    """The settings the source job trained with: what was asked for, and where it was left to
    the vendor ("auto"), what the vendor resolved it to."""
    asked = dict(record.hyperparameters_requested or {})
    resolved = record.hyperparameters_resolved or {}
    out: dict[str, Any] = {}
    for ours, names in _RESOLVED_NAMES.items():
        value = asked.get(ours)
        if value is None or value == "auto":
            value = next((resolved[n] for n in names if resolved.get(n) not in (None, "auto")),
                         None)
        if value is not None:
            out[ours] = value
    if isinstance(out.get("epochs"), float) and float(out["epochs"]).is_integer():
        out["epochs"] = int(out["epochs"])
    return out


@dataclass(frozen=True)
class MigrationPlan:
    source: JobRecord
    request: SubmitRequest
    carried: dict[str, Any] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)  # setting -> why it is not carried

    def to_dict(self) -> dict[str, Any]:
        r = self.request
        return {"from": {"id": self.source.id, "provider": self.source.provider,
                         "vendor_job_id": self.source.vendor_job_id,
                         "base_model": self.source.base_model},
                "to": {"provider": r.provider, "model": r.model, "method": r.method},
                "file": str(r.file), "validation_file": None if r.validation_file is None
                else str(r.validation_file), "carried": self.carried, "dropped": self.dropped}

    def summary(self) -> str:
        lines = [f"migrating {self.source.id} ({self.source.provider} {self.source.base_model})"
                 f" to {self.request.provider} {self.request.model}"]
        for key, value in self.carried.items():
            lines.append(f"  carried: {key} = {value}")
        for key, why in self.dropped.items():
            lines.append(f"  not carried: {key}: {why}")
        return "\n".join(lines)


def _source_file(path: str | None, sha: str | None, what: str, job: JobRecord) -> Path:
    if not path:
        raise UsageError(f"{job.id} has no {what} on record",
                         hint="submit the data with `tuneops submit FILE --provider ...` instead")
    p = Path(path)
    if not p.is_file():
        raise DatasetIOError(f"{job.id}'s {what} {p} is no longer there",
                             hint="restore it, or submit the data again with `tuneops submit`")
    if sha is not None and sha256_of(p) != sha:
        raise DatasetIOError(f"{job.id}'s {what} {p} has changed since the job was submitted",
                             hint="restore the original, or submit the new data with"
                             " `tuneops submit`")
    return p


def plan_migration(source: JobRecord, *, to: str, model: str, method: str | None = None,
                   epochs: int | None = None, batch_size: int | None = None,
                   learning_rate_multiplier: float | None = None, suffix: str | None = None,
                   labels: dict[str, str] | None = None, max_cost: float | None = None
                   ) -> MigrationPlan:
    """What `migrate` will submit: the source's data, its settings mapped to `to` (settings
    given here win), and what could not be carried."""
    if to not in TARGET_HYPERPARAMETERS:
        raise UsageError(f"cannot migrate to {to!r}",
                         hint=f"targets: {', '.join(sorted(TARGET_HYPERPARAMETERS))}")
    if to == source.provider and model == source.base_model:
        raise UsageError(f"{source.id} already is a {to} {model} job",
                         hint="pick another --to or --model")
    train = _source_file(source.dataset_path, source.dataset_sha256, "training file", source)
    validation = (None if source.validation_path is None else
                  _source_file(source.validation_path, None, "validation file", source))
    takes = TARGET_HYPERPARAMETERS[to]
    settings = source_hyperparameters(source)
    given = {"epochs": epochs, "batch_size": batch_size,
             "learning_rate_multiplier": learning_rate_multiplier}
    carried: dict[str, Any] = {}
    dropped: dict[str, str] = {}
    for key in ("epochs", "batch_size", "learning_rate_multiplier"):
        value = given[key] if given[key] is not None else settings.get(key)
        if value is None:
            continue
        if key in takes:
            carried[key] = value
        else:
            dropped[key] = f"{value}: " + _WHY_NOT[key].format(to=to)
    request = SubmitRequest(
        file=train, provider=to, model=model, method=method or source.method or "sft",
        epochs=carried.get("epochs"), batch_size=carried.get("batch_size"),
        learning_rate_multiplier=carried.get("learning_rate_multiplier"),
        validation_file=validation, suffix=suffix,
        labels={**(source.labels or {}), **(labels or {})}, max_cost=max_cost,
        parent_id=source.id)
    return MigrationPlan(source=source, request=request, carried=carried, dropped=dropped)
