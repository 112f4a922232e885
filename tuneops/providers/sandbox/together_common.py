"""What the Together routes share: document kinds, error helpers, ids, times, models and prices.

Error bodies use the OpenAI-compatible envelope ``{"error": {"message", "type", "param",
"code"}}`` that Together's OpenAI-compatible API answers with; the SDK itself only reads the
status code and keeps the body as given (`together/_base_client.py`,
`_make_status_error_from_response`), except for the 409 of an upload, whose top-level ``file_id``
it reads (`together/lib/resources/files.py`, `UploadManager.get_upload_url`).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from tuneops.providers.sandbox.app import ApiError, SandboxRequest

__all__ = [
    "KIND_FILE",
    "KIND_JOB",
    "KIND_SLOT",
    "USER_ID",
    "USER_SLUG",
    "invalid",
    "iso",
    "json_body",
    "not_found",
    "price_per_token",
    "uuid_id",
]

KIND_FILE = "together.file"
KIND_JOB = "together.job"
KIND_SLOT = "together.upload_slot"  # a reserved upload waiting for its PUT

USER_ID = "tuneops-sandbox-user"
USER_SLUG = "tuneops-sandbox"  # the namespace part of output model names

# A plausible sandbox price for full fine-tuning: the LoRA row of our price table times the
# full/LoRA ratio of Together's smallest tier (0.54 / 0.48, prices.toml header). Not a quote.
FULL_FACTOR = 0.54 / 0.48


def invalid(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def not_found(message: str, param: str | None = None) -> ApiError:
    return ApiError(404, message, param=param, code="not_found")


def uuid_id(prefix: str, seed_id: str) -> str:
    """``<prefix><uuid>`` as Together shapes ids (``ft-…``, ``file-…``), derived from a sandbox
    id so that a seeded run gets the same ids."""
    return prefix + str(uuid.UUID(bytes=hashlib.sha256(seed_id.encode()).digest()[:16], version=4))


def iso(t: float) -> str:
    """Together's timestamp strings: ISO 8601, UTC, with a ``Z``."""
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_body(req: SandboxRequest) -> dict[str, Any]:
    try:
        doc = orjson.loads(req.body or b"{}")
    except orjson.JSONDecodeError:
        raise invalid("Request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(doc, dict):
        raise invalid("Request body must be a JSON object.", code="invalid_json")
    return doc


def price_per_token(model: str, method: str, training_type: str) -> float | None:
    """USD per training token for a model the sandbox accepts; None for any other model.

    The sandbox accepts exactly the Together models our price table knows, and bills them at its
    LoRA price (a plausible sandbox price, not Together's quote; full training: `FULL_FACTOR`).
    """
    from tuneops.datasets.cost import load_prices
    from tuneops.errors import UsageError

    try:
        row = load_prices().lookup("together", model, method)
    except UsageError:
        return None
    per_token = row.price_per_1m_tokens / 1_000_000
    return per_token * FULL_FACTOR if training_type == "Full" else per_token
