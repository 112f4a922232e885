"""Checks of the parameters of a fine-tuning job request, worded as the live API words them.

Ranges come from the published spec (CreateFineTuningJobRequest, FineTuneSupervisedHyperparameters,
FineTuneDPOHyperparameters, Metadata, FineTuningIntegration).
"""

from __future__ import annotations

import math
from typing import Any

from tuneops.providers.sandbox.openai_common import bounded_int, expect, invalid

__all__ = ["FINE_TUNABLE", "SNAPSHOTS", "hyperparameters", "integrations", "metadata", "resolve_model"]

# Aliases the API accepts and the dated snapshot it reports back in `model` (fine-tuning guide,
# "Which models can be fine-tuned?"; the create example answers gpt-4o-mini-2024-07-18).
SNAPSHOTS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
}
FINE_TUNABLE = frozenset({*SNAPSHOTS.values(), "gpt-3.5-turbo-1106", "gpt-3.5-turbo-0613", "gpt-4-0613"})
_HYPER_KEYS = {"supervised": ("batch_size", "learning_rate_multiplier", "n_epochs"),
               "dpo": ("batch_size", "learning_rate_multiplier", "n_epochs", "beta")}


def resolve_model(model: str) -> str | None:
    """The snapshot a job trains, or None when the model cannot be fine-tuned."""
    if model.startswith("ft:"):  # continued fine-tuning of an earlier fine-tuned model
        base = model.split(":")[1] if model.count(":") >= 1 else ""
        return base if base in FINE_TUNABLE else None
    snapshot = SNAPSHOTS.get(model, model)
    return snapshot if snapshot in FINE_TUNABLE else None


def hyperparameters(given: Any, param: str, method: str) -> dict[str, Any]:
    """Every hyperparameter of `method` ("supervised" / "dpo"): the given value, or "auto"."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise invalid(f"Invalid type for '{param}': expected an object.", param, "invalid_type")
    allowed = _HYPER_KEYS[method]
    for key in given:
        if key not in allowed:
            raise invalid(f"Unrecognized hyperparameter: '{param}.{key}'", f"{param}.{key}",
                          "unknown_parameter")
    out: dict[str, Any] = {}
    for key in allowed:
        value = given.get(key, "auto")
        name = f"{param}.{key}"
        if value == "auto":
            out[key] = "auto"
        elif key in ("n_epochs", "batch_size"):
            expect(given, key, int, param=name)
            out[key] = bounded_int(value, name, 1, 50 if key == "n_epochs" else 256)
        else:
            expect(given, key, float, param=name)
            high = 2.0 if key == "beta" else math.inf
            if not 0 < value <= high:
                raise invalid(f"Invalid '{name}': expected a number greater than 0"
                              + (f" and at most {high:g}" if high != math.inf else "")
                              + f", but got {value} instead.", name, "invalid_value")
            out[key] = value
    return out


def metadata(value: Any) -> dict[str, str] | None:
    """A job's metadata, checked against the spec's limits."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("Invalid type for 'metadata': expected an object.", "metadata", "invalid_type")
    # Metadata: at most 16 pairs, keys up to 64 characters, string values up to 512 (spec).
    if len(value) > 16:
        raise invalid("Invalid 'metadata': too many properties. Expected an object with at most"
                      f" 16 properties, but got an object with {len(value)} properties instead.",
                      "metadata", "object_above_max_properties")
    for k, v in value.items():
        if len(k) > 64:
            raise invalid(f"Invalid 'metadata': key {k[:20]!r}... is longer than 64 characters.",
                          "metadata", "invalid_value")
        if not isinstance(v, str) or len(v) > 512:
            raise invalid(f"Invalid 'metadata.{k}': expected a string of at most 512 characters.",
                          f"metadata.{k}", "invalid_value")
    return dict(value)


def integrations(value: Any) -> list[dict[str, Any]] | None:
    """W&B integrations (the only kind the API has), echoed back on the job as given."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > 5:
        raise invalid("Invalid 'integrations': expected an array of at most 5 objects.",
                      "integrations", "invalid_value")
    for i, item in enumerate(value):
        wandb = item.get("wandb") if isinstance(item, dict) else None
        if (not isinstance(item, dict) or item.get("type") != "wandb" or not isinstance(wandb, dict)
                or not isinstance(wandb.get("project"), str)):
            raise invalid("Invalid integration: expected {\"type\": \"wandb\", \"wandb\":"
                          " {\"project\": ...}}.", f"integrations[{i}]", "invalid_value")
    return list(value)
