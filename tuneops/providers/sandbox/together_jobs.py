"""Together fine-tune routes: create, list, retrieve, cancel, events, checkpoints, estimate-price,
and the model catalogue the SDK reads before every create (``GET /fine-tunes/models/limits``;
``GET /fine-tunes/models/supported``, in the spec though the SDK 3.1.1 has no method for it).

Request bodies follow `FinetuneRequest` (together/lib/types/fine_tuning.py) and
`FineTuningEstimatePriceParams` (together/types/fine_tuning_estimate_price_params.py). Like the
OpenAI emulator, the data is checked at create (with tuneops' Together rule pack for the job's
method) and the verdict shows later: a job whose data breaks the rules sits ``pending``, then ends
``user_error`` with a ``job_user_error`` event naming the line. A training file whose processing
already ended ``INVALID_FORMAT`` is refused at once (400). The hyperparameters are checked against
the limits that ``/fine-tunes/models/limits`` publishes (`together_common.LIMITS`), so a request
the SDK lets through is one the sandbox accepts, and ``batch_size: "max"`` resolves to them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tuneops.providers.sandbox.app import ApiError, Router, SandboxRequest, SandboxResponse
from tuneops.providers.sandbox.faults import unit_draw
from tuneops.providers.sandbox.together_common import (
    KIND_FILE,
    KIND_JOB,
    LIMITS,
    USER_SLUG,
    full_training_supported,
    invalid,
    json_body,
    model_limits,
    not_found,
    price_per_token,
    supported_models,
    uuid_id,
)
from tuneops.providers.sandbox.together_views import (
    job_checkpoints,
    job_events,
    job_object,
    status_at,
)

if TYPE_CHECKING:
    from tuneops.providers.sandbox.together_api import TogetherApi

__all__ = ["TogetherJobs"]

_CREATE_KEYS = {
    "training_file", "validation_file", "packing", "model", "n_epochs", "learning_rate",
    "lr_scheduler", "warmup_ratio", "max_grad_norm", "weight_decay", "n_checkpoints", "n_evals",
    "max_seq_length", "batch_size", "gradient_accumulation_steps", "suffix", "wandb_key",
    "wandb_base_url", "wandb_project_name", "wandb_name", "wandb_entity", "random_seed",
    "early_stopping_enabled", "early_stopping_patience", "early_stopping_min_delta",
    "early_stopping_warmup_evals", "training_type", "training_method", "from_checkpoint",
    "multimodal_params", "from_hf_model", "hf_model_revision", "hf_api_token", "hf_output_repo_name",
}
# Nominal durations in vendor seconds, divided by the sandbox speed when a job is created.
PENDING_S, QUEUE_S, RUN_BASE_S, RUN_PER_STEP_S, RUN_MAX_S, CANCEL_S = 15.0, 30.0, 90.0, 1.5, 7200.0, 10.0
SUFFIX_MAX = 40  # "Up to 40 character suffix" (SDK docstring of fine_tuning.create)
DEFAULT_LORA_R = LIMITS["default_rank"]  # the rank when the request names no training_type


def _epochs(body: dict[str, Any]) -> Any:
    return _number(body, "n_epochs", 1, LIMITS["max_num_epochs"], integer=True) if "n_epochs" in body else 1


def _evals(body: dict[str, Any]) -> Any:
    return _number(body, "n_evals", 0, LIMITS["max_num_evals"], integer=True) if body.get("n_evals") else 0


def _number(body: dict[str, Any], key: str, low: float, high: float, *, integer: bool = False) -> Any:
    value = body[key]
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise invalid(f"{key} must be {kind} between {low:g} and {high:g}, got {value!r}", key)
    return value


class TogetherJobs:
    def __init__(self, api: TogetherApi) -> None:
        self.api = api
        self.sandbox = api.sandbox
        self.store = api.store

    def register(self, r: Router) -> None:
        r.route("GET", "/fine-tunes/models/limits")(self.limits)
        r.route("GET", "/fine-tunes/models/supported")(self.supported)
        r.route("POST", "/fine-tunes/estimate-price")(self.estimate_price)
        r.route("POST", "/fine-tunes")(self.create)
        r.route("GET", "/fine-tunes")(self.list_jobs)
        r.route("GET", "/fine-tunes/{job_id}")(self.retrieve)
        r.route("POST", "/fine-tunes/{job_id}/cancel")(self.cancel)
        r.route("GET", "/fine-tunes/{job_id}/events")(self.events)
        r.route("GET", "/fine-tunes/{job_id}/checkpoints")(self.checkpoints)

    # -- shared checks -------------------------------------------------------------------------

    def _file(self, body: dict[str, Any], key: str) -> dict[str, Any] | None:
        file_id = body.get(key)
        if file_id in (None, ""):
            if key == "training_file":
                raise invalid("training_file is required", key, "missing_field")
            return None
        if not isinstance(file_id, str):
            raise invalid(f"{key} must be a string", key)
        doc = self.store.get(KIND_FILE, file_id)
        if doc is None:
            raise invalid(f"{key} {file_id} does not exist", key, "file_not_found")
        if doc["purpose"] != "fine-tune":
            raise invalid(f"{key} {file_id} was uploaded with purpose {doc['purpose']!r}, not"
                          " 'fine-tune'", key)
        return doc

    def _method(self, body: dict[str, Any]) -> dict[str, Any]:
        method = body.get("training_method") or {"method": "sft", "train_on_inputs": "auto"}
        if not isinstance(method, dict) or method.get("method") not in ("sft", "dpo"):
            raise invalid("training_method.method must be 'sft' or 'dpo'", "training_method")
        beta = method.get("dpo_beta")
        if method["method"] == "dpo" and beta is not None and (
                not isinstance(beta, int | float) or isinstance(beta, bool) or beta < 0):
            raise invalid(f"dpo_beta must be a non-negative number, got {beta!r}", "dpo_beta")
        return dict(method)

    def _type(self, body: dict[str, Any]) -> dict[str, Any]:
        ttype = body.get("training_type")
        if ttype is None:  # the API's default is LoRA (SDK: "Defaults to LoRA if not provided")
            return {"type": "Lora", "lora_r": DEFAULT_LORA_R, "lora_alpha": 2 * DEFAULT_LORA_R,
                    "lora_dropout": 0.0, "lora_trainable_modules": "all-linear"}
        if not isinstance(ttype, dict) or ttype.get("type") not in ("Lora", "Full"):
            raise invalid("training_type.type must be 'Lora' or 'Full'", "training_type")
        rank = ttype.get("lora_r")
        if ttype["type"] == "Lora" and rank is not None and (
                not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= LIMITS["max_rank"]):
            raise invalid(f"lora_r must be an integer between 1 and {LIMITS['max_rank']}, got {rank!r}",
                          "lora_r")
        return dict(ttype)

    def _model(self, body: dict[str, Any], method: str, ttype: str) -> tuple[str, float]:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise invalid("model is required", "model", "missing_field")
        usd = price_per_token(model, method, ttype)
        if usd is None:
            raise invalid(f"Model {model} is not available for fine-tuning (the tuneops sandbox"
                          " accepts the Together models in its price table).", "model",
                          "model_not_available")
        if ttype == "Full" and not full_training_supported(model):
            raise invalid(f"Full fine-tuning is not supported for {model}; use LoRA.", "training_type")
        return model, usd

    # -- create --------------------------------------------------------------------------------

    def create(self, req: SandboxRequest) -> SandboxResponse:
        body = json_body(req)
        for key in body:
            if key not in _CREATE_KEYS:
                raise invalid(f"Unknown parameter: {key}", key, "unknown_parameter")
        method = self._method(body)
        ttype = self._type(body)
        model, usd = self._model(body, method["method"], ttype["type"])
        training = self._file(body, "training_file")
        assert training is not None
        validation = self._file(body, "validation_file")
        report = training.get("report") or {}
        files = self.api.files
        if files.processing_status(training, self.sandbox.now()) == "INVALID_FORMAT":
            raise invalid(f"Training file {training['id']} failed validation: {report.get('error')}",
                          "training_file", "invalid_training_file")
        n_epochs = _epochs(body)
        n_evals = _evals(body)
        n_ckpt = (_number(body, "n_checkpoints", 1, LIMITS["max_num_checkpoints"], integer=True)
                  if body.get("n_checkpoints") else 1)
        lr = (_number(body, "learning_rate", LIMITS["min_learning_rate"], LIMITS["max_learning_rate"])
              if "learning_rate" in body else 1e-5)
        warmup = _number(body, "warmup_ratio", 0, 1) if "warmup_ratio" in body else 0.0
        dpo = method["method"] == "dpo"
        max_batch = LIMITS["max_batch_size_dpo" if dpo else "max_batch_size"]
        batch = body.get("batch_size", "max")
        if batch != "max":
            batch = _number(body, "batch_size", LIMITS["min_batch_size"], max_batch, integer=True)
        if body.get("max_seq_length") is not None:
            _number(body, "max_seq_length", LIMITS["min_max_seq_length"],
                    LIMITS["max_seq_length_dpo" if dpo else "max_seq_length_sft"], integer=True)
        suffix = body.get("suffix")
        if suffix is not None and (not isinstance(suffix, str) or not 1 <= len(suffix) <= SUFFIX_MAX):
            raise invalid(f"suffix must be a string of 1 to {SUFFIX_MAX} characters", "suffix")
        seed = body.get("random_seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise invalid("random_seed must be an integer", "random_seed")

        check = files.check(training, method["method"])
        error = None
        if check["errors"]:
            error = f"Training file {training['id']} is invalid: {check['message']}"
        eval_tokens = 0
        if validation is not None:
            vcheck = files.check(validation, method["method"])
            eval_tokens = vcheck["tokens"]
            if vcheck["errors"] and error is None:
                error = f"Validation file {validation['id']} is invalid: {vcheck['message']}"

        job_id = uuid_id("ft-", self.sandbox.new_id("ft-"))
        now = self.sandbox.now()
        examples = check["examples"]
        resolved_batch = max_batch if batch == "max" else batch
        per_epoch = max(1, math.ceil(examples / resolved_batch))
        total_steps = 0 if error else per_epoch * n_epochs
        speed = self.sandbox.speed
        fail_at = None if error else self.sandbox.injector.job_fails(job_id)
        base = model.split("/")[-1]
        tag = uuid_id("", job_id)[:8]
        doc = {
            "id": job_id, "created": now, "model": model, "training_file": training["id"],
            "validation_file": validation["id"] if validation is not None else None,
            "suffix": suffix,
            "output_name": f"{USER_SLUG}/{base}" + (f"-{suffix}" if suffix else "") + f"-{tag}",
            "n_epochs": n_epochs, "n_evals": n_evals, "n_checkpoints": n_ckpt,
            "batch_size": resolved_batch, "learning_rate": lr, "warmup_ratio": warmup,
            "random_seed": seed if seed is not None else int(unit_draw(self.sandbox.seed, job_id) * 2**31),
            "training_method": method, "training_type": ttype, "usd_per_token": usd,
            "dataset": {"examples": examples, "tokens": check["tokens"], "eval_tokens": eval_tokens,
                        "lines": check["lines"], "bytes": training["bytes"]},
            "plan": {
                "validate_s": PENDING_S / speed, "queue_s": QUEUE_S / speed,
                "run_s": min(RUN_MAX_S, RUN_BASE_S + RUN_PER_STEP_S * total_steps) / speed,
                "total_steps": total_steps, "steps_per_epoch": per_epoch,
                "fail": "file" if error else ("vendor" if fail_at is not None else None),
                "fail_at": fail_at or 0.0, "cancel_s": CANCEL_S / speed,
            },
            "error_message": error, "actions": [],
            "vendor_error": "Job failed due to an internal error; no charge was made. (tuneops"
                            " sandbox: injected fault fail_jobs)",
        }
        self.store.insert(KIND_JOB, job_id, doc)
        return SandboxResponse.json(200, job_object(doc, now, truncated=True))

    # -- read ----------------------------------------------------------------------------------

    def job_doc(self, job_id: str) -> dict[str, Any]:
        doc = self.store.get(KIND_JOB, job_id)
        if doc is None:
            raise not_found(f"Fine-tune job {job_id} not found", "id")
        return doc

    def list_jobs(self, req: SandboxRequest) -> SandboxResponse:
        now = self.sandbox.now()
        data = [job_object(d, now, truncated=True) for d in self.store.scan(KIND_JOB)]
        return SandboxResponse.json(200, {"data": data})

    def retrieve(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        return SandboxResponse.json(200, job_object(self.job_doc(job_id), self.sandbox.now()))

    def events(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        return SandboxResponse.json(200, {"data": job_events(self.job_doc(job_id), self.sandbox.now())})

    def checkpoints(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        doc = self.job_doc(job_id)
        return SandboxResponse.json(200, {"data": job_checkpoints(doc, self.sandbox.now())})

    # -- cancel --------------------------------------------------------------------------------

    def cancel(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        self.job_doc(job_id)
        now = self.sandbox.now()

        def change(doc: dict[str, Any]) -> dict[str, Any] | None:
            status, _ = status_at(doc, now)
            if status == "cancel_requested":
                return None  # asking again changes nothing
            if status not in ("pending", "queued", "running", "compressing", "uploading"):
                raise ApiError(400, f"Fine-tune job {job_id} is {status} and cannot be cancelled",
                               param="id", code="invalid_job_state")
            doc["actions"].append([now, "cancel"])
            return doc

        doc = self.store.update(KIND_JOB, job_id, change)
        assert doc is not None
        return SandboxResponse.json(200, job_object(doc, now, truncated=True))

    # -- models --------------------------------------------------------------------------------

    def limits(self, req: SandboxRequest) -> SandboxResponse:
        name = req.arg("model_name")
        if not name:
            raise invalid("model_name is required", "model_name", "missing_field")
        doc = model_limits(name)
        if doc is None:
            # The spec's 404 body is a bare {"message"}; the error envelope of every other route
            # is sent too (the SDK reads neither, only the status).
            message = (f"Model {name} is not available for fine-tuning (the tuneops sandbox accepts"
                       " the Together models in its price table).")
            return SandboxResponse.json(404, {"message": message, "error": {
                "message": message, "type": "invalid_request_error", "param": "model_name",
                "code": "model_not_available"}})
        return SandboxResponse.json(200, doc)

    def supported(self, req: SandboxRequest) -> SandboxResponse:
        return SandboxResponse.json(200, {"models": supported_models()})

    # -- price ---------------------------------------------------------------------------------

    def estimate_price(self, req: SandboxRequest) -> SandboxResponse:
        body = json_body(req)
        method = self._method(body)
        ttype = self._type(body)
        _, usd = self._model(body, method["method"], ttype["type"])
        now = self.sandbox.now()
        files = self.api.files
        tokens = {}
        for key, which in (("training_file", "train"), ("validation_file", "eval")):
            doc = self._file(body, key)
            if doc is None:
                tokens[which] = 0
                continue
            status = files.processing_status(doc, now)
            if status != "COMPLETED":
                reason = "invalid" if status == "INVALID_FORMAT" else "not_validated"
                return SandboxResponse.json(200, {"estimation_available": False,
                                                  "unavailable_reason": f"{which}_file_{reason}"})
            tokens[which] = files.check(doc, method["method"])["tokens"]
        n_epochs = _epochs(body)
        n_evals = _evals(body)
        train, evals = tokens["train"] * n_epochs, tokens["eval"] * n_evals
        price = round((train + evals) * usd, 9)  # to the nanodollar, like total_price
        user_limit = 1000.0  # a sandbox account's credit limit, in dollars
        return SandboxResponse.json(200, {
            "estimation_available": True, "allowed_to_proceed": price <= user_limit,
            "estimated_total_price": price, "estimated_train_token_count": train,
            "estimated_eval_token_count": evals, "user_limit": user_limit})
