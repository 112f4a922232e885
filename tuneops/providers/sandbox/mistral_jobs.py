"""Mistral fine-tuning job routes: create (and its ``dry_run``), list, get, start, cancel.

Like the live API, creation checks the request and the files at once and answers with the job's
`metadata` (tokens, steps, cost) straight away, so that a job created with ``auto_start=false``
can be priced before it is started; ``?dry_run=true`` returns that metadata without creating a
job (`LegacyJobMetadataOut`). File *contents* are checked with tuneops' own Mistral rule pack and
counted with Mistral's tokenizer; a file that breaks the rules shows only once validation
"finishes": the job ends ``FAILED_VALIDATION`` and its status event names the lines at fault.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tuneops.providers.sandbox.app import Router, SandboxRequest, SandboxResponse
from tuneops.providers.sandbox.datasets import cached_check
from tuneops.providers.sandbox.faults import unit_draw
from tuneops.providers.sandbox.mistral_common import (
    KIND_FILE,
    KIND_JOB,
    int_arg,
    invalid_field,
    json_body,
    new_uuid,
    refused,
    uuid_arg,
)
from tuneops.providers.sandbox.mistral_views import job_object, status_at

if TYPE_CHECKING:
    from tuneops.providers.sandbox.mistral_api import MistralApi

__all__ = ["FINE_TUNABLE", "SANDBOX_PRICES", "TOKENS_PER_STEP", "MistralJobs"]

# Completion models Mistral's fine-tuning guide listed as fine-tunable (dated ids and their
# -latest aliases); anything else is refused the way the live API refuses it.
FINE_TUNABLE = (
    "open-mistral-7b", "open-mistral-nemo", "open-mistral-nemo-2407", "mistral-small-latest",
    "mistral-small-2409", "codestral-latest", "codestral-2405", "mistral-large-latest",
    "mistral-large-2411", "ministral-8b-latest", "ministral-8b-2410", "ministral-3b-latest",
    "ministral-3b-2410", "pixtral-12b-latest", "pixtral-12b-2409",
)
# SANDBOX PRICES, USD per 1M trained tokens: plausible figures modelled on Mistral's former
# fine-tuning price list (7B/Nemo/Ministral 1, Small/Codestral 3, Large 9, Pixtral 2), not a
# quote; Mistral's current pricing page lists none for these models. Plus the documented minimum
# fee per job ("Every fine-tuning job comes with a minimum fee of $4").
SANDBOX_PRICES = (("open-mistral", 1.0), ("ministral", 1.0), ("mistral-small", 3.0),
                  ("codestral", 3.0), ("mistral-large", 9.0), ("pixtral", 2.0))
MIN_FEE = 4.0
CURRENCY = "USD"
# One training step consumes this many tokens (the spec's example of train_tokens_per_step):
# Mistral packs examples into fixed-size steps, so small datasets train (and bill) whole steps.
TOKENS_PER_STEP = 131072
# Nominal durations in vendor seconds, divided by the sandbox speed when a job is created.
VALIDATE_S, QUEUE_S, RUN_BASE_S, RUN_PER_STEP_S, RUN_MAX_S, CANCEL_S = (
    20.0, 40.0, 60.0, 2.0, 7200.0, 10.0)
_CREATE_KEYS = {"model", "training_files", "validation_files", "suffix", "integrations",
                "auto_start", "invalid_sample_skip_percentage", "job_type", "hyperparameters",
                "repositories", "classifier_targets"}
# name -> (low, high, exclusive low) of the spec's CompletionTrainingParametersIn
_HYPER = {"training_steps": (1, None, False), "learning_rate": (1e-8, 1.0, False),
          "weight_decay": (0.0, 1.0, False), "warmup_fraction": (0.0, 1.0, False),
          "epochs": (0.0, None, True), "seq_len": (100, None, False), "fim_ratio": (0.0, 1.0, False)}
_DEFAULTS = {"learning_rate": 1e-4, "weight_decay": 0.1, "warmup_fraction": 0.05, "fim_ratio": 0.9}
_STATUSES = ("QUEUED", "STARTED", "VALIDATING", "VALIDATED", "RUNNING", "FAILED_VALIDATION",
             "FAILED", "SUCCESS", "CANCELLED", "CANCELLATION_REQUESTED")


def price_of(model: str) -> float:
    return next((p for prefix, p in SANDBOX_PRICES if model.startswith(prefix)), 1.0)


def _number(value: Any, loc: list[str | int], *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            integer and not isinstance(value, int)):
        kind = "int_type" if integer else "float_type"
        raise invalid_field(loc, f"Input should be a valid {'integer' if integer else 'number'}", kind)
    return float(value)


def hyperparameters(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid_field(["body", "hyperparameters"], "Input should be a valid dictionary",
                            "dict_type")
    out: dict[str, Any] = dict(_DEFAULTS)
    for key, value in raw.items():
        loc: list[str | int] = ["body", "hyperparameters", key]
        if key not in _HYPER:
            raise invalid_field(loc, "Extra inputs are not permitted", "extra_forbidden")
        if value is None:
            continue
        low, high, exclusive = _HYPER[key]
        number = _number(value, loc, integer=key in ("training_steps", "seq_len"))
        if (number <= low) if exclusive else (number < low):
            word = "greater than" if exclusive else "greater than or equal to"
            raise invalid_field(loc, f"Input should be {word} {low:g}",
                                "greater_than" if exclusive else "greater_than_equal")
        if high is not None and number > high:
            raise invalid_field(loc, f"Input should be less than or equal to {high:g}",
                                "less_than_equal")
        out[key] = value
    return out


class MistralJobs:
    def __init__(self, api: MistralApi) -> None:
        self.api = api
        self.sandbox = api.sandbox
        self.store = api.store

    def register(self, r: Router) -> None:
        r.route("POST", "/fine_tuning/jobs")(self.create)
        r.route("GET", "/fine_tuning/jobs")(self.list_jobs)
        r.route("GET", "/fine_tuning/jobs/{job_id}")(self.retrieve)
        r.route("POST", "/fine_tuning/jobs/{job_id}/start")(self.start)
        r.route("POST", "/fine_tuning/jobs/{job_id}/cancel")(self.cancel)

    # -- create ------------------------------------------------------------------------------

    def _file(self, file_id: Any, loc: list[str | int]) -> dict[str, Any]:
        if not isinstance(file_id, str):
            raise invalid_field(loc, "Input should be a valid string", "string_type")
        doc = self.store.get(KIND_FILE, uuid_arg(file_id, loc))
        if doc is None:
            raise refused(404, f"File {file_id} not found")
        if doc["purpose"] != "fine-tune":
            raise refused(422, f"File {file_id} was not uploaded with purpose 'fine-tune'.")
        return doc

    def _dataset(self, file_doc: dict[str, Any], model: str) -> dict[str, Any]:
        """Check a file's contents once per model (cached on the file)."""
        return cached_check(self.store, KIND_FILE, file_doc, model, provider="mistral",
                            method="sft", model=model)

    @staticmethod
    def _file_error(check: dict[str, Any], file_id: str) -> str:
        more = check["errors"] - len(check["problems"])
        message = f"Invalid file {file_id}: " + "; ".join(check["problems"])
        if more > 0:
            message += f" (and {more:,} more problem(s); `tuneops validate` lists them all)"
        return message

    def create(self, req: SandboxRequest) -> SandboxResponse:
        body = json_body(req)
        for key in body:
            if key not in _CREATE_KEYS:
                raise invalid_field(["body", key], "Extra inputs are not permitted", "extra_forbidden")
        for key in ("model", "hyperparameters"):
            if key not in body:
                raise invalid_field(["body", key], "Field required", "missing")
        model = body["model"]
        if not isinstance(model, str):
            raise invalid_field(["body", "model"], "Input should be a valid string", "string_type")
        job_type = body.get("job_type") or "completion"
        if job_type not in ("completion", "classifier"):
            raise invalid_field(["body", "job_type"], "Input should be 'completion' or 'classifier'",
                                "enum")
        hyper = hyperparameters(body["hyperparameters"])
        suffix = body.get("suffix")
        if suffix is not None:
            if not isinstance(suffix, str):
                raise invalid_field(["body", "suffix"], "Input should be a valid string", "string_type")
            if len(suffix) > 18:
                raise invalid_field(["body", "suffix"], "String should have at most 18 characters",
                                    "string_too_long")
        auto_start = body.get("auto_start", True)
        if not isinstance(auto_start, bool):
            raise invalid_field(["body", "auto_start"], "Input should be a valid boolean", "bool_type")
        if job_type == "classifier":
            raise refused(422, "Classifier fine-tuning is not emulated by the tuneops sandbox.")
        if model not in FINE_TUNABLE:
            raise refused(422, f"Model not available for this type of fine-tuning ({job_type}).")
        raw_files = body.get("training_files") or []
        if not isinstance(raw_files, list) or not raw_files:
            raise refused(422, "At least one training file is required.")
        training = []
        for i, item in enumerate(raw_files):
            loc: list[str | int] = ["body", "training_files", i]
            if not isinstance(item, dict) or "file_id" not in item:
                raise invalid_field([*loc, "file_id"], "Field required", "missing")
            weight = item.get("weight", 1.0)
            if _number(weight, [*loc, "weight"]) <= 0:
                raise invalid_field([*loc, "weight"], "Input should be greater than 0", "greater_than")
            training.append((self._file(item["file_id"], [*loc, "file_id"]), float(weight)))
        raw_valid = body.get("validation_files") or []
        if not isinstance(raw_valid, list):
            raise invalid_field(["body", "validation_files"], "Input should be a valid list", "list_type")
        validation = [self._file(v, ["body", "validation_files", i]) for i, v in enumerate(raw_valid)]
        integrations = self._integrations(body.get("integrations"))

        error = None
        data_tokens = 0.0
        examples = 0
        for doc, weight in training:
            check = self._dataset(doc, model)
            data_tokens += check["tokens"] * weight
            examples += check["examples"]
            if check["errors"] and error is None:
                error = self._file_error(check, doc["id"])
        for doc in validation:
            check = self._dataset(doc, model)
            if check["errors"] and error is None:
                error = self._file_error(check, doc["id"])

        steps = hyper.get("training_steps")
        if steps is None:
            # Neither given: one epoch (the sandbox's choice; Mistral documents no default).
            epochs = float(hyper.get("epochs") or 1.0)
            steps = max(1, math.ceil(epochs * data_tokens / TOKENS_PER_STEP))
        train_tokens = steps * TOKENS_PER_STEP
        speed = self.sandbox.speed
        run_s = min(RUN_MAX_S, RUN_BASE_S + RUN_PER_STEP_S * steps)
        metadata = {
            "expected_duration_seconds": math.ceil(run_s), "train_tokens_per_step": TOKENS_PER_STEP,
            "cost": round(max(MIN_FEE, train_tokens * price_of(model) / 1e6), 4),
            "cost_currency": CURRENCY, "train_tokens": train_tokens, "data_tokens": int(data_tokens),
            "estimated_start_time": None, "training_steps": steps,
            "epochs": round(train_tokens / data_tokens, 4) if data_tokens else None,
        }
        if req.arg("dry_run") in ("true", "True", "1"):
            legacy = dict(metadata)
            legacy |= {"deprecated": True, "details": error or "", "object": "job.metadata"}
            return SandboxResponse.json(200, legacy)

        job_id = new_uuid(self.sandbox, "job")
        now = self.sandbox.now()
        validate_s = min(300.0, VALIDATE_S + 0.005 * examples) / speed
        fail_at = None if error else self.sandbox.injector.job_fails(job_id)
        doc = {
            "id": job_id, "created": now, "model": model, "auto_start": auto_start,
            "training_files": [{"file_id": d["id"], "weight": w} for d, w in training],
            "validation_files": [d["id"] for d in validation], "suffix": suffix,
            "integrations": integrations, "hyperparameters": hyper, "metadata": metadata,
            "seed": int(unit_draw(self.sandbox.seed, "seed", job_id) * 2**31),
            "error": error,
            "plan": {"validate_s": validate_s, "queue_s": QUEUE_S / speed, "run_s": run_s / speed,
                     "total_steps": 0 if error else steps, "cancel_s": CANCEL_S / speed,
                     "fail": "file" if error else ("vendor" if fail_at is not None else None),
                     "fail_at": fail_at or 0.0},
            # not started by itself: the job waits, VALIDATED, from the end of validation on
            "actions": [] if auto_start else [[now + validate_s, "pause"]],
        }
        self.store.insert(KIND_JOB, job_id, doc)
        return SandboxResponse.json(200, job_object(doc, now))

    @staticmethod
    def _integrations(raw: Any) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise invalid_field(["body", "integrations"], "Input should be a valid list", "list_type")
        out = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict) or item.get("type", "wandb") != "wandb" or "project" not in item:
                raise invalid_field(["body", "integrations", i, "project"], "Field required", "missing")
            # the W&B key is never stored, like the live API, which does not echo it
            out.append({"type": "wandb", "project": item["project"], "name": item.get("name"),
                        "run_name": item.get("run_name"), "url": None})
        return out

    # -- read --------------------------------------------------------------------------------

    def job_doc(self, job_id: str) -> dict[str, Any]:
        doc = self.store.get(KIND_JOB, uuid_arg(job_id, ["path", "job_id"]))
        if doc is None:
            raise refused(404, f"Job {job_id} not found")
        return doc

    def list_jobs(self, req: SandboxRequest) -> SandboxResponse:
        page = int_arg(req, "page", 0, 0)
        size = int_arg(req, "page_size", 100, 1)
        now = self.sandbox.now()
        model, suffix, status = req.arg("model"), req.arg("suffix"), req.arg("status")
        if status is not None and status not in _STATUSES:
            raise invalid_field(["query", "status"], f"Input should be {', '.join(_STATUSES)}", "enum")
        docs = [d for d in self.store.scan(KIND_JOB)
                if (model is None or d["model"] == model)
                and (suffix is None or d.get("suffix") == suffix)
                and (status is None or status_at(d, now)[0] == status)]
        chunk = docs[page * size:(page + 1) * size]
        return SandboxResponse.json(200, {"data": [job_object(d, now) for d in chunk],
                                          "object": "list", "total": len(docs)})

    def retrieve(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        return SandboxResponse.json(200, job_object(self.job_doc(job_id), self.sandbox.now(),
                                                    detailed=True))

    # -- actions -----------------------------------------------------------------------------

    def _act(self, job_id: str, allowed: tuple[str, ...], verb: str, act: Any) -> SandboxResponse:
        doc = self.job_doc(job_id)
        now = self.sandbox.now()

        def change(d: dict[str, Any]) -> dict[str, Any]:
            status, _ = status_at(d, now)
            if status not in allowed:
                raise refused(400, f"Job {job_id} cannot be {verb}: its status is {status}.")
            act(d, now)
            return d

        updated = self.store.update(KIND_JOB, doc["id"], change)
        assert updated is not None
        return SandboxResponse.json(200, job_object(updated, now, detailed=True))

    def start(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        def act(d: dict[str, Any], now: float) -> None:
            pauses = [a for a in d["actions"] if a[1] == "pause"]
            if pauses and pauses[0][0] > now:
                # started while it validates: no waiting once validated
                d["actions"] = [a for a in d["actions"] if a[1] != "pause"]
            else:
                d["actions"].append([now, "resume"])

        # A job that has not been validated yet is accepted too: it starts once validated.
        return self._act(job_id, ("QUEUED", "VALIDATING", "VALIDATED"), "started", act)

    def cancel(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        def act(d: dict[str, Any], now: float) -> None:
            d["actions"].append([now, "cancel"])

        return self._act(job_id, ("QUEUED", "STARTED", "VALIDATING", "VALIDATED", "RUNNING"),
                         "cancelled", act)
