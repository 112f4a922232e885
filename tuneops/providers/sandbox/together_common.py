"""What the Together routes share: document kinds, error helpers, ids, times, models, prices and
the per-model limits (``GET /fine-tunes/models/limits``) that the create route enforces.

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
    "LIMITS",
    "USER_ID",
    "USER_SLUG",
    "invalid",
    "iso",
    "json_body",
    "model_limits",
    "not_found",
    "price_per_token",
    "supported_models",
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


# Sandbox limits, the same for every model the sandbox accepts: the bounds the create route has
# always enforced, published by `model_limits` so that the SDK's client-side checks and the
# server's agree. Plausible values, not Together's per-model numbers.
LIMITS = {
    "max_num_epochs": 100, "max_num_evals": 100, "max_num_checkpoints": 100,
    "min_learning_rate": 1e-9, "max_learning_rate": 1.0,
    "min_batch_size": 1, "max_batch_size": 8, "max_batch_size_dpo": 8,  # "max" resolves to these
    "default_rank": 8, "max_rank": 64, "default_gradient_accumulation_steps": 1,
    "min_max_seq_length": 512, "max_seq_length_sft": 32768, "max_seq_length_dpo": 16384,
}
LORA_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# Price-table models trained with LoRA only ("Model-specific price, LoRA only (no full
# fine-tuning)" in the row's note); prefixes, matched like the table's prefix rows.
LORA_ONLY = ("Qwen/Qwen3-235B-A22B",)
# Models whose chat template carries reasoning (the Qwen3 family and gpt-oss); prefixes.
REASONING = ("Qwen/Qwen3-", "openai/gpt-oss-")


def supported_models() -> list[str]:
    """The model names the sandbox accepts: those of the Together rows of the price table. A
    prefix row (e.g. ``meta-llama/Meta-Llama-3.1-8B``) also accepts every longer name, such as
    ``meta-llama/Meta-Llama-3.1-8B-Instruct-Reference``; those are not listed one by one."""
    from tuneops.datasets.cost import load_prices

    return load_prices().models("together")


def full_training_supported(model: str) -> bool:
    return not model.startswith(LORA_ONLY)


def model_limits(model: str) -> dict[str, Any] | None:
    """The `FinetuneModelLimits` body for `model`, or None when the sandbox does not accept it.

    The spec (`FineTuneModelLimits`) requires fewer fields than the SDK 3.1.1 reads
    (`together/types/finetune_model_limits.py`: also ``default_gradient_accumulation_steps``,
    ``max_num_checkpoints``, ``max_seq_length_sft`` / ``_dpo``, ``min_max_seq_length``,
    ``supports_full_training`` and ``lora_training.default_rank``, which `create` uses when a
    LoRA request names no rank): both sets are sent. A LoRA-only model reports
    ``supports_full_training: false`` with zero ``full_training`` limits, as the SDK documents.
    """
    if price_per_token(model, "sft", "Lora") is None:
        return None
    full = full_training_supported(model)
    batch = {k: LIMITS[k] if full else 0 for k in ("max_batch_size", "max_batch_size_dpo",
                                                      "min_batch_size")}
    return {
        "model_name": model,
        "lora_training": {"max_batch_size": LIMITS["max_batch_size"],
                          "max_batch_size_dpo": LIMITS["max_batch_size_dpo"],
                          "min_batch_size": LIMITS["min_batch_size"], "max_rank": LIMITS["max_rank"],
                          "default_rank": LIMITS["default_rank"],
                          "target_modules": list(LORA_TARGET_MODULES)},
        "full_training": batch,
        "supports_full_training": full,
        **{k: LIMITS[k] for k in ("max_num_epochs", "max_num_evals", "max_num_checkpoints",
                                  "max_learning_rate", "min_learning_rate",
                                  "default_gradient_accumulation_steps", "max_seq_length_sft",
                                  "max_seq_length_dpo", "min_max_seq_length")},
        "supports_vision": False,
        "supports_tools": True,
        "supports_reasoning": model.startswith(REASONING),
        # LoRA jobs here produce the adapter only (their checkpoints are "adapter")
        "merge_output_lora": False,
    }
