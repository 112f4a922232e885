"""Provider adapters by name, imported only when used (their SDKs are heavy and optional)."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from dataclasses import dataclass

from tuneops.errors import MissingExtraError, UnknownProviderError
from tuneops.providers.base import Provider
from tuneops.providers.models import VendorNote

__all__ = ["NO_ADAPTER", "PROVIDERS", "AdapterRef", "missing_extra", "provider_class", "provider_names"]


@dataclass(frozen=True)
class AdapterRef:
    """Where a vendor's adapter lives, and the extra that installs what it imports."""

    target: str  # "module:Class"
    extra: str
    needs: tuple[str, ...] = ()  # modules the extra brings (looked up, never imported, here)


PROVIDERS: dict[str, AdapterRef] = {
    "openai": AdapterRef("tuneops.providers.openai:OpenAIProvider", "openai", ("openai",)),
    "mistral": AdapterRef("tuneops.providers.mistral:MistralProvider", "mistral", ("mistralai",)),
    "together": AdapterRef("tuneops.providers.together:TogetherProvider", "together"),
    "vertex": AdapterRef("tuneops.providers.vertex:VertexProvider", "vertex",
                         ("google.genai", "google.cloud.storage")),
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


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken install
        return False


def missing_extra(name: str) -> str | None:
    """The extra to install before `name`'s adapter can be used, or None when it is installed."""
    ref = PROVIDERS[name]
    return None if all(_installed(m) for m in ref.needs) else ref.extra


def provider_class(name: str, *, check_extra: bool = True) -> type[Provider]:
    """The adapter class for `name`. Its module imports no SDK until an instance is made, so
    `check_extra=False` gives the class (for its capabilities) even without the extra."""
    ref = PROVIDERS.get(name.lower())
    if ref is None:
        close = difflib.get_close_matches(name.lower(), PROVIDERS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UnknownProviderError(f"no provider adapter named {name!r}",
                                   hint=f"{hint}available: {', '.join(provider_names())}")
    extra = missing_extra(name.lower()) if check_extra else None
    if extra is not None:
        raise MissingExtraError(f"the {name.lower()} adapter", extra)
    module, _, cls = ref.target.partition(":")
    provider: type[Provider] = getattr(importlib.import_module(module), cls)
    return provider
