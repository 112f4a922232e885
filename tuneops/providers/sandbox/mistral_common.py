"""What the Mistral routes share: document kinds, ids, Mistral's three error shapes, body helpers.

Mistral's API answers errors in three shapes, and the emulator keeps them apart because clients
parse them differently:

- request validation (FastAPI / pydantic): 422 ``{"detail": [{"type", "loc", "msg"}]}``, the
  spec's `HTTPValidationError` (raised here with `invalid_field`);
- a refusal by the service itself: ``{"detail": "<sentence>"}`` with a plain string, e.g. 422
  ``{"detail": "Model not available for this type of fine-tuning (completion)."}`` as reported in
  https://github.com/mistralai/client-python/issues/450 (raised here with `refused`); this shape is
  not in the spec;
- the gateway (auth, rate limits, server errors): ``{"object": "error", "message", "type",
  "param", "code"}``.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson

from tuneops.providers.sandbox.app import ApiError, SandboxRequest

__all__ = [
    "GATEWAY",
    "KIND_FILE",
    "KIND_JOB",
    "REFUSAL",
    "VALIDATION",
    "error_body",
    "int_arg",
    "invalid_field",
    "json_body",
    "new_uuid",
    "refused",
    "uuid_arg",
]

KIND_FILE = "mistral.file"
KIND_JOB = "mistral.job"

# `ApiError.type` values that select the body shape (see `error_body`)
VALIDATION = "validation"
REFUSAL = "refusal"
GATEWAY = "gateway"


def new_uuid(sandbox: Any, kind: str) -> str:
    """A UUID (Mistral's ids are UUIDs; the spec declares `format: uuid`), reproducible for a seed."""
    seed_id = sandbox.new_id(f"mistral-{kind}-")
    return str(uuid.UUID(bytes=hashlib.sha256(seed_id.encode()).digest()[:16], version=4))


def invalid_field(loc: list[str | int], msg: str, kind: str = "value_error") -> ApiError:
    """422 in pydantic's wording: `loc` such as ``["body", "suffix"]``."""
    return ApiError(422, msg, type=VALIDATION, param=orjson.dumps(loc).decode(), code=kind)


def refused(status: int, sentence: str) -> ApiError:
    return ApiError(status, sentence, type=REFUSAL)


def error_body(err: ApiError) -> dict[str, Any]:
    if err.type == VALIDATION:
        loc = orjson.loads(err.param) if err.param else []
        return {"detail": [{"type": err.code or "value_error", "loc": loc, "msg": err.message}]}
    if err.type == REFUSAL:
        return {"detail": err.message}
    return {"object": "error", "message": err.message,
            "type": err.code or "invalid_request_error", "param": None, "code": None}


def json_body(req: SandboxRequest) -> dict[str, Any]:
    try:
        doc = orjson.loads(req.body or b"")
    except orjson.JSONDecodeError:
        raise invalid_field(["body", 0], "JSON decode error", "json_invalid") from None
    if not isinstance(doc, dict):
        raise invalid_field(["body"], "Input should be a valid dictionary or object to extract"
                            " fields from", "model_attributes_type")
    return doc


def int_arg(req: SandboxRequest, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = req.arg(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_field(["query", name], "Input should be a valid integer, unable to parse"
                            " string as an integer", "int_parsing") from None
    if value < low:
        raise invalid_field(["query", name], f"Input should be greater than or equal to {low}",
                            "greater_than_equal")
    if high is not None and value > high:
        raise invalid_field(["query", name], f"Input should be less than or equal to {high}",
                            "less_than_equal")
    return value


def uuid_arg(value: str, loc: list[str | int]) -> str:
    """A path parameter declared `format: uuid`: FastAPI refuses anything else with a 422."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid_field(loc, "Input should be a valid UUID, invalid character: expected an"
                            " optional prefix of `urn:uuid:` followed by [0-9a-fA-F-]",
                            "uuid_parsing") from None
