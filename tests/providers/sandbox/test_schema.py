"""Every response shape the sandbox produces validates against OpenAI's published OpenAPI schemas,
and parses strictly into the official SDK's types.

A recording transport wraps the sandbox while a scenario touches every route, success and error
alike; each recorded JSON body is then checked against the schema its route promises.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import jsonschema  # noqa: F401
import openai
import pytest

from tests.providers.sandbox import _spec
from tests.providers.sandbox.conftest import make_client, upload
from tuneops.providers.sandbox import ManualClock

pytestmark = pytest.mark.skipif(not _spec.SPEC_PATH.is_file(),
                                reason=f"OpenAI's published spec is not at {_spec.SPEC_PATH}")

from openai.types import FileDeleted, FileObject, Upload  # noqa: E402
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent  # noqa: E402
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint  # noqa: E402
from openai.types.uploads import UploadPart  # noqa: E402

# (method, path under /openai/v1) -> (schema of a 2xx body, SDK type of it or of each list item)
ROUTES: list[tuple[str, str, str, Any]] = [
    ("POST", r"/files", "OpenAIFile", FileObject),
    ("GET", r"/files", "ListFilesResponse", FileObject),
    ("GET", r"/files/[^/]+", "OpenAIFile", FileObject),
    ("DELETE", r"/files/[^/]+", "DeleteFileResponse", FileDeleted),
    ("POST", r"/uploads", "Upload", Upload),
    ("POST", r"/uploads/[^/]+/parts", "UploadPart", UploadPart),
    ("POST", r"/uploads/[^/]+/(complete|cancel)", "Upload", Upload),
    ("POST", r"/fine_tuning/jobs", "FineTuningJob", FineTuningJob),
    ("GET", r"/fine_tuning/jobs", "ListPaginatedFineTuningJobsResponse", FineTuningJob),
    ("GET", r"/fine_tuning/jobs/[^/]+", "FineTuningJob", FineTuningJob),
    ("POST", r"/fine_tuning/jobs/[^/]+/(cancel|pause|resume)", "FineTuningJob", FineTuningJob),
    ("GET", r"/fine_tuning/jobs/[^/]+/events", "ListFineTuningJobEventsResponse", FineTuningJobEvent),
    ("GET", r"/fine_tuning/jobs/[^/]+/checkpoints", "ListFineTuningJobCheckpointsResponse",
     FineTuningJobCheckpoint),
]
PREFIX = "/openai/v1"
ITEM_SCHEMAS = {
    "ListFilesResponse": "OpenAIFile", "ListPaginatedFineTuningJobsResponse": "FineTuningJob",
    "ListFineTuningJobEventsResponse": "FineTuningJobEvent",
    "ListFineTuningJobCheckpointsResponse": "FineTuningJobCheckpoint",
}


class Recorder(httpx2.BaseTransport):  # type: ignore[misc]
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, int, str, bytes]] = []

    def handle_request(self, request: Any) -> Any:
        res = self.inner.handle_request(request)
        self.seen.append((request.method, request.url.path, res.status_code,
                          res.headers.get("content-type", ""), res.content))
        return res


def _route(method: str, path: str) -> tuple[str, Any] | None:
    sub = path.removeprefix(PREFIX)
    for m, pattern, schema, sdk_type in ROUTES:
        if m == method and re.fullmatch(pattern, sub):
            return schema, sdk_type
    return None


def _scenario(client: Any, clock: ManualClock, good: Path, bad: Path, dpo: Path) -> None:
    """Touch every route, in every state that changes a response's shape."""
    jobs = client.fine_tuning.jobs
    list(client.files.list())  # empty page: first_id / last_id null
    f, b, d = upload(client, good), upload(client, bad), upload(client, dpo)
    plain = jobs.create(model="gpt-4o-mini", training_file=f.id)
    full = jobs.create(model="gpt-4o-mini", training_file=f.id, validation_file=f.id, suffix="s",
                       seed=3, metadata={"k": "v"},
                       integrations=[{"type": "wandb", "wandb": {"project": "p", "tags": ["t"]}}])
    dpo_job = jobs.create(model="gpt-4o-mini", training_file=d.id,
                          method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.5}}})
    failing = jobs.create(model="gpt-4o-mini", training_file=b.id)
    for j in (plain, full, dpo_job, failing):
        jobs.retrieve(j.id)  # validating_files
    clock.advance(30)
    jobs.retrieve(plain.id)  # queued
    cancel_me = jobs.create(model="gpt-4o-mini", training_file=f.id)
    clock.advance(75)
    jobs.retrieve(plain.id)  # running
    jobs.pause(plain.id)
    jobs.retrieve(plain.id)
    jobs.resume(plain.id)
    jobs.cancel(cancel_me.id)
    list(jobs.list_events(plain.id))
    list(jobs.checkpoints.list(plain.id))  # running: none yet or some
    clock.advance(100_000)
    for j in (plain, full, dpo_job, failing, cancel_me):
        jobs.retrieve(j.id)
        list(jobs.list_events(j.id, limit=50))
        list(jobs.checkpoints.list(j.id, limit=2))
    list(jobs.list(limit=2))
    list(client.files.list())
    done = jobs.retrieve(full.id)
    client.files.retrieve(done.result_files[0])
    client.files.content(done.result_files[0]).read()
    new_upload = {"bytes": 4, "mime_type": "application/jsonl", "purpose": "fine-tune"}
    up = client.uploads.create(filename="u.jsonl", **new_upload)
    part = client.uploads.parts.create(up.id, data=b"{}\n\n")
    client.uploads.complete(up.id, part_ids=[part.id])
    up2 = client.uploads.create(filename="v.jsonl", **new_upload)
    client.uploads.cancel(up2.id)
    client.files.delete(b.id)
    # errors: 400, 404, 401, 429, 500, 503 all share one envelope
    for call in (lambda: jobs.create(model="nope", training_file=f.id),
                 lambda: jobs.retrieve("ftjob-missing"),
                 lambda: jobs.cancel(plain.id),
                 lambda: client.files.retrieve("file-missing"),
                 lambda: client.uploads.complete(up2.id, part_ids=[])):
        with pytest.raises(openai.APIStatusError):
            call()


