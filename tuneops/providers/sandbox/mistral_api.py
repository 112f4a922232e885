"""Mistral's fine-tuning HTTP API, emulated: Files here, fine-tuning jobs in `mistral_jobs`.

Mounted under ``/mistral/v1``: point the SDK's ``server_url`` at ``.../mistral`` (its paths start
with ``/v1``). Shapes follow Mistral's published OpenAPI spec (schemas `UploadFileOut`,
`RetrieveFileOut`, `ListFilesOut`, `DeleteFileOut`; https://docs.mistral.ai/api/); error bodies
are described in `mistral_common`.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from tuneops.providers.sandbox.app import (
    ApiError,
    Router,
    Sandbox,
    SandboxRequest,
    SandboxResponse,
    parse_multipart,
)
from tuneops.providers.sandbox.faults import Fault
from tuneops.providers.sandbox.mistral_common import (
    GATEWAY,
    KIND_FILE,
    error_body,
    int_arg,
    invalid_field,
    new_uuid,
    refused,
    uuid_arg,
)
from tuneops.providers.sandbox.mistral_jobs import MistralJobs

__all__ = ["PREFIX", "MistralApi", "file_object"]

PREFIX = "/mistral/v1"
PURPOSES = ("fine-tune", "batch", "ocr")  # spec: FilePurpose
# Spec, POST /v1/files: "The size of individual files can be a maximum of 512 MB. The Fine-tuning
# API only supports .jsonl files."
MAX_FILE_BYTES = 512 * 1000 * 1000


def file_object(doc: dict[str, Any], *, retrieved: bool = False) -> dict[str, Any]:
    out = {k: doc[k] for k in ("id", "object", "bytes", "created_at", "filename", "purpose",
                               "sample_type", "source", "num_lines", "mimetype", "signature")}
    out["visibility"] = doc.get("visibility", "workspace")
    if retrieved:
        out["deleted"] = False  # RetrieveFileOut requires it
    return out


class MistralApi:
    name = "mistral"
    prefix = PREFIX

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store
        self.jobs = MistralJobs(self)
        r = self.router = Router()
        r.route("POST", "/files")(self.create_file)
        r.route("GET", "/files")(self.list_files)
        r.route("GET", "/files/{file_id}")(self.get_file)
        r.route("DELETE", "/files/{file_id}")(self.delete_file)
        r.route("GET", "/files/{file_id}/content")(self.file_content)
        self.jobs.register(r)

    # -- plumbing ----------------------------------------------------------------------------

    def handle(self, request: SandboxRequest, path: str) -> SandboxResponse:
        auth = request.header("authorization") or ""
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            # Any non-empty key is accepted; it is never stored or logged.
            raise ApiError(401, "Unauthorized", type=GATEWAY, code="unauthorized")
        hit = self.router.match(request.method, path)
        if hit is None:
            raise refused(404, "Not Found")  # FastAPI's answer for an unknown route
        handler, params = hit
        return handler(request, **params)

    def error_response(self, err: ApiError) -> SandboxResponse:
        return SandboxResponse.json(err.status, error_body(err), err.headers)

    def fault_response(self, fault: Fault) -> SandboxResponse:
        note = " (tuneops sandbox: injected fault)"
        headers = {"x-tuneops-sandbox-fault": fault.value}
        if fault is Fault.RATE_LIMIT:
            wait = self.sandbox.faults.retry_after
            headers |= {"retry-after": str(math.ceil(wait)),
                        "x-ratelimitbysize-remaining-minute": "0"}
            err = ApiError(429, f"Requests rate limit exceeded{note}", type=GATEWAY,
                           code="rate_limited", headers=headers)
        elif fault is Fault.UNAVAILABLE:
            err = ApiError(503, f"Service unavailable{note}", type=GATEWAY,
                           code="service_unavailable", headers=headers)
        else:
            err = ApiError(500, f"Internal server error{note}", type=GATEWAY,
                           code="internal_server_error", headers=headers)
        return self.error_response(err)

    def now(self) -> float:
        return self.sandbox.now()

    # -- files -------------------------------------------------------------------------------

    def file_doc(self, file_id: str, loc: list[str | int]) -> dict[str, Any]:
        doc = self.store.get(KIND_FILE, uuid_arg(file_id, loc))
        if doc is None:
            raise refused(404, f"File {file_id} not found")
        return doc

    def create_file(self, req: SandboxRequest) -> SandboxResponse:
        try:
            form = parse_multipart(req.body, req.header("content-type") or "")
        except ValueError:
            raise invalid_field(["body", "file"], "Field required", "missing") from None
        if "file" not in form:
            raise invalid_field(["body", "file"], "Field required", "missing")
        purpose = form["purpose"].data.decode("utf-8", "replace") if "purpose" in form else "fine-tune"
        if purpose not in PURPOSES:
            raise invalid_field(["body", "purpose"], "Input should be 'fine-tune', 'batch' or 'ocr'",
                                "enum")
        upload = form["file"]
        filename = upload.filename or "file"
        data = upload.data
        if purpose == "fine-tune" and not filename.lower().endswith(".jsonl"):
            raise refused(422, "The Fine-tuning API only supports .jsonl files.")
        if len(data) > MAX_FILE_BYTES:
            raise refused(413, f"File too large: individual files can be at most {MAX_FILE_BYTES:,}"
                          " bytes")
        file_id = new_uuid(self.sandbox, "file")
        size = self.store.write_blob(file_id, [data])
        doc = {
            "id": file_id, "object": "file", "bytes": size, "created_at": int(self.now()),
            "filename": filename, "purpose": purpose,
            "sample_type": "instruct" if purpose == "fine-tune" else "batch_request",
            "source": "upload", "num_lines": data.count(b"\n") + (0 if data.endswith(b"\n") else 1),
            "mimetype": "application/jsonl" if filename.lower().endswith(".jsonl") else None,
            "signature": hashlib.sha256(data).hexdigest()[:16],
            "visibility": "workspace", "validations": {},
        }
        self.store.insert(KIND_FILE, file_id, doc)
        return SandboxResponse.json(200, file_object(doc))

    def list_files(self, req: SandboxRequest) -> SandboxResponse:
        page = int_arg(req, "page", 0, 0)
        size = int_arg(req, "page_size", 100, 1)
        purpose = req.arg("purpose")
        search = req.arg("search")
        docs = [d for d in self.store.scan(KIND_FILE)
                if (purpose is None or d["purpose"] == purpose)
                and (search is None or search in d["filename"])]
        chunk = docs[page * size:(page + 1) * size]
        total = len(docs) if (req.arg("include_total") or "true").lower() != "false" else None
        return SandboxResponse.json(200, {"data": [file_object(d) for d in chunk], "object": "list",
                                          "total": total})

    def get_file(self, req: SandboxRequest, file_id: str) -> SandboxResponse:
        return SandboxResponse.json(200, file_object(self.file_doc(file_id, ["path", "file_id"]),
                                                     retrieved=True))

    def delete_file(self, req: SandboxRequest, file_id: str) -> SandboxResponse:
        doc = self.file_doc(file_id, ["path", "file_id"])
        self.store.delete(KIND_FILE, doc["id"])
        self.store.delete_blob(doc["id"])
        return SandboxResponse.json(200, {"id": doc["id"], "object": "file", "deleted": True})

    def file_content(self, req: SandboxRequest, file_id: str) -> SandboxResponse:
        doc = self.file_doc(file_id, ["path", "file_id"])
        return SandboxResponse(200, self.store.read_blob(doc["id"]),
                               {"content-type": "application/octet-stream"})
