"""The Together emulator over plain HTTP: paths, shapes (per the SDK's types), error bodies, the
redirect-then-PUT upload with its checksum dedupe, processing, the status sequence, faults."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.providers.sandbox.conftest import chat_rows
from tuneops.providers.sandbox import ManualClock, SandboxTransport

BASE = "http://sandbox.tuneops/together/v1"
AUTH = {"Authorization": "Bearer tgp-fake-key"}
MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"


def client(tmp_path: Path, **kw: Any) -> httpx2.Client:
    kw.setdefault("speed", 1.0)
    kw.setdefault("faults", "")
    return httpx2.Client(transport=SandboxTransport(tmp_path / "state", **kw), headers=AUTH)


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def reserve(c: httpx2.Client, data: bytes, name: str = "train.jsonl") -> httpx2.Response:
    form = {"purpose": (None, "fine-tune"), "file_name": (None, name),
            "file_type": (None, "jsonl"), "checksum": (None, hashlib.sha256(data).hexdigest())}
    return c.post(f"{BASE}/files", files=form, follow_redirects=False)


def upload(c: httpx2.Client, data: bytes) -> dict[str, Any]:
    r = reserve(c, data)
    assert r.status_code == 302, r.text
    put = c.put(r.headers["location"], content=data)  # storage ignores the Authorization header
    assert put.status_code == 200
    done = c.post(f"{BASE}/files/{r.headers['x-together-file-id']}/preprocess")
    assert done.status_code == 200, done.text
    doc: dict[str, Any] = done.json()
    return doc


def assert_error(r: httpx2.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    return err


def test_auth_and_unknown_paths(tmp_path: Path) -> None:
    transport = SandboxTransport(tmp_path / "state", faults="")
    assert_error(httpx2.Client(transport=transport).get(f"{BASE}/fine-tunes"), 401)
    c = httpx2.Client(transport=transport, headers=AUTH)
    assert assert_error(c.get(f"{BASE}/nope"), 404)["code"] == "not_found"
    assert_error(c.get(f"{BASE}/fine-tunes/ft-missing"), 404)
    assert_error(c.get(f"{BASE}/files/file-missing"), 404)


def test_upload_flow_shapes_and_dedupe(tmp_path: Path) -> None:
    c = client(tmp_path)
    data = jsonl(chat_rows(12))
    r = reserve(c, data)
    assert r.status_code == 302 and r.headers["location"].startswith("http://sandbox.tuneops/")
    file_id = r.headers["x-together-file-id"]
    assert file_id.startswith("file-") and len(file_id) == 41
    assert_error(c.post(f"{BASE}/files/{file_id}/preprocess"), 400)  # no bytes yet
    f = upload(c, data)
    assert set(f) >= {"id", "object", "bytes", "created_at", "filename", "FileType", "purpose",
                      "processing_status", "validation_report"}
    assert f["object"] == "file" and f["FileType"] == "jsonl" and isinstance(f["created_at"], int)
    assert f["processing_status"] == "COMPLETED" and f["bytes"] == len(data)
    report = f["validation_report"]
    assert report["valid"] is True and report["nlines"] == 12
    assert report["dataset_format"] == "CONVERSATION"
    dup = reserve(c, data)
    assert dup.status_code == 409 and dup.json()["file_id"] == f["id"]
    assert c.get(f"{BASE}/files").json()["data"][0]["id"] == f["id"]
    assert c.get(f"{BASE}/files/{f['id']}/content").content == data
    assert c.delete(f"{BASE}/files/{f['id']}").json() == {"id": f["id"], "deleted": True}


def test_bad_put_token_and_bad_form(tmp_path: Path) -> None:
    c = client(tmp_path)
    assert c.put(f"{BASE}/_storage/nothing", content=b"x").status_code == 403
    assert_error(c.post(f"{BASE}/files", files={"purpose": (None, "fine-tune")}), 400)


def test_processing_status_and_invalid_format(tmp_path: Path) -> None:
    clock = ManualClock()
    transport = SandboxTransport(tmp_path / "s", speed=1.0, clock=clock, faults="")
    transport.sandbox.api("together").files.instant_bytes = 0  # type: ignore[attr-defined]
    c = httpx2.Client(transport=transport, headers=AUTH)
    rows = chat_rows(12)
    rows[4] = {"messages": [{"role": "robot", "content": "x"}]}
    f = upload(c, jsonl(rows))
    assert f["processing_status"] == "QUEUED" and "validation_report" not in f
    est = c.post(f"{BASE}/fine-tunes/estimate-price",
                 json={"training_file": f["id"], "model": MODEL}).json()
    assert est == {"estimation_available": False, "unavailable_reason": "train_file_not_validated"}
    clock.advance(60)
    f = c.get(f"{BASE}/files/{f['id']}").json()
    assert f["processing_status"] == "INVALID_FORMAT"
    report = f["validation_report"]
    assert report["valid"] is False and report["error_type"] == "INVALID_FORMAT"
    assert "Line 5" in report["error"]
    err = assert_error(c.post(f"{BASE}/fine-tunes", json={"model": MODEL,
                                                          "training_file": f["id"]}), 400)
    assert err["param"] == "training_file" and "Line 5" in err["message"]


def test_create_checks_the_request(tmp_path: Path) -> None:
    c = client(tmp_path)
    f = upload(c, jsonl(chat_rows(12)))
    body = {"model": MODEL, "training_file": f["id"]}
    assert assert_error(c.post(f"{BASE}/fine-tunes", json={**body, "model": "gpt-4o"}),
                        400)["param"] == "model"
    assert_error(c.post(f"{BASE}/fine-tunes", json={**body, "hyperparameters": {}}), 400)
    assert_error(c.post(f"{BASE}/fine-tunes", json={**body, "suffix": "x" * 41}), 400)
    assert_error(c.post(f"{BASE}/fine-tunes", json={**body, "n_epochs": 0}), 400)
    assert_error(c.post(f"{BASE}/fine-tunes", json={**body, "training_file": "file-x"}), 400)


def test_status_sequence_price_and_shapes(tmp_path: Path) -> None:
    clock = ManualClock()
    c = client(tmp_path, clock=clock)
    f = upload(c, jsonl(chat_rows(12)))
    created = c.post(f"{BASE}/fine-tunes", json={
        "model": MODEL, "training_file": f["id"], "n_epochs": 2, "suffix": "tuneops--tn-1",
        "training_method": {"method": "sft", "train_on_inputs": "auto"}}).json()
    assert created["id"].startswith("ft-") and created["status"] == "pending"
    assert "events" not in created and created["suffix"] == "tuneops--tn-1"
    assert created["created_at"].endswith("Z") and created["total_price"] is None
    seen = []
    for _ in range(400):
        job = c.get(f"{BASE}/fine-tunes/{created['id']}").json()
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] == "completed":
            break
        clock.advance(1)
    assert seen == ["pending", "queued", "running", "compressing", "uploading", "completed"]
    assert isinstance(job["total_price"], int) and job["total_price"] > 0
    assert job["token_count"] > 0 and job["model_output_name"].startswith("tuneops-sandbox/")
    assert isinstance(job["events"], list) and job["events"][-1]["type"] == "job_complete"
    listed = c.get(f"{BASE}/fine-tunes").json()["data"]
    assert [j["id"] for j in listed] == [created["id"]] and "events" not in listed[0]
    events = c.get(f"{BASE}/fine-tunes/{created['id']}/events").json()["data"]
    assert all(e["object"] == "fine-tune-event" for e in events)
    ckpts = c.get(f"{BASE}/fine-tunes/{created['id']}/checkpoints").json()["data"]
    assert ckpts[0]["checkpoint_type"] == "Final" and ckpts[0]["checkpoint"] == "adapter"
    assert_error(c.post(f"{BASE}/fine-tunes/{created['id']}/cancel"), 400)


def test_cancel_goes_through_cancel_requested(tmp_path: Path) -> None:
    clock = ManualClock()
    c = client(tmp_path, clock=clock)
    f = upload(c, jsonl(chat_rows(12)))
    job = c.post(f"{BASE}/fine-tunes", json={"model": MODEL, "training_file": f["id"]}).json()
    assert c.post(f"{BASE}/fine-tunes/{job['id']}/cancel").json()["status"] == "cancel_requested"
    clock.advance(30)
    assert c.get(f"{BASE}/fine-tunes/{job['id']}").json()["status"] == "cancelled"
    types = [e["type"] for e in c.get(f"{BASE}/fine-tunes/{job['id']}/events").json()["data"]]
    assert types[-2:] == ["cancel_requested", "job_stopped"]


def test_dpo_on_sft_data_ends_in_user_error(tmp_path: Path) -> None:
    clock = ManualClock()
    c = client(tmp_path, clock=clock)
    f = upload(c, jsonl(chat_rows(12)))
    job = c.post(f"{BASE}/fine-tunes", json={
        "model": "Qwen/Qwen3-8B", "training_file": f["id"],
        "training_method": {"method": "dpo", "dpo_beta": 0.1}}).json()
    clock.advance(600)
    done = c.get(f"{BASE}/fine-tunes/{job['id']}").json()
    assert done["status"] == "user_error"
    last = done["events"][-1]
    assert last["type"] == "job_user_error" and last["level"] == "error" and "Line 1" in last["message"]


def test_estimate_price(tmp_path: Path) -> None:
    c = client(tmp_path)
    f = upload(c, jsonl(chat_rows(12)))
    one = c.post(f"{BASE}/fine-tunes/estimate-price", json={
        "training_file": f["id"], "model": MODEL, "n_epochs": 1,
        "training_method": {"method": "sft", "train_on_inputs": "auto"},
        "training_type": {"type": "Lora", "lora_r": 8, "lora_alpha": 16}}).json()
    assert one["estimation_available"] is True and one["allowed_to_proceed"] is True
    assert one["estimated_train_token_count"] > 0 and one["estimated_eval_token_count"] == 0
    three_full = c.post(f"{BASE}/fine-tunes/estimate-price", json={
        "training_file": f["id"], "model": MODEL, "n_epochs": 3,
        "training_type": {"type": "Full"}}).json()
    assert three_full["estimated_total_price"] > 3 * one["estimated_total_price"]


@pytest.mark.parametrize(("fault", "status"), [("429=1", 429), ("500=1", 500), ("503=1", 503)])
def test_faults_have_together_error_bodies(tmp_path: Path, fault: str, status: int) -> None:
    c = client(tmp_path, faults=f"{fault},retry_after=2")
    r = c.get(f"{BASE}/fine-tunes")
    assert_error(r, status)
    if status == 429:
        assert r.headers["retry-after"] == "2"
