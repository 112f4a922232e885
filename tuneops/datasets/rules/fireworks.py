"""Fireworks AI fine-tuning data: SFT and DPO, both in OpenAI's shapes.

Sources (verified 2026-11-28):
- https://docs.fireworks.ai/fine-tuning/fine-tuning-models  ("OpenAI-compatible chat completion format":
  OpenAI fine-tuning files "work on Fireworks with no changes"; 3 to 3 million examples; roles system,
  user, assistant, the system message optional but first; `weight` 0 or 1 in the message schema; tool
  calling with `tools`; thinking traces on assistant turns)
- https://docs.fireworks.ai/fine-tuning/fine-tuning-vlm  (images base64-encoded with a MIME prefix;
  PNG, JPG, JPEG)
- https://docs.fireworks.ai/fine-tuning/dpo-fine-tuning  (`input.messages` (+ `tools`),
  `preferred_output` / `non_preferred_output`; 3 to 3 million examples; "We currently only support
  one-turn conversations")
- https://docs.fireworks.ai/guides/reasoning  (`reasoning_content`, the field Fireworks uses for thinking)
Also home to the helpers the Together pack shares (vendor-only message keys, inlined images, fast checks).
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from tuneops.datasets.rules.base import Ctx, Limits, RulePack
from tuneops.datasets.rules.chat import (
    CHAT_RULES,
    ChatSpec,
    check_chat,
    fast_chat_ok,
    fast_messages_ok,
    fast_tools_declared,
    fast_types,
)
from tuneops.datasets.rules.openai import DPO_RULES, check_dpo

__all__ = [
    "FireworksDPO",
    "FireworksSFT",
    "check_data_images",
    "fast_calls_ok",
    "fast_outputs_ok",
    "relax_dpo_input",
    "relax_messages",
]

# The SFT page names no key for thinking traces; reasoning_content is what Fireworks' chat API returns.
REASONING_KEYS = ("reasoning_content",)
_IMAGE_FORMATS = ("png", "jpeg", "jpg")

SFT_SPEC = ChatSpec(
    roles=("system", "user", "assistant", "tool"),
    top_keys=("messages", "tools", "parallel_tool_calls"),  # OpenAI files work unchanged
    allow_weight=True,
    allow_tools=True,
    allow_images=True,
    allow_name=True,
    order="system_first",
    trailing="warning",
)
DPO_SPEC = ChatSpec(
    roles=("system", "user", "assistant"),  # the DPO page lists no tool role
    top_keys=SFT_SPEC.top_keys,
    allow_tools=True,  # its example carries "tools": [] in `input`
    allow_images=True,
    allow_name=True,
    order="system_first",
    trailing=None,
)

_SFT_MSG, _SFT_REC = fast_types(SFT_SPEC)
_DPO_MSG, _DPO_INPUT = fast_types(DPO_SPEC)
_DPO_REC = msgspec.defstruct(
    "FastFireworksDPO",
    [
        ("input", _DPO_INPUT),
        ("preferred_output", list[_DPO_MSG]),  # type: ignore[valid-type]
        ("non_preferred_output", list[_DPO_MSG]),  # type: ignore[valid-type]
    ],
    forbid_unknown_fields=True,
)

_REASONING = {"reasoning.type": "a thinking trace (`reasoning_content`) that is not a string"}
_UNREACHABLE = {"content.reserved_token", "tools.not_allowed", "weight.not_assistant"}
SFT_RULES = {k: v for k, v in CHAT_RULES.items() if k not in _UNREACHABLE} | _REASONING
_DPO_UNREACHABLE = _UNREACHABLE | {"messages.missing", "tool_result.id", "tool_result.unmatched"}
PREF_RULES = {k: v for k, v in DPO_RULES.items() if k not in _DPO_UNREACHABLE} | _REASONING | {
    "dpo.multi_turn": "an input with earlier assistant turns (Fireworks supports one-turn pairs only)",
}


def relax_dpo_input(obj: dict[str, Any], ctx: Ctx, reasoning_keys: tuple[str, ...]
                    ) -> tuple[dict[str, Any], Any]:
    """`relax_messages` for a DPO record's `input.messages`: the record as chat.py should see it,
    and the original messages (None when `input` has no message list)."""
    inp = obj.get("input")
    msgs = inp.get("messages") if isinstance(inp, dict) else None
    if isinstance(inp, dict) and isinstance(msgs, list):
        relaxed = relax_messages(msgs, "input.messages", ctx, any_role_weight=False,
                                 reasoning_keys=reasoning_keys)
        if relaxed is not msgs:
            obj = {**obj, "input": {**inp, "messages": relaxed}}
    return obj, msgs


def relax_messages(
    msgs: Any, path: str, ctx: Ctx, *, any_role_weight: bool, reasoning_keys: tuple[str, ...]
) -> Any:
    """Check the vendor-only message keys, then drop them so that chat.py sees OpenAI's shape.

    `any_role_weight`: the vendor takes `weight` on every message, not only the assistant's. Returns
    `msgs` itself when nothing was dropped.
    """
    if not isinstance(msgs, list):
        return msgs
    out: list[Any] = []
    changed = False
    for i, m in enumerate(msgs):
        drop: list[str] = []
        if isinstance(m, dict):
            if any_role_weight and m.get("role") != "assistant" and "weight" in m:
                w = m["weight"]
                if isinstance(w, bool) or w not in (0, 1):
                    ctx.error(f"{path}[{i}].weight", "weight.invalid", f"weight is {w!r}: use 0 (do not"
                              " train on this message) or 1")
                drop.append("weight")
            if m.get("role") == "assistant":
                for k in reasoning_keys:
                    if k in m:
                        if not isinstance(m[k], str):
                            ctx.error(f"{path}[{i}].{k}", "reasoning.type", f"`{k}` must be a string (the"
                                      " chain of thought before the answer in `content`)")
                        drop.append(k)
        if drop:
            out.append({k: v for k, v in m.items() if k not in drop})
            changed = True
        else:
            out.append(m)
    return out if changed else msgs


def check_data_images(
    msgs: Any, path: str, ctx: Ctx, formats: tuple[str, ...], *, max_chars: int | None = None,
    max_images: int | None = None, no_weight: bool = False,
) -> None:
    """For vendors that want images inlined as base64 data URLs of some formats (chat.py accepts http)."""
    if not isinstance(msgs, list):
        return
    prefixes = tuple(f"data:image/{f};base64," for f in formats)
    total = 0
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") != "user" or not isinstance(m.get("content"), list):
            continue
        here = 0
        for k, part in enumerate(m["content"]):
            is_image = isinstance(part, dict) and part.get("type") == "image_url"
            img = part.get("image_url") if is_image else None
            url = img.get("url") if isinstance(img, dict) else None
            if not isinstance(url, str) or not url.startswith(("http://", "https://", "data:image/")):
                continue  # not an image part, or chat.py's image.url already reports it
            here += 1
            p = f"{path}[{i}].content[{k}].image_url.url"
            if not url.startswith(prefixes):
                ctx.error(p, "image.url", f"{url[:40]!r}...: images must be inlined as base64 data URLs"
                          " (data:image/<" + "|".join(formats) + ">;base64,...): download and encode them")
            elif max_chars is not None and len(url) > max_chars:
                ctx.error(p, "image.too_large", f"image is about {len(url) * 3 // 4:,} bytes; the limit"
                          f" is {(max_chars * 3 // 4) // 2**20} MB: downscale or recompress it")
        total += here
        if no_weight and here and m.get("weight", 0) != 0:
            ctx.error(f"{path}[{i}].weight", "image.weight", "a message with images cannot have a"
                      " non-zero weight: remove `weight` or set it to 0")
    if max_images is not None and total > max_images:
        ctx.error(path, "image.too_many", f"{total} images in one example; at most {max_images}")


def fast_calls_ok(msgs: list[Any]) -> bool:
    """`tool_calls: []` next to text content is an error that chat.py's fast path misses."""
    return all(m.tool_calls is None or m.tool_calls for m in msgs)


