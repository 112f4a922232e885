"""The official together SDK (3.x, over httpx), pointed at `tuneops sandbox serve` with exactly the
setting the server prints (TOGETHER_BASE_URL) and any key: it uploads a training file, creates a
fine-tuning job (reading the model's limits and a price estimate first, as `create` always does)
and follows it to completion. The routes the SDK does not call but the published spec has
(``POST /files/upload``, ``GET /fine-tunes/models/supported``) are exercised over plain HTTP.

Bodies are checked twice: with the SDK's own pydantic types, validating (the SDK itself only
constructs them, leniently), and against the schemas of Together's published OpenAPI spec.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.providers.sandbox import _spec
from tuneops.providers.sandbox import Sandbox
from tuneops.providers.sandbox.server import SandboxServer

together = pytest.importorskip("together")

EXAMPLE = _spec.REPO / "examples" / "support_chat.jsonl"
TOGETHER_SPEC_PATH = _spec.REPO.parent / "shared" / "specs" / "together-openapi.yaml"
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
FINAL = ("completed", "error", "user_error", "cancelled")
SCHEMAS = ("FineTuneModelLimits", "FileResponse", "FinetuneListEvents", "ErrorData")
# `GET /fine-tunes/models/supported`: the spec's schema is inline in the path, not a component
SUPPORTED_SCHEMA = {"type": "object", "required": ["models"],
                    "properties": {"models": {"type": "array", "items": {"type": "string"}}}}


@cache
def validators() -> dict[str, Any]:
    import jsonschema

    schemas = copy.deepcopy(_spec.load_schemas(SCHEMAS, TOGETHER_SPEC_PATH))
    root = {"components": {"schemas": _spec._adapt(schemas)}}
    out = {name: jsonschema.Draft202012Validator({**root, "$ref": f"#/components/schemas/{name}"})
           for name in SCHEMAS}
    out["supported"] = jsonschema.Draft202012Validator(SUPPORTED_SCHEMA)
    return out


def check(name: str, doc: Any) -> None:
    errors = sorted(validators()[name].iter_errors(doc), key=str)
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"


needs_spec = pytest.mark.skipif(not TOGETHER_SPEC_PATH.is_file(),
                                reason=f"Together's published spec is not at {TOGETHER_SPEC_PATH}")


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    for var in ("TOGETHER_BASE_URL", "TOGETHER_API_KEY", "TUNEOPS_SANDBOX_FAULTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    with SandboxServer(Sandbox(tmp_path / "s", speed=5000)) as server:
        for item in server.client_settings()["together"]:  # exactly what `serve` prints
            monkeypatch.setenv(item["name"], item["value"])
        yield server


@pytest.fixture
def sdk(served: SandboxServer) -> Any:
    client = together.Together(api_key="test", max_retries=0)
    # the constructor read TOGETHER_BASE_URL: the requests go to the served sandbox
    assert str(client.base_url).rstrip("/") == served.url + "/together"
    return client


def raw_json(response: Any) -> Any:
    """The body of a `with_raw_response` call, as sent."""
    return response.http_response.json()


def test_the_sdk_uploads_creates_and_follows_a_job(sdk: Any) -> None:
    from together.types import FileResponse, FineTuningListEventsResponse
    from together.types.finetune_response import FinetuneResponse

    # check=True: the SDK's local check accepts the OpenAI chat format (`messages`) as is
    file = sdk.files.upload(EXAMPLE, purpose="fine-tune", check=True)
    assert file.id.startswith("file-") and file.processing_status == "COMPLETED"
    assert file.filename == EXAMPLE.name and file.bytes == EXAMPLE.stat().st_size
    # uploading the same bytes again: the 409 dedupe answers the same file
    assert sdk.files.upload(EXAMPLE, purpose="fine-tune", check=False).id == file.id
    stored = raw_json(sdk.files.with_raw_response.retrieve(file.id))
    FileResponse.model_validate(stored)
    assert stored["validation_report"]["valid"] is True

    job = sdk.fine_tuning.create(training_file=file.id, model=MODEL, lora=True, n_epochs=2,
                                 suffix="sdk-test", training_method="sft", train_on_inputs="auto")
    assert job.id.startswith("ft-") and job.model == MODEL
    deadline = time.monotonic() + 60
    while True:
        raw = raw_json(sdk.fine_tuning.with_raw_response.retrieve(job.id))
        done = FinetuneResponse.model_validate(raw)  # validating, not just constructing
        if done.status in FINAL:
            break
        assert time.monotonic() < deadline, f"job {job.id} still {done.status}"
        time.sleep(0.05)
    assert done.status == "completed", raw
    assert done.x_model_output_name and "sdk-test" in done.x_model_output_name
    assert done.training_type is not None and done.training_type.type == "Lora"
    assert done.total_price and done.total_price > 0 and done.token_count

    events = raw_json(sdk.fine_tuning.with_raw_response.list_events(job.id))
    parsed = FineTuningListEventsResponse.model_validate(events)
    types = [e.type for e in parsed.data]
    assert types[0] == "job_pending" and types[-1] == "job_complete"
    assert parsed.data[-1].x_model_path == done.x_model_output_name
    assert [e.type for e in sdk.fine_tuning.list_events(job.id).data] == types
    if TOGETHER_SPEC_PATH.is_file():
        check("FileResponse", stored)
        check("FinetuneListEvents", events)
        assert all(e["hash"] and isinstance(e["step"], int) for e in events["data"])


@needs_spec
def test_model_limits_and_supported_models(sdk: Any, served: SandboxServer) -> None:
    from together.types import FinetuneModelLimits

    with httpx2.Client(base_url=served.url + "/together/v1",
                       headers={"Authorization": "Bearer test"}) as http:
        supported = http.get("/fine-tunes/models/supported")
        assert supported.status_code == 200
        check("supported", supported.json())
        models = supported.json()["models"]
        assert "Qwen/Qwen3-8B" in models
        for name in [*models, MODEL]:  # every listed model, and a longer name a prefix row covers
            r = http.get("/fine-tunes/models/limits", params={"model_name": name})
            assert r.status_code == 200, (name, r.text)
            check("FineTuneModelLimits", r.json())
            limits = FinetuneModelLimits.model_validate(r.json())
            assert limits.api_model_name == name
        unknown = http.get("/fine-tunes/models/limits", params={"model_name": "gpt-4o"})
        assert unknown.status_code == 404 and unknown.json()["message"]
        check("ErrorData", unknown.json())
        missing = http.get("/fine-tunes/models/limits")
        assert missing.status_code == 400
        check("ErrorData", missing.json())

    limits = sdk.fine_tuning.model_limits(model_name=MODEL)
    assert limits.lora_training.default_rank >= 1 and limits.supports_full_training
    assert not sdk.fine_tuning.model_limits(model_name="Qwen/Qwen3-235B-A22B").supports_full_training
    with pytest.raises(together.NotFoundError):
        sdk.fine_tuning.model_limits(model_name="gpt-4o")
    # the limits are the server's: one batch past them is refused by the SDK and by the server
    too_big = limits.lora_training.max_batch_size + 1
    file = sdk.files.upload(EXAMPLE, check=False)
    with pytest.raises(ValueError, match="batch size"):
        sdk.fine_tuning.create(training_file=file.id, model=MODEL, lora=True, batch_size=too_big)
    lax = limits.model_copy(deep=True)
    lax.lora_training.max_batch_size = 1024  # an SDK that does not check: the server still refuses
    with pytest.raises(together.BadRequestError):
        sdk.fine_tuning.create(training_file=file.id, model=MODEL, lora=True, batch_size=too_big,
                               model_limits=lax)


@needs_spec
def test_the_one_request_upload(served: SandboxServer) -> None:
    data = EXAMPLE.read_bytes()
    with httpx2.Client(base_url=served.url + "/together/v1",
                       headers={"Authorization": "Bearer test"}) as http:
        r = http.post("/files/upload", data={"purpose": "fine-tune", "file_name": "chat.jsonl"},
                      files={"file": ("chat.jsonl", data)})
        assert r.status_code == 200, r.text
        check("FileResponse", r.json())
        doc = r.json()
        assert doc["FileType"] == "jsonl" and doc["bytes"] == len(data) and doc["Processed"] is True
        assert doc["validation_report"]["valid"] is True
        assert http.get(f"/files/{doc['id']}").json() == doc
        assert http.get(f"/files/{doc['id']}/content").content == data
        bad = http.post("/files/upload", data={"purpose": "fine-tune", "file_name": "x.jsonl"})
        assert bad.status_code == 400
        check("ErrorData", bad.json())
        bad = http.post("/files/upload", data={"purpose": "nope", "file_name": "x.jsonl"},
                        files={"file": ("x.jsonl", data)})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "purpose"
