"""Provider adapters by name, imported only when used (their SDKs are heavy)."""

from __future__ import annotations

import difflib
import importlib

from tuneops.errors import UnknownProviderError
from tuneops.providers.base import Provider

__all__ = ["PROVIDERS", "provider_class", "provider_names"]

# name -> "module:Class"
PROVIDERS: dict[str, str] = {
    "openai": "tuneops.providers.openai:OpenAIProvider",
    "mistral": "tuneops.providers.mistral:MistralProvider",
    "together": "tuneops.providers.together:TogetherProvider",
    "vertex": "tuneops.providers.vertex:VertexProvider",
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