def fast_outputs_ok(pref: list[Any], non: list[Any]) -> bool:
    """Fast check of OpenAI-shaped DPO outputs: one assistant text message each, and they differ."""
    if len(pref) != 1 or len(non) != 1:
        return False
    for out in (pref[0], non[0]):
        if out.role != "assistant" or out.tool_calls is not None or not out.content or out.content.isspace():
            return False
    return bool(pref[0].content != non[0].content)


class FireworksSFT(RulePack):
    provider = "fireworks"
    method = "sft"
    title = "Fireworks AI supervised fine-tuning"
    record_format = "openai-chat"
    verified = "2026-11-28"
    sources = (
        "https://docs.fireworks.ai/fine-tuning/fine-tuning-models",
        "https://docs.fireworks.ai/fine-tuning/fine-tuning-vlm",
        "https://docs.fireworks.ai/guides/reasoning",
    )
    rules: ClassVar[dict[str, str]] = SFT_RULES
    limits = Limits(min_examples=3, max_examples=3_000_000)
    fast_type = _SFT_REC
    notes = (
        "Fireworks suggests the UI for datasets under 500 MB and firectl for larger ones.",
        "Image fine-tuning needs a vision model that Fireworks lists as tunable.",
    )

    def fast_ok(self, rec: Any, raw: bytes) -> bool:
        return fast_calls_ok(rec.messages) and fast_chat_ok(rec, SFT_SPEC)

    def fast_free_values(self, rec: Any) -> list[tuple[Any, int]]:
        tools = rec.tools
        return [] if tools is msgspec.UNSET else [(tools, 1)]

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        msgs = obj.get("messages")
        relaxed = relax_messages(msgs, "messages", ctx, any_role_weight=True, reasoning_keys=REASONING_KEYS)
        check_chat(obj if relaxed is msgs else {**obj, "messages": relaxed}, ctx, SFT_SPEC)
        check_data_images(msgs, "messages", ctx, _IMAGE_FORMATS)


