"""Together AI's fine-tuning HTTP API, emulated: files (in `together_files`) and fine-tunes (in
`together_jobs`, views in `together_views`).

Mounted under ``/together/v1``: the adapter's (or the SDK's) base URL plus ``/v1``. Paths and
shapes follow the official SDK, together-py 3.1.1 (`together/resources/files.py`,
`together/resources/fine_tuning.py`, `together/lib/resources/files.py`, `together/types/`).
"""

from __future__ import annotations

import math

from tuneops.providers.sandbox.app import ApiError, Router, Sandbox, SandboxRequest, SandboxResponse
from tuneops.providers.sandbox.faults import Fault
from tuneops.providers.sandbox.together_files import STORAGE, TogetherFiles
from tuneops.providers.sandbox.together_jobs import TogetherJobs

__all__ = ["PREFIX", "TogetherApi"]

PREFIX = "/together/v1"


class TogetherApi:
    name = "together"
    prefix = PREFIX

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store
        self.files = TogetherFiles(self)
        self.jobs = TogetherJobs(self)
        self.router = Router()
        self.files.register(self.router)
        self.jobs.register(self.router)

    def handle(self, request: SandboxRequest, path: str) -> SandboxResponse:
        # Signed storage URLs carry their own authorisation; everything else needs a key.
        if not path.startswith(STORAGE + "/"):
            auth = request.header("authorization") or ""
            scheme, _, key = auth.partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                # Any non-empty key is accepted; it is never stored or logged.
                raise ApiError(401, "Invalid API key provided. You can find your API key at"
                               " https://api.together.ai/settings/api-keys. (The tuneops sandbox"
                               " accepts any non-empty key.)", type="invalid_request_error",
                               code="invalid_api_key")
        hit = self.router.match(request.method, path)
        if hit is None:
            raise ApiError(404, f"Unknown path: {request.method} /v1{path}", code="not_found")
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
            headers |= {"retry-after": str(math.ceil(wait)), "x-ratelimit-remaining": "0",
                        "x-ratelimit-reset": str(math.ceil(wait))}
            err = ApiError(429, f"Rate limit exceeded, please try again in {wait:g}s.{note}",
                           type="rate_limit_exceeded", code="rate_limit_exceeded", headers=headers)
        elif fault is Fault.UNAVAILABLE:
            err = ApiError(503, f"The server is overloaded or not ready yet.{note}",
                           type="server_error", code="service_unavailable", headers=headers)
        else:
            err = ApiError(500, f"Internal server error.{note}", type="server_error",
                           code="internal_error", headers=headers)
        return self.error_response(err)
