"""Providers: one interface over the vendors' fine-tuning APIs.

    from tuneops.providers import provider_class

    with provider_class("openai")(api_key=...) as openai:
        job = openai.get_job("ftjob-...")

Adapters are imported only when used (their SDKs are heavy); see `registry.PROVIDERS`.
"""

from __future__ import annotations

from tuneops.providers.base import Provider
from tuneops.providers.registry import provider_class, provider_names

__all__ = ["Provider", "provider_class", "provider_names"]
