"""Provider adapters by name, imported only when used (their SDKs are heavy)."""

from __future__ import annotations

import difflib
import importlib

from tuneops.errors import UnknownProviderError
from tuneops.providers.base import Provider
from tuneops.providers.models import VendorNote

__all__ = ["NO_ADAPTER", "PROVIDERS", "provider_class", "provider_names"]

# name -> "module:Class"
PROVIDERS: dict[str, str] = {
    "openai": "tuneops.providers.openai:OpenAIProvider",
    "mistral": "tuneops.providers.mistral:MistralProvider",
    "together": "tuneops.providers.together:TogetherProvider",
    "vertex": "tuneops.providers.vertex:VertexProvider",
}


# Vendors with a rule pack but no adapter, and why: shown by `tuneops providers`.
NO_ADAPTER: dict[str, tuple[VendorNote, ...]] = {
    "bedrock": (VendorNote(date="2026-09-10", text="Claude fine-tuning on Amazon Bedrock ended"
                           " with Claude 3 Haiku's end date; the rule pack stays so existing data"
                           " can be validated and moved: `tuneops convert FILE --to openai|vertex|"
                           "mistral|together`"),),
    "bedrock-nova": (VendorNote(date="2026-11-28", text="Amazon Nova fine-tuning on Bedrock: no"
                                " adapter yet (checked 2026-11-28); data can be validated and"
                                " converted"),),
    "fireworks": (VendorNote(date="2026-11-28", text="Fireworks: no adapter yet (checked"
                             " 2026-11-28); data can be validated and converted"),),
}


def provider_names() -> list[str]:
    return sorted(PROVIDERS)


def provider_class(name: str) -> type[Provider]:
    target = PROVIDERS.get(name.lower())
    if target is None:
        close = difflib.get_close_matches(name.lower(), PROVIDERS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UnknownProviderError(f"no provider adapter named {name!r}",
                                   hint=f"{hint}available: {', '.join(provider_names())}")
    module, _, cls = target.partition(":")
    provider: type[Provider] = getattr(importlib.import_module(module), cls)
    return provider
