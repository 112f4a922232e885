"""Together's file routes, emulated: the redirect-then-PUT upload, checksum dedupe, processing.

The flow is the one the SDK drives (`together/lib/resources/files.py`, `UploadManager`):

1. ``POST /files`` (multipart form: purpose, file_name, file_type, checksum) answers 302 with
   ``Location`` (a signed storage URL; here ``/together/v1/_storage/<token>`` on the same host, so
   it goes through the same transport) and ``X-Together-File-Id``; or 409 with a top-level
   ``file_id`` when a file with the same sha256 checksum and purpose already exists.
2. ``PUT <Location>`` with the bytes answers 200 (no authorisation: the URL is the credential).
3. ``POST /files/{id}/preprocess`` creates the file and starts its validation; ``GET /files/{id}``
   shows ``processing_status`` (PENDING, QUEUED, RUNNING, COMPLETED, INVALID_FORMAT) and, once
   done, ``validation_report`` (`together/types/file_response.py`).

The spec also has a one-request upload, ``POST /files/upload`` (multipart form: purpose,
file_name, optional file_type, file), answering the `FileResponse` at once; the SDK 3.1.1 never
calls it (its ``files.upload`` drives the flow above). It skips the checksum dedupe: the spec gives
it no 409.

Validation runs tuneops' own Together rule pack once, at preprocess (or at the one-request
upload); its verdict shows when the processing "finishes". Sandbox simplification: files up to
`instant_bytes` (1 MiB) are processed by the time preprocess answers; larger ones take
`PROCESS_S_PER_MB` vendor seconds per MB.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

import orjson

from tuneops.providers.sandbox.app import (
    ApiError,
    FormPart,
    Router,
    SandboxRequest,
    SandboxResponse,
    parse_multipart,
)
from tuneops.providers.sandbox.datasets import cached_check
from tuneops.providers.sandbox.together_common import KIND_FILE, KIND_SLOT, invalid, not_found, uuid_id

if TYPE_CHECKING:
    from tuneops.providers.sandbox.together_api import TogetherApi

__all__ = ["PURPOSES", "TogetherFiles", "detect_format"]

# `FilePurpose` of the SDK. The spec's enum differs (no "calibration"; also "eval-sample",
# "eval-output", "eval-summary", "batch-generated", which are the vendor's outputs, not uploads):
# the SDK refuses any purpose outside its own list before sending, so its list is the one kept.
PURPOSES = ("fine-tune", "calibration", "eval", "batch-api")
FILE_TYPES = ("csv", "jsonl", "parquet")  # `FileType`
PROCESS_S_PER_MB = 2.0
STORAGE = "/_storage"


def detect_format(first_line: bytes) -> tuple[str, str]:
    """(Together's dataset_format, our rule pack method) from a file's first record; the keys are
    `JSONL_REQUIRED_COLUMNS_MAP` of `together/lib/constants.py`."""
    try:
        doc = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        return "UNKNOWN", "sft"
    keys = set(doc) if isinstance(doc, dict) else set()
    if {"input", "preferred_output", "non_preferred_output"} & keys:
        return "PREFERENCE_OPENAI", "dpo"
    if "messages" in keys:
        return "CONVERSATION", "sft"
    if {"prompt", "completion"} & keys:
        return "INSTRUCTION", "sft"
    return ("GENERAL", "sft") if "text" in keys else ("UNKNOWN", "sft")


class TogetherFiles:
    def __init__(self, api: TogetherApi) -> None:
        self.api = api
        self.sandbox = api.sandbox
        self.store = api.store
        self.instant_bytes = 1 << 20

    def register(self, r: Router) -> None:
        r.route("POST", "/files")(self.reserve)
        r.route("POST", "/files/upload")(self.upload)
        r.route("PUT", STORAGE + "/{token}")(self.put)
        r.route("POST", "/files/{file_id}/preprocess")(self.preprocess)
        r.route("GET", "/files")(self.list_files)
        r.route("GET", "/files/{file_id}")(self.get_file)
        r.route("DELETE", "/files/{file_id}")(self.delete_file)
        r.route("GET", "/files/{file_id}/content")(self.content)

    # -- upload ------------------------------------------------------------------------------

    def _form(self, req: SandboxRequest) -> dict[str, FormPart]:
        try:
            return parse_multipart(req.body, req.header("content-type") or "")
        except ValueError as exc:
            raise invalid(f"Expected a multipart/form-data body ({exc}).") from None

    @staticmethod
    def _fields(form: dict[str, FormPart], keys: tuple[str, ...]) -> dict[str, str]:
        fields: dict[str, str] = {}
        for key in keys:
            if key not in form:
                raise invalid(f"Missing required field: {key}", key, "missing_field")
            fields[key] = form[key].data.decode("utf-8", "replace")
        if fields["purpose"] not in PURPOSES:
            raise invalid(f"Invalid purpose {fields['purpose']!r}; one of {list(PURPOSES)}", "purpose")
        if fields["file_type"] not in FILE_TYPES:
            raise invalid(f"Invalid file_type {fields['file_type']!r}; one of {list(FILE_TYPES)}",
                          "file_type")
        return fields

    def reserve(self, req: SandboxRequest) -> SandboxResponse:
        fields = self._fields(self._form(req), ("purpose", "file_name", "file_type", "checksum"))
        for doc in self.store.scan(KIND_FILE):
            if doc["checksum"] == fields["checksum"] and doc["purpose"] == fields["purpose"]:
                body = {"error": {"message": f"File with checksum {fields['checksum']} already"
                                             f" exists as {doc['id']}.",
                                  "type": "invalid_request_error", "param": "checksum",
                                  "code": "file_already_exists"},
                        "file_id": doc["id"]}
                return SandboxResponse.json(409, body)
        file_id = uuid_id("file-", self.sandbox.new_id("file-"))
        token = secrets.token_urlsafe(24)
        self.store.insert(KIND_SLOT, token, {
            "token": token, "file_id": file_id, "filename": fields["file_name"],
            "purpose": fields["purpose"], "file_type": fields["file_type"],
            "checksum": fields["checksum"], "created_at": int(self.sandbox.now()), "bytes": None})
        host = req.header("host") or "sandbox.tuneops"
        location = f"http://{host}{self.api.prefix}{STORAGE}/{token}?X-Amz-Signature=sandbox"
        return SandboxResponse(302, b"", {"location": location, "x-together-file-id": file_id})

    def put(self, req: SandboxRequest, token: str) -> SandboxResponse:
        slot = self.store.get(KIND_SLOT, token)
        if slot is None:
            # what a storage service says to an unknown or expired signed URL
            raise ApiError(403, "Request has expired or the signature does not match.",
                           type="AccessDenied")
        size = self.store.write_blob(slot["file_id"], [req.body])
        self.store.update(KIND_SLOT, token, lambda d: {**d, "bytes": size})
        etag = hashlib.md5(req.body, usedforsecurity=False).hexdigest()
        return SandboxResponse(200, b"", {"etag": f'"{etag}"'})

    def preprocess(self, req: SandboxRequest, file_id: str) -> SandboxResponse:
        existing = self.store.get(KIND_FILE, file_id)
        if existing is not None:  # a second call changes nothing
            return SandboxResponse.json(200, self.view(existing))
        slot = next((s for s in self.store.scan(KIND_SLOT) if s["file_id"] == file_id), None)
        if slot is None:
            raise not_found(f"File {file_id} not found.", "id")
        if slot["bytes"] is None:
            raise invalid(f"File {file_id} has not been uploaded yet.", "id", "file_not_uploaded")
        doc = self._process(file_id, slot)
        with self.store.tx() as t:
            t.insert(KIND_FILE, file_id, doc)
            t.delete(KIND_SLOT, slot["token"])
        return SandboxResponse.json(200, self.view(doc))

    def upload(self, req: SandboxRequest) -> SandboxResponse:
        """The spec's one-request upload: the bytes in the form, the `FileResponse` back."""
        form = self._form(req)
        if "file_type" not in form:  # optional; the spec's `FileType` default
            form["file_type"] = FormPart("file_type", b"jsonl")
        fields = self._fields(form, ("purpose", "file_name", "file_type"))
        part = form.get("file")
        if part is None:
            raise invalid("Missing required field: file", "file", "missing_field")
        file_id = uuid_id("file-", self.sandbox.new_id("file-"))
        size = self.store.write_blob(file_id, [part.data])
        meta = {**fields, "filename": fields["file_name"], "bytes": size,
                "checksum": hashlib.sha256(part.data).hexdigest(),
                "created_at": int(self.sandbox.now())}
        doc = self._process(file_id, meta)
        self.store.insert(KIND_FILE, file_id, doc)
        return SandboxResponse.json(200, self.view(doc))

    def _process(self, file_id: str, meta: dict[str, Any]) -> dict[str, Any]:
        """The stored file's document for the bytes stored under `file_id`, described by `meta`
        (filename, purpose, file_type, checksum, created_at, bytes): checked against the checksum,
        then with the rule pack; its processing "finishes" after a delay that grows with size."""
        digest = hashlib.sha256()
        for chunk in self.store.iter_blob(file_id):
            digest.update(chunk)
        now = self.sandbox.now()
        size = meta["bytes"]
        delay = 0.0 if size <= self.instant_bytes else PROCESS_S_PER_MB * size / 1e6 / self.sandbox.speed
        doc = {"id": file_id, "filename": meta["filename"], "purpose": meta["purpose"],
               "file_type": meta["file_type"], "checksum": meta["checksum"], "bytes": size,
               "created_at": meta["created_at"], "processing_start": now,
               "processing_done": now + delay, "validations": {}}
        if digest.hexdigest() != meta["checksum"]:
            doc["report"] = {"valid": False, "error_type": "INVALID_FORMAT",
                             "error": "The uploaded bytes do not match the checksum given.",
                             "nlines": None, "dataset_format": None}
        else:
            with self.store.blob_path(file_id).open("rb") as f:
                fmt, method = detect_format(f.readline())
            check = self.check(doc, method)
            doc["report"] = {"valid": not check["errors"], "dataset_format": fmt,
                             "nlines": check["lines"],
                             "error": check["message"] if check["errors"] else None,
                             "error_type": "INVALID_FORMAT" if check["errors"] else None}
        return doc

    def check(self, doc: dict[str, Any], method: str) -> dict[str, Any]:
        """Check a file with our Together rule pack for `method`, once (cached on the document)."""
        result = cached_check(self.store, KIND_FILE, doc, method, provider="together",
                              method=method)
        more = result["errors"] - len(result["problems"])
        message = "; ".join(result["problems"]) + (f" (and {more:,} more problem(s))"
                                                   if more > 0 else "")
        return {**result, "message": message}

    # -- read --------------------------------------------------------------------------------

    @staticmethod
    def processing_status(doc: dict[str, Any], now: float) -> str:
        if now >= doc["processing_done"]:
            return "COMPLETED" if doc["report"]["valid"] else "INVALID_FORMAT"
        third = (doc["processing_done"] - doc["processing_start"]) / 3
        return "QUEUED" if now < doc["processing_start"] + third else "RUNNING"

    def view(self, doc: dict[str, Any]) -> dict[str, Any]:
        status = self.processing_status(doc, self.sandbox.now())
        out: dict[str, Any] = {
            "id": doc["id"], "object": "file", "bytes": doc["bytes"], "created_at": doc["created_at"],
            "filename": doc["filename"], "FileType": doc["file_type"], "purpose": doc["purpose"],
            "processing_status": status,
            # Required by the spec's `FileResponse` (not in the SDK's type): whether processing has
            # finished, whatever its verdict.
            "Processed": status in ("COMPLETED", "INVALID_FORMAT"),
        }
        if status in ("COMPLETED", "INVALID_FORMAT"):
            out["validation_report"] = {"file_id": doc["id"], **doc["report"]}
        return out

    def file_doc(self, file_id: str) -> dict[str, Any]:
        doc = self.store.get(KIND_FILE, file_id)
        if doc is None:
            raise not_found(f"File {file_id} not found.", "id")
        return doc

    def list_files(self, req: SandboxRequest) -> SandboxResponse:
        return SandboxResponse.json(200, {"data": [self.view(d) for d in self.store.scan(KIND_FILE)]})

    def get_file(self, req: SandboxRequest, file_id: str) -> SandboxResponse:
        return SandboxResponse.json(200, self.view(self.file_doc(file_id)))

    def delete_file(self, req: SandboxRequest, file_id: str) -> SandboxResponse:
        self.file_doc(file_id)
        self.store.delete(KIND_FILE, file_id)
        self.store.delete_blob(file_id)
        return SandboxResponse.json(200, {"id": file_id, "deleted": True})

    def content(self, req: SandboxRequest, file_id: str) -> SandboxResponse:
        self.file_doc(file_id)
        return SandboxResponse(200, self.store.read_blob(file_id),
                               {"content-type": "application/octet-stream"})
