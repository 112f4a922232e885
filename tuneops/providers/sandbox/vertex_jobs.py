"""Vertex AI ``tuningJobs`` emulated: create, get, list (page tokens) and cancel, under
``/{v1,v1beta1}/projects/{project}/locations/{location}/tuningJobs``.

Shapes are the REST API's TuningJob in proto JSON (camelCase, int64 values as strings), as
google-genai's `types.TuningJob` reads them
(https://cloud.google.com/vertex-ai/docs/reference/rest/v1beta1/projects.locations.tuningJobs).
A job's state follows its `Timeline` and the sandbox clock: JOB_STATE_PENDING while the dataset is
read and validated, JOB_STATE_QUEUED, JOB_STATE_RUNNING, then SUCCEEDED / FAILED; a cancel shows
JOB_STATE_CANCELLING for a few (simulated) seconds, then JOB_STATE_CANCELLED. The training file is
checked with tuneops' own Vertex rule pack; a file with errors fails the job with an
INVALID_ARGUMENT error naming the line.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from tuneops.providers.sandbox.app import ApiError, Router, SandboxRequest, SandboxResponse
from tuneops.providers.sandbox.datasets import check_dataset
from tuneops.providers.sandbox.timeline import Timeline

if TYPE_CHECKING:
    from tuneops.providers.sandbox.vertex_api import VertexApi

__all__ = ["KIND_JOB", "PROJECT_NUMBER", "TUNABLE", "VertexJobs", "job_object"]

KIND_JOB = "vertex.tuning_job"
PROJECT_NUMBER = "123456789012"  # Vertex names resources by project number, not id
# Base models the sandbox tunes (Gemini 2.5 family, as in tuneops' Vertex rule pack limits).
TUNABLE = frozenset({"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"})
SPECS = {"supervisedTuningSpec": "sft", "preferenceOptimizationSpec": "dpo"}
ADAPTER_SIZES = ("ADAPTER_SIZE_ONE", "ADAPTER_SIZE_TWO", "ADAPTER_SIZE_FOUR", "ADAPTER_SIZE_EIGHT",
                 "ADAPTER_SIZE_SIXTEEN", "ADAPTER_SIZE_THIRTY_TWO")
_LABEL = re.compile(r"[a-z0-9_-]{0,63}")
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
# Simulated durations in vendor seconds, divided by the sandbox speed at creation.
VALIDATE_S, QUEUE_S, RUN_BASE_S, RUN_PER_STEP_S, RUN_MAX_S, CANCELLING_S = 30.0, 60.0, 120.0, 1.0, 7200.0, 5.0
DEFAULT_EPOCHS = 3  # Vertex picks a value when epochCount is unset; its rule is not published
BATCH = 8
_STATE = {"validating": "JOB_STATE_PENDING", "queued": "JOB_STATE_QUEUED",
          "running": "JOB_STATE_RUNNING", "paused": "JOB_STATE_PAUSED",
          "succeeded": "JOB_STATE_SUCCEEDED", "failed": "JOB_STATE_FAILED",
          "cancelled": "JOB_STATE_CANCELLED"}


def _bad(message: str) -> ApiError:
    return ApiError(400, message, code="INVALID_ARGUMENT")


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def timeline_of(doc: dict[str, Any]) -> Timeline:
    p = doc["plan"]
    return Timeline(doc["created"], p["validate_s"], p["queue_s"], p["run_s"], p["total_steps"],
                    p["fail"], p["fail_at"], tuple((t, k) for t, k in doc["actions"]))


def job_object(doc: dict[str, Any], now: float, speed: float = 1.0) -> dict[str, Any]:
    """The TuningJob as the REST API shows it at `now`."""
    tl = timeline_of(doc)
    phase = tl.phase_at(now)
    state = _STATE[phase.name]
    cancel = tl.cancelled_at
    if phase.name == "cancelled" and cancel is not None and now < cancel + CANCELLING_S / speed:
        state = "JOB_STATE_CANCELLING"
    name = doc["name"]
    spec: dict[str, Any] = {"trainingDatasetUri": doc["training_uri"],
                            "hyperParameters": dict(doc["hyper"])}
    if doc.get("validation_uri"):
        spec["validationDatasetUri"] = doc["validation_uri"]
    validated = tl.fail != "file" and tl.work(now if cancel is None else min(now, cancel)) >= tl.queued_w
    if validated:
        spec["hyperParameters"]["epochCount"] = str(doc["epochs"])  # int64: a JSON string
    out: dict[str, Any] = {
        "name": name, "tunedModelDisplayName": doc["display_name"], "baseModel": doc["base_model"],
        "createTime": _rfc3339(doc["created"]),
        "updateTime": _rfc3339(min(now, max(phase.since, doc["created"]))),
        "state": state, doc["spec_key"]: spec, "labels": doc["labels"],
    }
    if doc.get("description"):
        out["description"] = doc["description"]
    if not out["labels"]:
        del out["labels"]
    started = tl.real(tl.running_w)
    if now >= started and (cancel is None or cancel >= started) and tl.fail != "file":
        out["startTime"] = _rfc3339(started)
    if state in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
        out["endTime"] = _rfc3339(phase.since)
    if validated:
        ds = doc["dataset"]
        section = "supervisedTuningDataStats" if doc["spec_key"] == "supervisedTuningSpec" \
            else "preferenceOptimizationDataStats"
        out["tuningDataStats"] = {section: {
            "tuningDatasetExampleCount": str(ds["examples"]),
            "totalBillableTokenCount": str(ds["tokens"]),
            "tuningStepCount": str(doc["plan"]["total_steps"]),
        }}
    if state == "JOB_STATE_SUCCEEDED":
        loc = doc["location"]
        out["tunedModel"] = {
            "model": f"projects/{PROJECT_NUMBER}/locations/{loc}/models/{doc['model_id']}@1",
            "endpoint": f"projects/{PROJECT_NUMBER}/locations/{loc}/endpoints/{doc['endpoint_id']}",
        }
    elif state == "JOB_STATE_FAILED":
        out["error"] = doc["error"] if tl.fail == "file" else doc["vendor_error"]
    return out


class VertexJobs:
    def __init__(self, api: VertexApi) -> None:
        self.api = api
        self.sandbox = api.sandbox
        self.store = api.store

    def register(self, r: Router) -> None:
        base = "/{version}/projects/{project}/locations/{location}/tuningJobs"
        r.route("POST", base)(self.create)
        r.route("GET", base)(self.list_jobs)
        r.route("POST", base + "/{job}:cancel")(self.cancel)
        r.route("GET", base + "/{job}")(self.get)

    @staticmethod
    def _version(version: str) -> None:
        if version not in ("v1", "v1beta1"):
            raise ApiError(404, f"Unknown API version {version!r}", code="NOT_FOUND")

    def _numeric_id(self) -> str:
        with self.store.tx() as t:
            n = t.next_seq("vertex.ids")
        # 19 digits, as Vertex job ids are; the same sequence for the same seed
        digest = hashlib.sha256(f"{self.sandbox.seed}:vertex-job:{n}".encode()).digest()
        return str(10**18 + int.from_bytes(digest[:8], "big") % (8 * 10**18))

    # -- create ------------------------------------------------------------------------------

    def _dataset(self, uri: str, method: str, model: str, what: str) -> dict[str, Any]:
        from tuneops.providers.sandbox.vertex_gcs import object_blob

        m = re.fullmatch(r"gs://([^/]+)/(.+)", uri)
        doc = self.api.gcs.object_doc(m.group(1), m.group(2)) if m else None
        if doc is None:
            raise _bad(f"{what} dataset {uri} does not exist or is not readable.")
        return check_dataset(self.store.blob_path(object_blob(doc["bucket"], doc["name"])),
                             provider="vertex", method=method, model=model, lowercase=True)

    @staticmethod
    def _hyper(given: Any, method: str) -> dict[str, Any]:
        if given is None:
            return {}
        if not isinstance(given, dict):
            raise _bad("Invalid value at 'tuning_job.hyper_parameters': expected an object.")
        allowed = {"epochCount", "learningRateMultiplier", "adapterSize"}
        if method == "dpo":
            allowed.add("beta")
        for key in given:
            if key not in allowed:
                raise _bad(f"Invalid JSON payload received. Unknown name \"{key}\" at"
                           " 'tuning_job.hyper_parameters': Cannot find field.")
        out: dict[str, Any] = {}
        if "epochCount" in given:
            try:  # int64: a number or a decimal string
                epochs = int(given["epochCount"])
            except (TypeError, ValueError):
                raise _bad("Invalid value at 'tuning_job.hyper_parameters.epoch_count'") from None
            if not 1 <= epochs <= 100:
                raise _bad(f"epoch_count must be between 1 and 100, got {epochs}.")
            out["epochCount"] = str(epochs)
        for key in ("learningRateMultiplier", "beta"):
            if key in given:
                value = given[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                    raise _bad(f"{key} must be a number greater than 0, got {value!r}.")
                out[key] = float(value)
        if "adapterSize" in given:
            if given["adapterSize"] not in ADAPTER_SIZES:
                raise _bad(f"Invalid value at 'tuning_job.hyper_parameters.adapter_size'"
                           f" ({given['adapterSize']!r}).")
            out["adapterSize"] = given["adapterSize"]
        return out

    @staticmethod
    def _labels(value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict) or len(value) > 64:
            raise _bad("labels must be a map of at most 64 entries.")
        for k, v in value.items():
            if not _LABEL_KEY.fullmatch(k) or not isinstance(v, str) or not _LABEL.fullmatch(v):
                raise _bad(f"Invalid label {k!r}: {v!r}. Label keys and values can be no longer than"
                           " 63 characters, can only contain lowercase letters, numeric characters,"
                           " underscores and dashes; keys start with a letter.")
        return dict(value)

    def create(self, req: SandboxRequest, version: str, project: str, location: str) -> SandboxResponse:
        self._version(version)
        try:
            body = orjson.loads(req.body or b"{}")
        except orjson.JSONDecodeError:
            raise _bad("Invalid JSON payload received.") from None
        if not isinstance(body, dict):
            raise _bad("Invalid JSON payload received. Expected an object.")
        model = body.get("baseModel")
        if not isinstance(model, str) or not model:
            raise _bad("base_model is required.")
        if model not in TUNABLE:
            raise _bad(f"Base model {model} is not supported for tuning. Supported: {sorted(TUNABLE)}.")
        present = [k for k in SPECS if body.get(k) is not None]
        others = [k for k in ("distillationSpec", "reinforcementTuningSpec", "partnerModelTuningSpec")
                  if body.get(k) is not None]
        if others:
            raise ApiError(501, f"{others[0]} is not emulated by the tuneops sandbox.",
                           code="NOT_IMPLEMENTED")
        if len(present) != 1:
            raise _bad("Exactly one of supervised_tuning_spec and preference_optimization_spec is"
                       " required.")
        spec_key = present[0]
        method = SPECS[spec_key]
        spec = body[spec_key]
        if not isinstance(spec, dict) or not isinstance(spec.get("trainingDatasetUri"), str):
            raise _bad(f"{spec_key}.training_dataset_uri is required.")
        hyper = self._hyper(spec.get("hyperParameters"), method)
        labels = self._labels(body.get("labels"))
        display = body.get("tunedModelDisplayName") or ""
        if not isinstance(display, str) or len(display) > 128:
            raise _bad("tuned_model_display_name must be a string of at most 128 characters.")
        check = self._dataset(spec["trainingDatasetUri"], method, model, "Training")
        error = None
        if check["errors"]:
            error = self._file_error(check, "training")
        elif spec.get("validationDatasetUri"):
            vcheck = self._dataset(spec["validationDatasetUri"], method, model, "Validation")
            if vcheck["errors"]:
                error = self._file_error(vcheck, "validation")
        job_id = self._numeric_id()
        now = self.sandbox.now()
        epochs = int(hyper.get("epochCount", DEFAULT_EPOCHS))
        examples = check["examples"]
        total_steps = 0 if error else max(1, math.ceil(examples / BATCH)) * epochs
        speed = self.sandbox.speed
        fail_at = None if error else self.sandbox.injector.job_fails(job_id)
        doc = {
            "id": job_id, "name": f"projects/{PROJECT_NUMBER}/locations/{location}/tuningJobs/{job_id}",
            "location": location, "created": now, "base_model": model, "spec_key": spec_key,
            "training_uri": spec["trainingDatasetUri"], "validation_uri": spec.get("validationDatasetUri"),
            "hyper": {k: v for k, v in hyper.items() if k != "epochCount"}, "epochs": epochs,
            "display_name": display or f"{model}-tuned", "labels": labels,
            "description": body.get("description"),
            "dataset": {"examples": examples, "tokens": check["tokens"]},
            "plan": {"validate_s": VALIDATE_S / speed, "queue_s": QUEUE_S / speed,
                     "run_s": min(RUN_MAX_S, RUN_BASE_S + RUN_PER_STEP_S * total_steps) / speed,
                     "total_steps": total_steps,
                     "fail": "file" if error else ("vendor" if fail_at is not None else None),
                     "fail_at": fail_at or 0.0},
            "error": error, "actions": [],
            "vendor_error": {"code": 13, "message": "Internal error occurred during tuning. Please"
                             " retry the job. (tuneops sandbox: injected fault fail_jobs)"},
            "model_id": str(int(job_id) // 7), "endpoint_id": str(int(job_id) // 3),
        }
        self.store.insert(KIND_JOB, job_id, doc)
        return SandboxResponse.json(200, job_object(doc, now, speed))

    @staticmethod
    def _file_error(check: dict[str, Any], which: str) -> dict[str, Any]:
        more = check["errors"] - len(check["problems"])
        message = f"Invalid {which} dataset: " + "; ".join(check["problems"])
        if more > 0:
            message += f" (and {more:,} more problem(s); `tuneops validate` lists them all)"
        return {"code": 3, "message": message}  # google.rpc.Code INVALID_ARGUMENT

    # -- read --------------------------------------------------------------------------------

    def job_doc(self, location: str, job: str) -> dict[str, Any]:
        doc = self.store.get(KIND_JOB, job)
        if doc is None or doc["location"] != location:
            raise ApiError(404, f"The TuningJob does not exist: projects/{PROJECT_NUMBER}/locations/"
                           f"{location}/tuningJobs/{job}", code="NOT_FOUND")
        return doc

    def get(self, req: SandboxRequest, version: str, project: str, location: str, job: str
            ) -> SandboxResponse:
        self._version(version)
        doc = self.job_doc(location, job)
        return SandboxResponse.json(200, job_object(doc, self.sandbox.now(), self.sandbox.speed))

    def list_jobs(self, req: SandboxRequest, version: str, project: str, location: str) -> SandboxResponse:
        self._version(version)
        raw_size = req.arg("pageSize") or "100"
        try:
            size = int(raw_size)
        except ValueError:
            raise _bad(f"Invalid value for page_size: {raw_size!r}") from None
        size = min(max(size, 1) if size > 0 else 100, 1000)
        after = None
        token = req.arg("pageToken")
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except ValueError:
                raise _bad("Invalid page token.") from None
        page = self.store.page(KIND_JOB, limit=size, after=after,
                               keep=lambda d: d["location"] == location)
        if page is None:
            raise _bad("Invalid page token.")
        docs, more = page
        now, speed = self.sandbox.now(), self.sandbox.speed
        out: dict[str, Any] = {}
        if docs:  # proto JSON leaves empty fields out
            out["tuningJobs"] = [job_object(d, now, speed) for d in docs]
        if more:
            out["nextPageToken"] = base64.urlsafe_b64encode(docs[-1]["id"].encode()).decode()
        return SandboxResponse.json(200, out)

    # -- cancel ------------------------------------------------------------------------------

    def cancel(self, req: SandboxRequest, version: str, project: str, location: str, job: str
               ) -> SandboxResponse:
        self._version(version)
        self.job_doc(location, job)
        now = self.sandbox.now()

        def change(doc: dict[str, Any]) -> dict[str, Any] | None:
            state = job_object(doc, now, self.sandbox.speed)["state"]
            if state in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED"):
                return None  # cancelling twice is harmless
            if state in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED"):
                raise ApiError(400, f"Cannot cancel tuning job {doc['name']} in state {state}.",
                               code="FAILED_PRECONDITION")
            doc["actions"].append([now, "cancel"])
            return doc

        self.store.update(KIND_JOB, job, change)
        return SandboxResponse.json(200, {})  # google.protobuf.Empty
