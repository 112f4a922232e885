"""What the OpenAI routes share: document kinds, OpenAI's error wording, body and paging helpers.

Error messages follow the wording the live API uses for the same mistakes ("Missing required
parameter: 'model'.", "Invalid type for 'suffix': expected a string, but got an integer
instead.", "Invalid URL (GET /v1/nope)"), so that code matching on them behaves the same here.
"""

from __future__ import annotations

from typing import Any

import orjson

from tuneops.providers.sandbox.app import ApiError, SandboxRequest

__all__ = [
    "KIND_FILE",
    "KIND_JOB",
    "KIND_PART",
    "KIND_PENDING_RESULT",
    "KIND_UPLOAD",
    "ORG_ID",
    "ORG_SLUG",
    "bounded_int",
    "expect",
    "file_object",
    "invalid",
    "json_body",
    "limit_arg",
    "list_object",
    "missing",
    "not_found",
    "one_of",
    "reject_unknown",
]

KIND_FILE = "openai.file"
KIND_JOB = "openai.job"
KIND_UPLOAD = "openai.upload"
KIND_PART = "openai.upload_part"
KIND_PENDING_RESULT = "openai.pending_result"  # result file of a job, made when the job succeeds

ORG_ID = "org-tuneopsSandbox00000000"
ORG_SLUG = "tuneops-sandbox"  # the organisation part of fine-tuned model names

_TYPE_NAMES = {
    str: "a string", int: "an integer", float: "a decimal", bool: "a boolean",
    dict: "an object", list: "an array", type(None): "null",
}


def invalid(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def missing(param: str) -> ApiError:
    return invalid(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def not_found(message: str, param: str | None = None) -> ApiError:
    return ApiError(404, message, param=param)


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def expect(body: dict[str, Any], key: str, *types: type, param: str | None = None) -> Any:
    """`body[key]` if it has one of `types` (bool never counts as a number), else OpenAI's 400."""
    value = body.get(key)
    name = param or key
    is_bool = isinstance(value, bool)
    ok = any(isinstance(value, t) and (not is_bool or t is bool) for t in types)
    if float in types and isinstance(value, int) and not is_bool:
        ok = True
    if not ok:
        want = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
        raise invalid(f"Invalid type for '{name}': expected {want}, but got {_type_name(value)}"
                      " instead.", name, "invalid_type")
    return value


def bounded_int(value: int, name: str, low: int | None, high: int | None) -> int:
    if low is not None and value < low:
        raise invalid(f"Invalid '{name}': integer below minimum value. Expected a value >= {low},"
                      f" but got {value} instead.", name, "integer_below_min_value")
    if high is not None and value > high:
        raise invalid(f"Invalid '{name}': integer above maximum value. Expected a value <= {high},"
                      f" but got {value} instead.", name, "integer_above_max_value")
    return value


def one_of(value: Any, name: str, allowed: list[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise invalid(f"{value!r} is not one of {allowed} - '{name}'", name, "invalid_value")
    return value


def reject_unknown(body: dict[str, Any], known: set[str]) -> None:
    for key in body:
        if key not in known:
            raise invalid(f"Unrecognized request argument supplied: {key}", key, "unknown_parameter")


def json_body(req: SandboxRequest) -> dict[str, Any]:
    try:
        doc = orjson.loads(req.body or b"{}")
    except orjson.JSONDecodeError:
        raise invalid("We could not parse the JSON body of your request. The OpenAI API expects a"
                      " JSON payload, but what was sent was not valid JSON.") from None
    if not isinstance(doc, dict):
        raise invalid(f"Invalid type for request body: expected an object, but got {_type_name(doc)}"
                      " instead.", None, "invalid_type")
    return doc


def limit_arg(req: SandboxRequest, default: int, maximum: int) -> int:
    raw = req.arg("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"Invalid type for 'limit': expected an integer, but got {raw!r} instead.",
                      "limit", "invalid_type") from None
    return bounded_int(value, "limit", 1, maximum)


def list_object(data: list[dict[str, Any]], has_more: bool, *, ids: bool = False) -> dict[str, Any]:
    """OpenAI's list envelope; `ids` adds first_id / last_id (null on an empty page)."""
    out: dict[str, Any] = {"object": "list", "data": data, "has_more": has_more}
    if ids:
        out["first_id"] = data[0]["id"] if data else None
        out["last_id"] = data[-1]["id"] if data else None
    return out


def file_object(doc: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": doc["id"], "object": "file", "bytes": doc["bytes"], "created_at": doc["created_at"],
        "filename": doc["filename"], "purpose": doc["purpose"],
        # `status` is deprecated (spec: OpenAIFile.status) but still required; files are usable
        # as soon as the upload returns, which today's API reports as "processed".
        "status": "processed",
    }
    if doc.get("expires_at") is not None:
        out["expires_at"] = doc["expires_at"]
    return out