def test_every_response_matches_the_published_schema_and_the_sdk_types(
        transport_factory: Callable[..., Any], good_file: Path, bad_file: Path, dpo_file: Path) -> None:
    clock = ManualClock()
    recorder = Recorder(transport_factory(clock=clock, speed=1.0))
    client = make_client(recorder)
    _scenario(client, clock, good_file, bad_file, dpo_file)
    for spec in ("429=1", "500=1", "503=1"):
        faulty = Recorder(transport_factory(faults=spec))
        with pytest.raises(openai.APIStatusError):
            make_client(faulty).files.list()
        recorder.seen += faulty.seen
    raw = httpx2.Client(transport=recorder)
    raw.get("http://sandbox.tuneops/openai/v1/files")  # 401
    raw.get("http://sandbox.tuneops/openai/v1/nothing/here", headers={"Authorization": "Bearer k"})

    validators = _spec.validators()
    statuses: set[str] = set()
    checked: set[str] = set()
    for method, path, status, ctype, body in recorder.seen:
        if path.endswith("/content"):
            assert status == 200 and ctype == "application/octet-stream"
            continue
        assert ctype == "application/json", (method, path)
        doc = httpx2.Response(status, content=body).json()
        if status >= 400:
            schema, sdk_type = "ErrorResponse", None
            statuses.add(str(status))
        else:
            hit = _route(method, path)
            assert hit is not None, f"no schema mapped for {method} {path}"
            schema, sdk_type = hit
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in validators[schema].iter_errors(doc)]
        assert not errors, f"{method} {path} -> {status} breaks {schema}: {errors[:5]}"
        checked.add(schema)
        if sdk_type is not None:
            items = doc["data"] if schema.startswith("List") else [doc]
            item_schema = ITEM_SCHEMAS.get(schema, schema)
            for item in items:
                assert not list(validators[item_schema].iter_errors(item))
                checked.add(item_schema)
                if item.get("status") == "paused":
                    continue  # the SDK's Literal lacks "paused" although the API sends it
                sdk_type.model_validate(item)
    assert checked == set(_spec.RESPONSE_SCHEMAS)
    assert {"400", "401", "404", "429", "500", "503"} <= statuses


def test_the_validators_do_reject_wrong_shapes() -> None:
    validators = _spec.validators()
    job = {"object": "fine_tuning.job", "id": "ftjob-1", "model": "m", "created_at": 1,
           "finished_at": None, "fine_tuned_model": None, "organization_id": "org", "result_files": [],
           "status": "queued", "validation_file": None, "training_file": "file-1",
           "hyperparameters": {"n_epochs": "auto"}, "trained_tokens": None, "error": None, "seed": 1}
    assert not list(validators["FineTuningJob"].iter_errors(job))
    for broken in ({**job, "status": "exploded"}, {k: v for k, v in job.items() if k != "seed"},
                   {**job, "hyperparameters": {"n_epochs": 0}}, {**job, "created_at": "yesterday"}):
        assert list(validators["FineTuningJob"].iter_errors(broken))
    assert list(validators["ErrorResponse"].iter_errors({"error": {"message": "m"}}))
    assert list(validators["FineTuningJobEvent"].iter_errors(
        {"object": "fine_tuning.job.event", "id": "e", "created_at": 1, "level": "loud", "message": "m"}))
