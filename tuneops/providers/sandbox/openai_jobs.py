"""OpenAI fine-tuning job routes: create, list, retrieve, cancel, pause, resume, events, checkpoints.

Like the live API, the create call checks the request and the files' existence at once, and the
file *contents* asynchronously: a job whose training file breaks OpenAI's rules is created, shows
``validating_files``, then fails with ``error.code = "invalid_training_file"``. The sandbox checks
contents with tuneops' own OpenAI rule pack and counts tokens with OpenAI's tokenizer; the job's
whole future (durations, failure, metrics) is fixed at creation and read off its `Timeline`.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from tuneops.providers.sandbox import openai_params as params
from tuneops.providers.sandbox.app import ApiError, Router, SandboxRequest, SandboxResponse
from tuneops.providers.sandbox.datasets import cached_check
from tuneops.providers.sandbox.faults import unit_draw
from tuneops.providers.sandbox.openai_common import (
    KIND_FILE,
    KIND_JOB,
    KIND_PENDING_RESULT,
    bounded_int,
    expect,
    invalid,
    json_body,
    limit_arg,
    list_object,
    missing,
    not_found,
    one_of,
    reject_unknown,
)
from tuneops.providers.sandbox.openai_views import (
    job_checkpoints,
    job_events,
    job_object,
    results_file_content,
    timeline_of,
)

if TYPE_CHECKING:
    from tuneops.providers.sandbox.openai_api import OpenAIApi

__all__ = ["OpenAIJobs"]

_CREATE_KEYS = {"model", "training_file", "hyperparameters", "suffix", "validation_file",
                "integrations", "seed", "method", "metadata"}
# Nominal durations in vendor seconds, divided by the sandbox speed when a job is created.
VALIDATE_S, QUEUE_S, RUN_BASE_S, RUN_PER_STEP_S, RUN_MAX_S = 20.0, 40.0, 60.0, 1.0, 7200.0
_METADATA_ARG = re.compile(r"^metadata\[(.+)\]$")


def _auto_batch_size(examples: int) -> int:
    # About 0.2% of the examples, at most 256 (OpenAI's documented rule for the legacy fine-tunes
    # API; the current API does not publish its rule).
    return max(1, min(256, round(examples * 0.002)))


class OpenAIJobs:
    def __init__(self, api: OpenAIApi) -> None:
        self.api = api
        self.sandbox = api.sandbox
        self.store = api.store

    def register(self, r: Router) -> None:
        r.route("POST", "/fine_tuning/jobs")(self.create)
        r.route("GET", "/fine_tuning/jobs")(self.list_jobs)
        r.route("GET", "/fine_tuning/jobs/{job_id}")(self.retrieve)
        r.route("POST", "/fine_tuning/jobs/{job_id}/cancel")(self.cancel)
        r.route("POST", "/fine_tuning/jobs/{job_id}/pause")(self.pause)
        r.route("POST", "/fine_tuning/jobs/{job_id}/resume")(self.resume)
        r.route("GET", "/fine_tuning/jobs/{job_id}/events")(self.events)
        r.route("GET", "/fine_tuning/jobs/{job_id}/checkpoints")(self.checkpoints)

    # -- create ------------------------------------------------------------------------------

    def _file(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        file_id = expect(body, key, str)
        doc = self.store.get(KIND_FILE, file_id)
        if doc is None:
            raise invalid(f"invalid {key}: {file_id} (no such file)", key, "file_not_found")
        if doc["purpose"] != "fine-tune":
            raise invalid(f"File {file_id} has purpose '{doc['purpose']}'; fine-tuning needs a file"
                          " uploaded with purpose 'fine-tune'.", key, "invalid_file_purpose")
        return doc

    def _dataset(self, file_doc: dict[str, Any], method: str, model: str) -> dict[str, Any]:
        """Check a file's contents once per method and model (cached on the file)."""
        return cached_check(self.store, KIND_FILE, file_doc, f"{method}:{model}",
                            provider="openai", method=method, model=model)

    @staticmethod
    def _file_error(check: dict[str, Any], which: str) -> dict[str, Any]:
        more = check["errors"] - len(check["problems"])
        message = (f"The job failed due to an invalid {which} file. Invalid file format. "
                   + "; ".join(check["problems"]))
        if more > 0:
            message += f" (and {more:,} more problem(s); `tuneops validate` lists them all)"
        return {"code": f"invalid_{which}_file", "message": message, "param": f"{which}_file"}

    def create(self, req: SandboxRequest) -> SandboxResponse:
        body = json_body(req)
        reject_unknown(body, _CREATE_KEYS)
        for key in ("model", "training_file"):
            if key not in body:
                raise missing(key)
        requested_model = expect(body, "model", str)
        model = params.resolve_model(requested_model)
        if model is None:
            raise invalid(f"Model {requested_model} is not available for fine-tuning or does not"
                          " exist.", "model", "model_not_available")
        training = self._file(body, "training_file")
        validation = self._file(body, "validation_file") if body.get("validation_file") is not None else None
        method = body.get("method")
        if method is None:
            method_type, hyper_in, hyper_param = "supervised", body.get("hyperparameters"), "hyperparameters"
        else:
            expect(body, "method", dict)
            method_type = one_of(method.get("type"), "method.type", ["supervised", "dpo", "reinforcement"])
            if method_type == "reinforcement":
                raise invalid("Reinforcement fine-tuning is not emulated by the tuneops sandbox.",
                              "method.type", "unsupported_method")
            inner = method.get(method_type) or {}
            hyper_param = f"method.{method_type}.hyperparameters"
            hyper_in = inner.get("hyperparameters") if isinstance(inner, dict) else None
            if hyper_in is None:
                hyper_in = body.get("hyperparameters")
        requested = params.hyperparameters(hyper_in, hyper_param, method_type)
        suffix = None
        if body.get("suffix") is not None:
            suffix = expect(body, "suffix", str)
            if not 1 <= len(suffix) <= 64:
                raise invalid(f"Invalid 'suffix': string length must be between 1 and 64, but got a"
                              f" string with length {len(suffix)} instead.", "suffix", "invalid_value")
        seed = None
        if body.get("seed") is not None:
            seed = bounded_int(expect(body, "seed", int), "seed", 0, 2_147_483_647)
        metadata = params.metadata(body.get("metadata"))
        integrations = params.integrations(body.get("integrations"))

        # Contents are checked now, but the verdict only shows once validation "finishes".
        pack_method = "dpo" if method_type == "dpo" else "sft"
        check = self._dataset(training, pack_method, model)
        error = None
        if check["errors"]:
            error = self._file_error(check, "training")
        elif validation is not None:
            vcheck = self._dataset(validation, pack_method, model)
            if vcheck["errors"]:
                error = self._file_error(vcheck, "validation")

        job_id = self.sandbox.new_id("ftjob-")
        now = self.sandbox.now()
        examples = check["examples"]
        resolved = dict(requested)
        if resolved["n_epochs"] == "auto":
            from tuneops.datasets.cost import openai_auto_epochs

            resolved["n_epochs"] = openai_auto_epochs(examples)
        if resolved["batch_size"] == "auto":
            resolved["batch_size"] = _auto_batch_size(examples)
        if resolved["learning_rate_multiplier"] == "auto":
            # not documented; the value the live API most often reports for small datasets
            resolved["learning_rate_multiplier"] = 1.8
        if resolved.get("beta") == "auto":
            resolved["beta"] = 0.1
        per_epoch = max(1, math.ceil(examples / resolved["batch_size"]))
        total_steps = 0 if error else per_epoch * resolved["n_epochs"]
        speed = self.sandbox.speed
        fail_at = None if error else self.sandbox.injector.job_fails(job_id)
        plan = {
            "validate_s": min(300.0, VALIDATE_S + 0.005 * examples) / speed,
            "queue_s": QUEUE_S / speed,
            "run_s": min(RUN_MAX_S, RUN_BASE_S + RUN_PER_STEP_S * total_steps) / speed,
            "total_steps": total_steps, "steps_per_epoch": per_epoch,
            "fail": "file" if error else ("vendor" if fail_at is not None else None),
            "fail_at": fail_at or 0.0,
        }
        doc = {
            "id": job_id, "created": now, "created_at": int(now), "model": model,
            "training_file": training["id"],
            "validation_file": validation["id"] if validation is not None else None,
            "suffix": suffix, "metadata": metadata, "integrations": integrations,
            "seed": seed if seed is not None else int(unit_draw(self.sandbox.seed, "seed", job_id) * 2**31),
            "method_type": method_type, "requested": requested, "resolved": resolved,
            "dataset": {"examples": examples, "tokens": check["tokens"]},
            "plan": plan, "error": error, "actions": [],
            "vendor_error": {"code": "server_error", "param": None,
                             "message": "The job failed due to an internal server error. Please try"
                                        " again. (tuneops sandbox: injected fault fail_jobs)"},
            "result_file": self.sandbox.new_id("file-"),
        }
        with self.store.tx() as t:
            t.insert(KIND_JOB, job_id, doc)
            if not error:
                ref = doc["result_file"]
                t.insert(KIND_PENDING_RESULT, ref, {"id": ref, "job_id": job_id})
        return SandboxResponse.json(200, job_object(doc, now))

    # -- read --------------------------------------------------------------------------------

    def job_doc(self, job_id: str) -> dict[str, Any]:
        doc = self.store.get(KIND_JOB, job_id)
        if doc is None:
            raise not_found(f"Could not find fine-tuning job: {job_id}", "fine_tuning_job_id")
        return doc

    def view(self, doc: dict[str, Any]) -> dict[str, Any]:
        job = job_object(doc, self.sandbox.now())
        if job["status"] == "succeeded":
            self.materialize_result(doc["result_file"])
        return job

    def list_jobs(self, req: SandboxRequest) -> SandboxResponse:
        limit = limit_arg(req, 20, 100)
        wanted: dict[str, str] = {}
        no_metadata = False
        for key, value in req.query:
            hit = _METADATA_ARG.match(key)
            if hit:
                wanted[hit.group(1)] = value
            elif key == "metadata" and value == "null":
                no_metadata = True

        def keep(doc: dict[str, Any]) -> bool:
            meta = doc.get("metadata") or {}
            if no_metadata:
                return not meta
            return all(meta.get(k) == v for k, v in wanted.items())

        page = self.store.page(KIND_JOB, limit=limit, after=req.arg("after"),
                               keep=keep if (wanted or no_metadata) else None)
        if page is None:
            raise invalid(f"Could not find fine-tuning job: {req.arg('after')}", "after")
        docs, more = page
        return SandboxResponse.json(200, list_object([self.view(d) for d in docs], more))

    def retrieve(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        return SandboxResponse.json(200, self.view(self.job_doc(job_id)))

    def _page(self, req: SandboxRequest, items: list[dict[str, Any]], default: int, kind: str,
              ids: bool) -> SandboxResponse:
        limit = limit_arg(req, default, 100)
        after = req.arg("after")
        start = 0
        if after is not None:
            index = next((i for i, e in enumerate(items) if e["id"] == after), None)
            if index is None:
                raise invalid(f"No such {kind}: {after}", "after")
            start = index + 1
        chunk = items[start:start + limit]
        return SandboxResponse.json(200, list_object(chunk, start + limit < len(items), ids=ids))

    def events(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        items = job_events(self.job_doc(job_id), self.sandbox.now())
        return self._page(req, items, 20, "fine-tuning event", ids=False)

    def checkpoints(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        items = job_checkpoints(self.job_doc(job_id), self.sandbox.now())
        return self._page(req, items, 10, "fine-tuning checkpoint", ids=True)

    # -- actions -----------------------------------------------------------------------------

    def _act(self, job_id: str, kind: str, allowed: tuple[str, ...]) -> SandboxResponse:
        self.job_doc(job_id)
        now = self.sandbox.now()

        def change(doc: dict[str, Any]) -> dict[str, Any]:
            status = job_object(doc, now)["status"]
            if status not in allowed:
                verb = {"cancel": "cancelled", "pause": "paused", "resume": "resumed"}[kind]
                raise ApiError(400, f"Job {job_id} is {status}; only a job that is "
                               f"{' or '.join(allowed)} can be {verb}.", param="fine_tuning_job_id")
            doc["actions"].append([now, kind])
            return doc

        doc = self.store.update(KIND_JOB, job_id, change)
        assert doc is not None
        if kind == "cancel":
            self.store.delete(KIND_PENDING_RESULT, doc["result_file"])
        return SandboxResponse.json(200, job_object(doc, now))

    def cancel(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        return self._act(job_id, "cancel", ("validating_files", "queued", "running", "paused"))

    def pause(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        return self._act(job_id, "pause", ("running",))

    def resume(self, req: SandboxRequest, job_id: str) -> SandboxResponse:
        return self._act(job_id, "resume", ("paused",))

    # -- result files ------------------------------------------------------------------------

    def materialize_result(self, file_id: str) -> bool:
        """Create a succeeded job's result file the first time anyone looks; True if it now exists."""
        ref = self.store.get(KIND_PENDING_RESULT, file_id)
        if ref is None:
            return False
        job = self.store.get(KIND_JOB, ref["job_id"])
        now = self.sandbox.now()
        if job is None:
            self.store.delete(KIND_PENDING_RESULT, file_id)
            return False
        phase = timeline_of(job).phase_at(now)
        if phase.name != "succeeded":
            if phase.name in ("failed", "cancelled"):
                self.store.delete(KIND_PENDING_RESULT, file_id)
            return False
        size = self.store.write_blob(file_id, [results_file_content(job)])
        with self.store.tx() as t:
            if t.get(KIND_FILE, file_id) is None:
                t.insert(KIND_FILE, file_id, {
                    "id": file_id, "bytes": size, "created_at": int(phase.since),
                    "filename": "step_metrics.csv", "purpose": "fine-tune-results", "validations": {},
                })
            t.delete(KIND_PENDING_RESULT, file_id)
        return True

    def materialize_results(self) -> None:
        for ref_id in [d["id"] for d in self.store.scan(KIND_PENDING_RESULT)]:
            self.materialize_result(ref_id)
