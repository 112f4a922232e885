"""Vertex AI tuning jobs and the Cloud Storage JSON API, emulated under ``/vertex``.

Point google-genai (Vertex mode) at ``http://HOST/vertex/`` as `HttpOptions.base_url`: its requests
land on ``/vertex/v1beta1/projects/P/locations/L/tuningJobs...`` (routes in `vertex_jobs`). Point
google-cloud-storage's ``api_endpoint`` at ``http://HOST/vertex``: its requests land on
``/vertex/storage/v1/b/...`` and ``/vertex/upload/storage/v1/b/...`` (routes in `vertex_gcs`).

Errors use Google's shape, ``{"error": {"code", "message", "status"}}`` (https://cloud.google.com/apis/design/errors),
with the JSON API's ``errors[]`` list added on storage routes
(https://cloud.google.com/storage/docs/json_api/v1/status-codes).
"""

from __future__ import annotations

import math

from tuneops.providers.sandbox.app import ApiError, Router, Sandbox, SandboxRequest, SandboxResponse
from tuneops.providers.sandbox.faults import Fault
from tuneops.providers.sandbox.vertex_gcs import VertexStorage
from tuneops.providers.sandbox.vertex_jobs import VertexJobs

__all__ = ["PREFIX", "STATUS_NAMES", "VertexApi", "google_error"]

PREFIX = "/vertex"
# google.rpc.Code names by HTTP status (https://cloud.google.com/apis/design/errors#handling_errors)
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "NOT_IMPLEMENTED",
                503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_GCS_REASONS = {400: "invalid", 401: "required", 403: "forbidden", 404: "notFound",
                412: "conditionNotMet", 429: "rateLimitExceeded", 500: "backendError",
                503: "backendError"}


def google_error(status: int, message: str, rpc_status: str | None = None) -> ApiError:
    """An ApiError rendered as Google's error body; `rpc_status` defaults from the HTTP status."""
    return ApiError(status, message, code=rpc_status or STATUS_NAMES.get(status, "UNKNOWN"))


class VertexApi:
    name = "vertex"
    prefix = PREFIX

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store
        self.gcs = VertexStorage(self)
        self.jobs = VertexJobs(self)
        self.gcs_router = Router()
        self.gcs.register(self.gcs_router)
        self.jobs_router = Router()
        self.jobs.register(self.jobs_router)

    def handle(self, request: SandboxRequest, path: str) -> SandboxResponse:
        storage = path.startswith(("/storage/", "/upload/storage/", "/download/storage/"))
        if not storage:
            auth = request.header("authorization") or ""
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                # Any bearer token is accepted; it is never stored or logged.
                raise google_error(401, "Request is missing required authentication credential."
                                   " Expected OAuth 2 access token, login cookie or other valid"
                                   " authentication credential. (the sandbox accepts any bearer"
                                   " token)")
        router = self.gcs_router if storage else self.jobs_router
        hit = router.match(request.method, path)
        if hit is None:
            raise ApiError(404, f"Not Found: {request.method} {path}", code="NOT_FOUND",
                           type="storage" if storage else "vertex")
        handler, params = hit
        try:
            return handler(request, **params)
        except ApiError as err:
            if storage:
                err.type = "storage"
            raise

    def error_response(self, err: ApiError) -> SandboxResponse:
        status_name = err.code or STATUS_NAMES.get(err.status, "UNKNOWN")
        error: dict[str, object] = {"code": err.status, "message": err.message, "status": status_name}
        if err.type == "storage":
            error["errors"] = [{"message": err.message, "domain": "global",
                                "reason": _GCS_REASONS.get(err.status, "invalid")}]
        return SandboxResponse.json(err.status, {"error": error}, err.headers)

    def fault_response(self, fault: Fault) -> SandboxResponse:
        note = " (tuneops sandbox: injected fault)"
        headers = {"x-tuneops-sandbox-fault": fault.value}
        if fault is Fault.RATE_LIMIT:
            wait = self.sandbox.faults.retry_after
            headers["retry-after"] = str(math.ceil(wait))
            err = google_error(429, "Quota exceeded for aiplatform.googleapis.com/"
                               f"tuning_requests_per_minute. Please try again later.{note}")
        elif fault is Fault.UNAVAILABLE:
            err = google_error(503, f"The service is currently unavailable.{note}")
        else:
            err = google_error(500, f"Internal error encountered.{note}")
        err.headers.update(headers)
        return self.error_response(err)

    def now(self) -> float:
        return self.sandbox.now()
