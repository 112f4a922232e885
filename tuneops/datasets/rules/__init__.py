"""Rule packs, one per vendor and training method, found by name and imported only when used."""

from __future__ import annotations

import importlib
from functools import cache

from tuneops.datasets.rules.base import Ctx, DatasetStats, Limits, RulePack
from tuneops.errors import UnknownProviderError

__all__ = [
    "METHOD_ALIASES",
    "PACKS",
    "PROVIDER_ALIASES",
    "Ctx",
    "DatasetStats",
    "Limits",
    "RulePack",
    "get_pack",
    "pack_ids",
    "providers",
]

# (provider, method) -> "module:Class"
PACKS: dict[tuple[str, str], str] = {
    ("openai", "sft"): "tuneops.datasets.rules.openai:OpenAISFT",
    ("openai", "dpo"): "tuneops.datasets.rules.openai:OpenAIDPO",
    ("vertex", "sft"): "tuneops.datasets.rules.vertex:VertexSFT",
    ("vertex", "dpo"): "tuneops.datasets.rules.vertex:VertexPreference",
    ("mistral", "sft"): "tuneops.datasets.rules.mistral:MistralSFT",
    ("together", "sft"): "tuneops.datasets.rules.together:TogetherSFT",
    ("together", "dpo"): "tuneops.datasets.rules.together:TogetherDPO",
    ("fireworks", "sft"): "tuneops.datasets.rules.fireworks:FireworksSFT",
    ("fireworks", "dpo"): "tuneops.datasets.rules.fireworks:FireworksDPO",
    ("bedrock", "sft"): "tuneops.datasets.rules.bedrock:BedrockClaudeSFT",
    ("bedrock-nova", "sft"): "tuneops.datasets.rules.bedrock:BedrockNovaSFT",
}

PROVIDER_ALIASES = {
    "gemini": "vertex",
    "google": "vertex",
    "nova": "bedrock-nova",
    "azure": "openai",
}
METHOD_ALIASES = {"preference": "dpo", "supervised": "sft"}


def providers() -> list[str]:
    return sorted({p for p, _ in PACKS})


def pack_ids() -> list[str]:
    return [f"{p}.{m}" for p, m in PACKS]


def _resolve(provider: str, method: str) -> tuple[str, str]:
    p = PROVIDER_ALIASES.get(provider.lower(), provider.lower())
    m = METHOD_ALIASES.get(method.lower(), method.lower())
    if p not in providers():
        import difflib

        close = difflib.get_close_matches(p, providers() + list(PROVIDER_ALIASES), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UnknownProviderError(
            f"unknown provider {provider!r}",
            hint=f"{hint}known providers: {', '.join(providers())}",
        )
    if (p, m) not in PACKS:
        methods = sorted(mm for pp, mm in PACKS if pp == p)
        raise UnknownProviderError(
            f"{p} has no rule pack for method {method!r}",
            hint=f"{p} supports: {', '.join(methods)}",
        )
    return p, m


@cache
def get_pack(provider: str, method: str = "sft") -> RulePack:
    """The rule pack for a provider and method, e.g. ``get_pack("openai", "dpo")``."""
    p, m = _resolve(provider, method)
    module, _, cls = PACKS[(p, m)].partition(":")
    pack: RulePack = getattr(importlib.import_module(module), cls)()
    return pack
