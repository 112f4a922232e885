"""Files and Uploads through the official SDK against the in-process sandbox, and authentication."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from tests.providers.sandbox.conftest import BASE_URL, make_client, upload, wait_for


def test_files_create_retrieve_list_content_delete(client: Any, good_file: Path, tmp_path: Path) -> None:
    a = upload(client, good_file)
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with open(other, "rb") as fh:
        b = client.files.create(file=("notes.txt", fh), purpose="user_data")
    assert client.files.retrieve(a.id).model_dump() == a.model_dump()
    assert client.files.content(a.id).read() == good_file.read_bytes()
    assert [f.id for f in client.files.list()] == [b.id, a.id]
    assert [f.id for f in client.files.list(order="asc")] == [a.id, b.id]
    assert [f.id for f in client.files.list(purpose="fine-tune")] == [a.id]
    assert [f.id for f in client.files.list(limit=1)] == [b.id, a.id]  # cursor paging
    deleted = client.files.delete(a.id)
    assert deleted.deleted and deleted.id == a.id
    with pytest.raises(openai.NotFoundError) as err:
        client.files.retrieve(a.id)
    assert err.value.body["message"] == f"No such File object: {a.id}"


def test_fine_tune_files_must_be_jsonl(client: Any) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.files.create(file=("train.csv", b"a,b\n"), purpose="fine-tune")
    assert "Must be .jsonl" in err.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.files.create(file=("x.jsonl", b"{}\n"), purpose="nonsense")  # type: ignore[arg-type]
    assert bad.value.param == "purpose"


def test_uploads_in_parts_with_md5_then_train(client: Any, good_file: Path) -> None:
    data = good_file.read_bytes()
    up = client.uploads.create(bytes=len(data), filename="big.jsonl", mime_type="application/jsonl",
                               purpose="fine-tune")
    assert up.status == "pending" and up.file is None and up.expires_at > up.created_at
    cuts = [0, 100, 700, len(data)]
    parts = [client.uploads.parts.create(up.id, data=data[s:e]) for s, e in itertools.pairwise(cuts)]
    assert all(p.upload_id == up.id and p.object == "upload.part" for p in parts)
    done = client.uploads.complete(up.id, part_ids=[p.id for p in parts], md5=hashlib.md5(data).hexdigest())
    assert done.status == "completed" and done.file is not None
    assert done.file.bytes == len(data) and done.file.filename == "big.jsonl"
    assert client.files.content(done.file.id).read() == data
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=done.file.id)
    assert wait_for(client, job.id).status == "succeeded"
    with pytest.raises(openai.BadRequestError):
        client.uploads.complete(up.id, part_ids=[p.id for p in parts])  # already completed


def test_uploads_refuse_a_wrong_md5_or_size_and_can_be_cancelled(client: Any) -> None:
    data = b'{"messages": []}\n' * 10
    up = client.uploads.create(bytes=len(data), filename="x.jsonl", mime_type="application/jsonl",
                               purpose="fine-tune")
    p1 = client.uploads.parts.create(up.id, data=data[:50])
    p2 = client.uploads.parts.create(up.id, data=data[50:])
    with pytest.raises(openai.BadRequestError) as err:
        client.uploads.complete(up.id, part_ids=[p1.id, p2.id], md5="0" * 32)
    assert err.value.code == "md5_mismatch" and err.value.param == "md5"
    with pytest.raises(openai.BadRequestError) as size:
        client.uploads.complete(up.id, part_ids=[p1.id])
    assert size.value.code == "upload_size_mismatch"
    # the parts in a different order give other bytes, so the md5 of the real file refuses them
    with pytest.raises(openai.BadRequestError):
        client.uploads.complete(up.id, part_ids=[p2.id, p1.id], md5=hashlib.md5(data).hexdigest())
    cancelled = client.uploads.cancel(up.id)
    assert cancelled.status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.uploads.parts.create(up.id, data=b"more")
    with pytest.raises(openai.NotFoundError):
        client.uploads.cancel("upload_nope")


def test_sdk_chunked_upload_helper(client: Any, good_file: Path) -> None:
    up = client.uploads.upload_file_chunked(file=good_file, mime_type="application/jsonl",
                                            purpose="fine-tune", part_size=256)
    assert up.status == "completed"
    assert client.files.content(up.file.id).read() == good_file.read_bytes()


def test_a_key_is_required_but_any_key_works(transport_factory: Callable[..., Any]) -> None:
    transport = transport_factory()
    raw = httpx2.Client(transport=transport)
    res = raw.get(f"{BASE_URL}/files")
    assert res.status_code == 401
    assert res.json()["error"]["type"] == "invalid_request_error"
    assert raw.get(f"{BASE_URL}/files", headers={"Authorization": "Bearer anything"}).status_code == 200
    assert raw.get("http://sandbox.tuneops/_sandbox/health").json()["apis"] == {
        "openai": "/openai/v1", "mistral": "/mistral/v1", "together": "/together/v1",
        "vertex": "/vertex"}
    keyed = make_client(transport, api_key="sk-other")
    assert list(keyed.files.list()) == []


def test_no_secret_reaches_the_state_directory(transport_factory: Callable[..., Any], good_file: Path,
                                               tmp_path: Path) -> None:
    secret = "sk-very-secret-key-1234567890"
    client = make_client(transport_factory(), api_key=secret)
    f = upload(client, good_file)
    client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=f.id)
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
