"""Providers: one interface over the vendors' fine-tuning APIs.

    from tuneops.providers import provider_class

    with provider_class("openai")(api_key=...) as openai:
        job = openai.get_job("ftjob-...")

Adapters are imported only when used (their SDKs are heavy); see `registry.PROVIDERS`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuneops.providers.base import Provider
    from tuneops.providers.registry import provider_class, provider_names

__all__ = ["Provider", "provider_class", "provider_names"]

_WHERE = {"Provider": "base", "provider_class": "registry", "provider_names": "registry"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tuneops.providers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tuneops.providers.{module}"), name)
