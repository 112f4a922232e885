"""The Mistral emulator: every response shape validates against Mistral's published OpenAPI spec,
errors come in Mistral's three shapes, and jobs follow Mistral's status sequence on the sandbox
clock. Requests go straight through httpx2 to the in-process transport (no SDK, no socket)."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.providers.sandbox import _spec
from tests.providers.sandbox.conftest import chat_rows
from tuneops.providers.sandbox import ManualClock, SandboxTransport

pytestmark = pytest.mark.skipif(not _spec.MISTRAL_SPEC_PATH.is_file(),
                                reason=f"Mistral's published spec is not at {_spec.MISTRAL_SPEC_PATH}")

BASE = "http://sandbox.tuneops/mistral/v1"
SCHEMAS = ("CompletionJobOut", "CompletionDetailedJobOut", "JobsOut", "LegacyJobMetadataOut",
           "UploadFileOut", "RetrieveFileOut", "ListFilesOut", "DeleteFileOut", "HTTPValidationError")
# (method, path under /mistral/v1, query marker) -> schema of a 2xx body
ROUTES: list[tuple[str, str, str]] = [
    ("POST", r"/files", "UploadFileOut"),
    ("GET", r"/files", "ListFilesOut"),
    ("GET", r"/files/[^/]+", "RetrieveFileOut"),
    ("DELETE", r"/files/[^/]+", "DeleteFileOut"),
    ("GET", r"/fine_tuning/jobs", "JobsOut"),
    ("GET", r"/fine_tuning/jobs/[^/]+", "CompletionDetailedJobOut"),
    ("POST", r"/fine_tuning/jobs/[^/]+/(start|cancel)", "CompletionDetailedJobOut"),
]


@cache
def validators() -> dict[str, Any]:
    import jsonschema

    schemas = copy.deepcopy(_spec.load_schemas(SCHEMAS, _spec.MISTRAL_SPEC_PATH))
    root = {"components": {"schemas": schemas}}
    checker = jsonschema.FormatChecker(formats=("uuid",))
    return {name: jsonschema.Draft202012Validator({**root, "$ref": f"#/components/schemas/{name}"},
                                                  format_checker=checker)
            for name in SCHEMAS}


def check(name: str, doc: Any) -> None:
    errors = sorted(validators()[name].iter_errors(doc), key=str)
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"


class Recorder(httpx2.BaseTransport):
    def __init__(self, inner: SandboxTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, str, int, bytes]] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        self.seen.append((request.method, request.url.path.removeprefix("/mistral/v1"),
                          str(request.url.query, "ascii") if isinstance(request.url.query, bytes)
                          else str(request.url.query), response.status_code, body))
        return response


def client(tmp_path: Path, clock: ManualClock | None = None, faults: str = "",
           key: str | None = "sk-tuneops-fake") -> tuple[httpx2.Client, Recorder]:
    rec = Recorder(SandboxTransport(tmp_path / "state", speed=1.0 if clock else 2000.0, clock=clock,
                                    faults=faults, seed=5))
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx2.Client(transport=rec, base_url=BASE, headers=headers), rec


def upload(c: httpx2.Client, rows: list[dict[str, Any]], name: str = "train.jsonl") -> str:
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    r = c.post("/files", files={"file": (name, data)}, data={"purpose": "fine-tune"})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def create(c: httpx2.Client, file_id: str, **kw: Any) -> httpx2.Response:
    body = {"model": "open-mistral-7b", "training_files": [{"file_id": file_id, "weight": 1}],
            "hyperparameters": {"epochs": 1}, "suffix": "tn-0001", **kw}
    return c.post("/fine_tuning/jobs", json=body)


def test_every_response_validates_against_the_spec(tmp_path: Path) -> None:
    clock = ManualClock()
    c, rec = client(tmp_path, clock)
    fid = upload(c, chat_rows(12))
    assert c.post("/fine_tuning/jobs", params={"dry_run": "true"}, json={
        "model": "open-mistral-7b", "training_files": [{"file_id": fid}],
        "hyperparameters": {"epochs": 2}}).status_code == 200
    created = create(c, fid, auto_start=False, integrations=[{"type": "wandb", "project": "p",
                                                              "api_key": "x" * 40}])
    job_id = created.json()["id"]
    check("CompletionJobOut", created.json())
    for _ in range(8):  # through every status, reading each route on the way
        c.get(f"/fine_tuning/jobs/{job_id}")
        c.get("/fine_tuning/jobs", params={"page": 0, "page_size": 2})
        if c.get(f"/fine_tuning/jobs/{job_id}").json()["status"] == "VALIDATED":
            c.post(f"/fine_tuning/jobs/{job_id}/start")
        clock.advance(30)
    other = create(c, fid).json()["id"]
    c.post(f"/fine_tuning/jobs/{other}/cancel")
    c.get("/files", params={"page": 0, "page_size": 5})
    c.get(f"/files/{fid}")
    c.delete(f"/files/{upload(c, chat_rows(2), 'x.jsonl')}")
    seen_schemas = set()
    for method, path, query, status, body in rec.seen:
        assert status == 200, (method, path, body)
        doc = json.loads(body)
        if method == "POST" and path == "/fine_tuning/jobs":
            name = "LegacyJobMetadataOut" if "dry_run" in query else "CompletionJobOut"
        else:
            name = next(n for m, p, n in ROUTES if m == method and re.fullmatch(p, path))
        check(name, doc)
        seen_schemas.add(name)
    assert seen_schemas == {n for _, _, n in ROUTES} | {"CompletionJobOut", "LegacyJobMetadataOut"}
    assert "api_key" not in json.dumps(c.get(f"/fine_tuning/jobs/{job_id}").json())


def test_status_sequence_of_a_job_started_by_hand(tmp_path: Path) -> None:
    clock = ManualClock()
    c, _ = client(tmp_path, clock)
    fid = upload(c, chat_rows(12))
    job = create(c, fid, auto_start=False).json()
    assert job["status"] == "QUEUED" and job["metadata"]["cost"] >= 4.0
    assert job["metadata"]["train_tokens"] % job["metadata"]["train_tokens_per_step"] == 0

    def status() -> str:
        return str(c.get(f"/fine_tuning/jobs/{job['id']}").json()["status"])

    clock.advance(10)
    assert status() == "VALIDATING"
    clock.advance(60)
    assert status() == "VALIDATED"
    clock.advance(600)
    assert status() == "VALIDATED", "a job created with auto_start=false waits for /start"
    assert c.post(f"/fine_tuning/jobs/{job['id']}/start").json()["status"] == "STARTED"
    assert c.post(f"/fine_tuning/jobs/{job['id']}/start").status_code == 400
    clock.advance(45)
    assert status() == "RUNNING"
    clock.advance(3600)
    done = c.get(f"/fine_tuning/jobs/{job['id']}").json()
    assert done["status"] == "SUCCESS" and done["fine_tuned_model"].startswith("ft:open-mistral-7b:")
    assert done["trained_tokens"] == done["metadata"]["train_tokens"]
    assert [e["data"]["status"] for e in done["events"]][::-1] == [
        "QUEUED", "VALIDATING", "VALIDATED", "STARTED", "RUNNING", "SUCCESS"]
    assert done["checkpoints"] and done["checkpoints"][0]["metrics"]["train_loss"] > 0


def test_cancelling_a_running_job_winds_down(tmp_path: Path) -> None:
    clock = ManualClock()
    c, _ = client(tmp_path, clock)
    job_id = create(c, upload(c, chat_rows(12))).json()["id"]
    clock.advance(70)
    assert c.get(f"/fine_tuning/jobs/{job_id}").json()["status"] == "RUNNING"
    assert c.post(f"/fine_tuning/jobs/{job_id}/cancel").json()["status"] == "CANCELLATION_REQUESTED"
    clock.advance(30)
    assert c.get(f"/fine_tuning/jobs/{job_id}").json()["status"] == "CANCELLED"
    assert c.post(f"/fine_tuning/jobs/{job_id}/cancel").status_code == 400


def test_bad_rows_fail_validation_naming_the_line(tmp_path: Path) -> None:
    clock = ManualClock()
    c, _ = client(tmp_path, clock)
    rows = chat_rows(12)
    rows[4] = {"messages": [{"role": "user", "content": "no answer"}]}
    job_id = create(c, upload(c, rows)).json()["id"]
    clock.advance(120)
    job = c.get(f"/fine_tuning/jobs/{job_id}").json()
    check("CompletionDetailedJobOut", job)
    assert job["status"] == "FAILED_VALIDATION" and job["fine_tuned_model"] is None
    assert "Line 5" in job["events"][0]["data"]["error"]


def test_dry_run_creates_no_job_and_lists_page_with_totals(tmp_path: Path) -> None:
    c, _ = client(tmp_path)
    fid = upload(c, chat_rows(12))
    quote = c.post("/fine_tuning/jobs?dry_run=true", json={
        "model": "mistral-small-latest", "training_files": [{"file_id": fid}],
        "hyperparameters": {"training_steps": 10}}).json()
    check("LegacyJobMetadataOut", quote)
    assert quote["train_tokens"] == 10 * quote["train_tokens_per_step"] and quote["cost_currency"]
    assert c.get("/fine_tuning/jobs").json()["total"] == 0
    for i in range(5):
        create(c, fid, suffix=f"ref-{i}")
    pages = [c.get("/fine_tuning/jobs", params={"page": n, "page_size": 2}).json() for n in range(3)]
    assert [len(p["data"]) for p in pages] == [2, 2, 1] and {p["total"] for p in pages} == {5}
    hit = c.get("/fine_tuning/jobs", params={"suffix": "ref-3"}).json()
    assert hit["total"] == 1 and hit["data"][0]["suffix"] == "ref-3"


def test_request_validation_errors_are_pydantic_422s(tmp_path: Path) -> None:
    c, _ = client(tmp_path)
    fid = upload(c, chat_rows(2))
    cases = [
        ({"training_files": [{"file_id": fid}], "hyperparameters": {}}, ["body", "model"]),
        (create_body(fid, suffix="x" * 19), ["body", "suffix"]),
        (create_body(fid, hyperparameters={"learning_rate": 2}), ["body", "hyperparameters",
                                                                  "learning_rate"]),
        (create_body(fid, hyperparameters={"n_epochs": 2}), ["body", "hyperparameters", "n_epochs"]),
        (create_body(fid, training_files=[{"file_id": "nope"}]), ["body", "training_files", 0,
                                                                  "file_id"]),
    ]
    for body, loc in cases:
        r = c.post("/fine_tuning/jobs", json=body)
        assert r.status_code == 422, body
        check("HTTPValidationError", r.json())
        assert r.json()["detail"][0]["loc"] == loc
    r = c.get("/fine_tuning/jobs/not-a-uuid")
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "uuid_parsing"


def create_body(fid: str, **kw: Any) -> dict[str, Any]:
    return {"model": "open-mistral-7b", "training_files": [{"file_id": fid}],
            "hyperparameters": {"epochs": 1}, **kw}


def test_service_refusals_carry_a_plain_detail(tmp_path: Path) -> None:
    c, _ = client(tmp_path)
    fid = upload(c, chat_rows(2))
    r = c.post("/fine_tuning/jobs", json=create_body(fid, model="gpt-4o-mini"))
    assert r.status_code == 422
    assert r.json() == {"detail": "Model not available for this type of fine-tuning (completion)."}
    r = c.get("/fine_tuning/jobs/00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404 and isinstance(r.json()["detail"], str)
    bad = c.post("/files", files={"file": ("train.csv", b"a,b\n")}, data={"purpose": "fine-tune"})
    assert bad.status_code == 422 and ".jsonl" in bad.json()["detail"]


@pytest.mark.parametrize(("fault", "status"), [("429=1", 429), ("500=1", 500), ("503=1", 503)])
def test_injected_faults_use_the_gateway_shape(tmp_path: Path, fault: str, status: int) -> None:
    c, _ = client(tmp_path, faults=f"{fault},retry_after=3")
    r = c.get("/fine_tuning/jobs")
    assert r.status_code == status
    body = r.json()
    assert body["object"] == "error" and "injected fault" in body["message"]
    if status == 429:
        assert r.headers["retry-after"] == "3"


def test_a_request_without_a_key_is_unauthorized(tmp_path: Path) -> None:
    c, _ = client(tmp_path, key=None)
    r = c.get("/files")
    assert r.status_code == 401 and r.json()["message"] == "Unauthorized"