class FireworksDPO(RulePack):
    provider = "fireworks"
    method = "dpo"
    title = "Fireworks AI preference fine-tuning (DPO)"
    record_format = "openai-dpo"
    verified = "2026-11-28"
    sources = ("https://docs.fireworks.ai/fine-tuning/dpo-fine-tuning", *FireworksSFT.sources[1:])
    rules: ClassVar[dict[str, str]] = PREF_RULES
    limits = Limits(min_examples=3, max_examples=3_000_000)
    fast_type = _DPO_REC

    def fast_ok(self, rec: Any, raw: bytes) -> bool:
        inp = rec.input
        msgs = inp.messages
        declared = fast_tools_declared(inp.tools)
        if declared is False or not msgs or msgs[-1].role != "user" or not fast_calls_ok(msgs):
            return False
        if any(m.role == "assistant" for m in msgs):
            return False  # dpo.multi_turn
        if not fast_messages_ok(msgs, DPO_SPEC, declared, need_assistant=False):  # type: ignore[arg-type]
            return False
        return fast_outputs_ok(rec.preferred_output, rec.non_preferred_output)

    def fast_free_values(self, rec: Any) -> list[tuple[Any, int]]:
        tools = rec.input.tools
        return [] if tools is msgspec.UNSET else [(tools, 2)]

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        obj, msgs = relax_dpo_input(obj, ctx, REASONING_KEYS)
        check_dpo(obj, ctx, DPO_SPEC)
        if not isinstance(msgs, list):
            return
        check_data_images(msgs, "input.messages", ctx, _IMAGE_FORMATS)
        turns = [i for i, m in enumerate(msgs) if isinstance(m, dict) and m.get("role") == "assistant"]
        if turns:
            # Documented as unsupported but not as rejected, hence a warning.
            ctx.warn(f"input.messages[{turns[0]}]", "dpo.multi_turn", "Fireworks supports one-turn DPO"
                     " pairs only: the input should hold the system and user messages, with the compared"
                     " answers in preferred_output / non_preferred_output")
