"""OpenAI's fine-tuning HTTP API, emulated: Files, Uploads and (in `openai_jobs`) fine-tuning jobs.

Mounted under ``/openai/v1``: point the SDK's ``base_url`` there. Shapes follow OpenAI's published
OpenAPI spec (schemas `OpenAIFile`, `Upload`, `UploadPart`, `Error`); behaviour follows the API
reference (https://platform.openai.com/docs/api-reference/files, .../uploads).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from tuneops.providers.sandbox.app import (
    ApiError,
    FormPart,
    Router,
    Sandbox,
    SandboxRequest,
    SandboxResponse,
    parse_multipart,
)
from tuneops.providers.sandbox.faults import Fault
from tuneops.providers.sandbox.openai_common import (
    KIND_FILE,
    KIND_PART,
    KIND_UPLOAD,
    bounded_int,
    expect,
    file_object,
    invalid,
    json_body,
    limit_arg,
    list_object,
    missing,
    not_found,
    one_of,
    reject_unknown,
)
from tuneops.providers.sandbox.openai_jobs import OpenAIJobs

__all__ = ["PREFIX", "OpenAIApi"]

PREFIX = "/openai/v1"
FILE_PURPOSES = ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]
UPLOAD_PURPOSES = ["assistants", "batch", "fine-tune", "vision"]
# Documented limits: 512 MB per file through /files, 8 GB per Upload, 64 MB per Part, and an
# Upload expires an hour after it is created (API reference, "Uploads").
MAX_FILE_BYTES = 512 * 1024**2
MAX_UPLOAD_BYTES = 8 * 1024**3
MAX_PART_BYTES = 64 * 1024**2
UPLOAD_TTL = 3600


class OpenAIApi:
    name = "openai"
    prefix = PREFIX

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store
        self.jobs = OpenAIJobs(self)
        r = self.router = Router()
        r.route("POST", "/files")(self.create_file)
        r.route("GET", "/files")(self.list_files)
        r.route("GET", "/files/{file_id}")(self.get_file)
        r.route("DELETE", "/files/{file_id}")(self.delete_file)
        r.route("GET", "/files/{file_id}/content")(self.file_content)
        r.route("POST", "/uploads")(self.create_upload)
        r.route("POST", "/uploads/{upload_id}/parts")(self.add_part)
        r.route("POST", "/uploads/{upload_id}/complete")(self.complete_upload)
        r.route("POST", "/uploads/{upload_id}/cancel")(self.cancel_upload)
        self.jobs.register(r)

    # -- plumbing ----------------------------------------------------------------------------

    def handle(self, request: SandboxRequest, path: str) -> SandboxResponse:
        auth = request.header("authorization") or ""
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            # Any non-empty key is accepted; it is never stored or logged.
            raise ApiError(401, "You didn't provide an API key. Provide it in an Authorization"
                           " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY); the"
                           " sandbox accepts any non-empty key.")
        hit = self.router.match(request.method, path)
        if hit is None:
            raise not_found(f"Invalid URL ({request.method} /v1{path})")
        handler, params = hit
        return handler(request, **params)

    def error_response(self, err: ApiError) -> SandboxResponse:
        body = {"error": {"message": err.message, "type": err.type, "param": err.param,
                          "code": err.code}}
        return SandboxResponse.json(err.status, body, err.headers)

    def fault_response(self, fault: Fault) -> SandboxResponse:
        note = " (tuneops sandbox: injected fault)"
        headers = {"x-tuneops-sandbox-fault": fault.value}
        if fault is Fault.RATE_LIMIT:
            wait = self.sandbox.faults.retry_after
            # OpenAI sends both; the SDK prefers retry-after-ms, HTTP clients read retry-after.
            headers |= {"retry-after": str(math.ceil(wait)), "retry-after-ms": str(round(wait * 1000)),
                        "x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0",
                        "x-ratelimit-reset-requests": f"{wait:g}s"}
            err = ApiError(429, f"Rate limit reached for requests. Please try again in {wait:g}s.{note}",
                           type="requests", code="rate_limit_exceeded", headers=headers)
        elif fault is Fault.UNAVAILABLE:
            err = ApiError(503, f"The engine is currently overloaded, please try again later.{note}",
                           type="server_error", headers=headers)
        else:
            err = ApiError(500, "The server had an error while processing your request. Sorry about"
                           f" that!{note}", type="server_error", headers=headers)
        return self.error_response(err)

    def now(self) -> float:
        return self.sandbox.now()

    def form(self, req: SandboxRequest) -> dict[str, FormPart]:
        try:
            return parse_multipart(req.body, req.header("content-type") or "")
        except ValueError as exc:
            raise invalid(f"Expected a multipart/form-data request body ({exc}).") from None

    # -- files -------------------------------------------------------------------------------

    def new_file(self, filename: str, purpose: str, blob_writer: Any, *, expires_at: int | None = None
                 ) -> dict[str, Any]:
        """Store a file: `blob_writer(name)` writes the contents and returns their size."""
        file_id = self.sandbox.new_id("file-")
        size = blob_writer(file_id)
        doc = {"id": file_id, "bytes": size, "created_at": int(self.now()), "filename": filename,
               "purpose": purpose, "expires_at": expires_at, "validations": {}}
        self.store.insert(KIND_FILE, file_id, doc)
        return doc

    def file_doc(self, file_id: str, param: str | None = None) -> dict[str, Any]:
        doc = self.store.get(KIND_FILE, file_id)
        if doc is None and self.jobs.materialize_result(file_id):
            doc = self.store.get(KIND_FILE, file_id)
        if doc is None:
            raise not_found(f"No such File object: {file_id}", param or "id")
        return doc

    def create_file(self, req: SandboxRequest) -> SandboxResponse:
        form = self.form(req)
        if "purpose" not in form:
            raise missing("purpose")
        if "file" not in form:
            raise missing("file")
        purpose = one_of(form["purpose"].data.decode("utf-8", "replace"), "purpose", FILE_PURPOSES)
        upload = form["file"]
        filename = upload.filename or "file"
        check_filename(filename, purpose)
        if len(upload.data) > MAX_FILE_BYTES:
            raise invalid(f"File is too large ({len(upload.data):,} bytes); the Files API takes at most"
                          f" {MAX_FILE_BYTES:,} bytes. Use the Uploads API for larger files.", "file")
        doc = self.new_file(filename, purpose,
                            lambda name: self.store.write_blob(name, [upload.data]))
        return SandboxResponse.json(200, file_object(doc))

    def list_files(self, req: SandboxRequest) -> SandboxResponse:
        self.jobs.materialize_results()
        limit = limit_arg(req, 10_000, 10_000)
        order = one_of(req.arg("order") or "desc", "order", ["asc", "desc"])
        purpose = req.arg("purpose")
        page = self.store.page(KIND_FILE, limit=limit, after=req.arg("after"),
                               newest_first=order == "desc",
                               keep=None if purpose is None else lambda d: d["purpose"] == purpose)
        if page is None:
            raise invalid(f"No such File object: {req.arg('after')}", "after")
        docs, more = page
        return SandboxResponse.json(200, list_object([file_object(d) for d in docs], more, ids=True))

    def get_file(self, req: SandboxRequest, file_id: str) -> SandboxResponse:
        return SandboxResponse.json(200, file_object(self.file_doc(file_id)))

    def delete_file(self, req: SandboxRequest, file_id: str) -> SandboxResponse:
        self.file_doc(file_id)
        self.store.delete(KIND_FILE, file_id)
        self.store.delete_blob(file_id)
        return SandboxResponse.json(200, {"id": file_id, "object": "file", "deleted": True})

    def file_content(self, req: SandboxRequest, file_id: str) -> SandboxResponse:
        self.file_doc(file_id)
        return SandboxResponse(200, self.store.read_blob(file_id),
                               {"content-type": "application/octet-stream"})

    # -- uploads -----------------------------------------------------------------------------

    def upload_object(self, doc: dict[str, Any]) -> dict[str, Any]:
        status = doc["status"]
        if status == "pending" and self.now() >= doc["expires_at"]:
            status = "expired"
        file_doc = self.store.get(KIND_FILE, doc["file_id"]) if doc.get("file_id") else None
        return {"id": doc["id"], "object": "upload", "bytes": doc["bytes"],
                "created_at": doc["created_at"], "filename": doc["filename"],
                "purpose": doc["purpose"], "status": status, "expires_at": doc["expires_at"],
                "file": file_object(file_doc) if file_doc is not None else None}

    def upload_doc(self, upload_id: str, *, pending: bool = False) -> dict[str, Any]:
        doc = self.store.get(KIND_UPLOAD, upload_id)
        if doc is None:
            raise not_found(f"No such Upload object: {upload_id}", "upload_id")
        status = self.upload_object(doc)["status"]
        if pending and status != "pending":
            raise invalid(f"Upload {upload_id} is {status}; only a pending upload accepts this.",
                          "upload_id", "upload_not_pending")
        return doc

    def create_upload(self, req: SandboxRequest) -> SandboxResponse:
        body = json_body(req)
        reject_unknown(body, {"filename", "purpose", "bytes", "mime_type", "expires_after"})
        for key in ("filename", "purpose", "bytes", "mime_type"):
            if key not in body:
                raise missing(key)
        filename = expect(body, "filename", str)
        purpose = one_of(body["purpose"], "purpose", UPLOAD_PURPOSES)
        size = bounded_int(expect(body, "bytes", int), "bytes", 0, MAX_UPLOAD_BYTES)
        expect(body, "mime_type", str)
        check_filename(filename, purpose)
        upload_id = self.sandbox.new_id("upload_")
        now = int(self.now())
        doc = {"id": upload_id, "created_at": now, "filename": filename, "purpose": purpose,
               "bytes": size, "mime_type": body["mime_type"], "status": "pending",
               "expires_at": now + UPLOAD_TTL, "part_ids": [], "file_id": None}
        self.store.insert(KIND_UPLOAD, upload_id, doc)
        return SandboxResponse.json(200, self.upload_object(doc))

    def add_part(self, req: SandboxRequest, upload_id: str) -> SandboxResponse:
        self.upload_doc(upload_id, pending=True)
        form = self.form(req)
        if "data" not in form:
            raise missing("data")
        data = form["data"].data
        if len(data) > MAX_PART_BYTES:
            raise invalid(f"A Part may hold at most {MAX_PART_BYTES:,} bytes; got {len(data):,}.", "data")
        part_id = self.sandbox.new_id("part_")
        self.store.write_blob(part_id, [data])
        part = {"id": part_id, "object": "upload.part", "created_at": int(self.now()),
                "upload_id": upload_id}
        with self.store.tx() as t:
            t.insert(KIND_PART, part_id, {**part, "bytes": len(data)})
            up = t.get(KIND_UPLOAD, upload_id)
            if up is None or up["status"] != "pending":
                raise invalid(f"Upload {upload_id} is no longer pending.", "upload_id", "upload_not_pending")
            up["part_ids"].append(part_id)
            t.put(KIND_UPLOAD, upload_id, up)
        return SandboxResponse.json(200, part)

    def complete_upload(self, req: SandboxRequest, upload_id: str) -> SandboxResponse:
        up = self.upload_doc(upload_id, pending=True)
        body = json_body(req)
        reject_unknown(body, {"part_ids", "md5"})
        if "part_ids" not in body:
            raise missing("part_ids")
        part_ids = expect(body, "part_ids", list)
        parts = []
        for i, pid in enumerate(part_ids):
            part = self.store.get(KIND_PART, pid) if isinstance(pid, str) else None
            if part is None or part["upload_id"] != upload_id:
                raise invalid(f"Part {pid!r} does not belong to upload {upload_id}.", f"part_ids[{i}]")
            parts.append(part)
        if len(set(part_ids)) != len(part_ids):
            raise invalid("part_ids lists a part more than once.", "part_ids")
        total = sum(p["bytes"] for p in parts)
        if total != up["bytes"]:
            raise invalid(f"The parts add up to {total:,} bytes, but the upload was created for"
                          f" {up['bytes']:,} bytes.", "part_ids", "upload_size_mismatch")
        md5 = body.get("md5")
        if md5 is not None:
            expect(body, "md5", str)
            digest = hashlib.md5(usedforsecurity=False)
            for pid in part_ids:
                for chunk in self.store.iter_blob(pid):
                    digest.update(chunk)
            if digest.hexdigest() != md5.lower():
                raise invalid(f"The md5 checksum of the uploaded bytes is {digest.hexdigest()}, which"
                              f" does not match the md5 given ({md5}).", "md5", "md5_mismatch")

        def write(name: str) -> int:
            return self.store.write_blob(name, (c for pid in part_ids for c in self.store.iter_blob(pid)))

        file_doc = self.new_file(up["filename"], up["purpose"], write)

        def finish(doc: dict[str, Any]) -> dict[str, Any]:
            if doc["status"] != "pending":
                raise invalid(f"Upload {upload_id} is {doc['status']}.", "upload_id", "upload_not_pending")
            return {**doc, "status": "completed", "file_id": file_doc["id"]}

        try:
            done = self.store.update(KIND_UPLOAD, upload_id, finish)
        except ApiError:
            self.store.delete(KIND_FILE, file_doc["id"])
            self.store.delete_blob(file_doc["id"])
            raise
        self._drop_parts(up)
        assert done is not None
        return SandboxResponse.json(200, self.upload_object(done))

    def cancel_upload(self, req: SandboxRequest, upload_id: str) -> SandboxResponse:
        self.upload_doc(upload_id, pending=True)

        def cancel(doc: dict[str, Any]) -> dict[str, Any]:
            if doc["status"] != "pending":
                raise invalid(f"Upload {upload_id} is {doc['status']}.", "upload_id", "upload_not_pending")
            return {**doc, "status": "cancelled"}

        done = self.store.update(KIND_UPLOAD, upload_id, cancel)
        assert done is not None
        self._drop_parts(done)
        return SandboxResponse.json(200, self.upload_object(done))

    def _drop_parts(self, up: dict[str, Any]) -> None:
        for pid in up["part_ids"]:
            self.store.delete_blob(pid)


def check_filename(filename: str, purpose: str) -> None:
    # The live API refuses fine-tune files by extension before looking inside them.
    if purpose == "fine-tune" and not filename.lower().endswith(".jsonl"):
        raise invalid("Invalid file format for Fine-Tuning API. Must be .jsonl", "file")
