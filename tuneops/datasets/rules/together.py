"""Together AI fine-tuning data: SFT (conversational, instruction, generic text) and DPO (preference).

Sources (verified 2026-11-28):
- https://docs.together.ai/docs/fine-tuning/data-preparation  (the four formats; a file with two
  possible formats is rejected; conversations start with system or user and then alternate user and
  assistant; `weight` 0 or 1 on any message; 100 GB per file)
- https://docs.together.ai/docs/fine-tuning/function-calling  (`tools`, `tool_calls` in place of
  content, `tool` role; in preference data `tools` sits inside `input`)
- https://docs.together.ai/docs/fine-tuning/reasoning  (`reasoning` / `reasoning_content` on assistant
  messages)
- https://docs.together.ai/docs/fine-tuning/vision  (base64 PNG/JPEG/WEBP images, 10 per example, 10 MB
  each, user messages only; instruction prompts may be lists of parts)
- https://github.com/togethercomputer/together-py  (`together files check`, run on upload: at least one
  sample, no extra top-level keys, no non-zero weight on a message with images, content all strings or
  all part lists, DPO input must not end with an assistant message)
Pre-tokenized Parquet files are not checked.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import msgspec

from tuneops.datasets.findings import Finding, Severity
from tuneops.datasets.rules.base import Ctx, Limits, RulePack
from tuneops.datasets.rules.chat import (
    CHAT_RULES,
    ChatSpec,
    check_chat,
    check_messages,
    fast_chat_ok,
    fast_messages_ok,
    fast_tools_declared,
    fast_types,
)
from tuneops.datasets.rules.fireworks import (
    check_data_images,
    fast_calls_ok,
    fast_outputs_ok,
    relax_dpo_input,
    relax_messages,
)
from tuneops.datasets.rules.openai import DPO_RULES, check_dpo

__all__ = ["TogetherDPO", "TogetherSFT"]

REASONING_KEYS = ("reasoning", "reasoning_content")
_IMAGE_FORMATS = ("jpeg", "png", "webp")
_MAX_IMAGES = 10
_MAX_IMAGE_CHARS = len("data:image/jpeg;base64,") + 4 * (10 * 1024 * 1024) // 3  # 10 MB, base64-encoded

SFT_SPEC = ChatSpec(
    roles=("system", "user", "assistant", "tool"),
    top_keys=("messages", "tools"),  # the client check rejects any other top-level key
    allow_weight=True,
    allow_tools=True,
    allow_images=True,
    allow_name=True,
    order="system_first",  # plus the alternation below, which chat.py's "alternate" gets wrong with tools
    trailing="warning",
    first_roles=("system", "user"),
)
DPO_SPEC = ChatSpec(
    roles=SFT_SPEC.roles, top_keys=SFT_SPEC.top_keys, allow_tools=True, allow_images=True,
    allow_name=True, order="system_first", trailing=None, first_roles=("system", "user"),
)
_INSTRUCTION_SPEC = ChatSpec(roles=("user", "assistant"), allow_images=True, trailing=None)

_SFT_MSG, _SFT_REC = fast_types(SFT_SPEC)
_DPO_MSG, _DPO_INPUT = fast_types(DPO_SPEC)
_DPO_REC = msgspec.defstruct(
    "FastTogetherDPO",
    [
        ("input", _DPO_INPUT),
        ("preferred_output", list[_DPO_MSG]),  # type: ignore[valid-type]
        ("non_preferred_output", list[_DPO_MSG]),  # type: ignore[valid-type]
    ],
    forbid_unknown_fields=True,
)

_FORMATS = (
    ("conversational", ("messages",)), ("instruction", ("prompt", "completion")), ("text", ("text",)),
    ("preference", ("input", "preferred_output", "non_preferred_output")),
)
_UNREACHABLE = {"content.reserved_token", "tools.not_allowed", "messages.missing"}
_EXTRA = {
    "reasoning.type": "`reasoning` / `reasoning_content` that is not a string",
    "image.too_many": "more than 10 images in one example",
    "image.too_large": "a base64 image over 10 MB",
    "content.mixed_formats": "an example mixing string content with lists of content parts",
}
# Together accepts weight on any message: relax_messages checks it and hides it from chat.py
_SFT_SKIP = _UNREACHABLE | {"weight.not_assistant"}
SFT_RULES = {k: v for k, v in CHAT_RULES.items() if k not in _SFT_SKIP} | _EXTRA | {
    "example.format": "a line in none of Together's formats (messages, prompt/completion, text)",
    "example.mixed_formats": "a line with the keys of two formats",
    "instruction.missing": "instruction data without `prompt` or `completion`",
    "image.weight": "a message with images and a non-zero weight",
}
PREF_RULES = {k: v for k, v in DPO_RULES.items() if k not in _UNREACHABLE} | _EXTRA


def _an(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


_NEXT = {"user": ("assistant",), "assistant": ("user", "tool"), "tool": ("tool", "assistant")}


def _alternation(roles: list[str]) -> tuple[int, str] | None:
    """First break of "system?, then user/assistant alternating"; tool results sit between an assistant's
    tool calls and its next message. chat.py reports a late system message and a bad first role."""
    prev = ""
    for i, r in enumerate(roles):
        if r in ("", "system"):
            continue
        if not prev:
            if i and roles[i - 1] == "system" and r != "user":
                return i, f"{_an(r)} message follows the system message: conversations start with user"
        elif r not in _NEXT[prev]:
            return i, (f"{_an(r)} message follows {_an(prev)} message: after the optional system message,"
                       " user and assistant must alternate")
        prev = r
    return None


def _roles(msgs: list[Any], spec: ChatSpec) -> list[str]:
    return [m["role"] if isinstance(m, dict) and m.get("role") in spec.roles else "" for m in msgs]


def _check_together_messages(msgs: list[Any], path: str, ctx: Ctx, spec: ChatSpec, sft: bool) -> None:
    check_data_images(msgs, path, ctx, _IMAGE_FORMATS, max_chars=_MAX_IMAGE_CHARS,
                      max_images=_MAX_IMAGES, no_weight=sft)
    kinds = {type(m.get("content")) for m in msgs if isinstance(m, dict)} & {str, list}
    if len(kinds) > 1:
        ctx.error(path, "content.mixed_formats", "some messages have string content and others lists of"
                  " parts: Together wants one or the other in an example (wrap strings as text parts)")
    issue = _alternation(_roles(msgs, spec))
    if issue is not None:
        ctx.error(f"{path}[{issue[0]}].role", "role.order", issue[1])


class TogetherSFT(RulePack):
    provider = "together"
    method = "sft"
    title = "Together AI supervised fine-tuning"
    record_format = "openai-chat"
    verified = "2026-11-28"
    sources = (
        "https://docs.together.ai/docs/fine-tuning/data-preparation",
        "https://docs.together.ai/docs/fine-tuning/function-calling",
        "https://docs.together.ai/docs/fine-tuning/reasoning",
        "https://docs.together.ai/docs/fine-tuning/vision",
        "https://github.com/togethercomputer/together-py",
    )
    rules: ClassVar[dict[str, str]] = SFT_RULES
    limits = Limits(min_examples=1, max_file_bytes=100 * 2**30)  # the client counts 2**30 bytes a GB
    fast_type = _SFT_REC
    notes = (
        "Together rejects a file whose lines use different formats (messages, prompt/completion, text);"
        " tuneops checks each line on its own, so keep one format per file.",
        "Reasoning models train only on the last assistant message by default: split multi-turn"
        " conversations so that each assistant answer ends an example.",
        "Pre-tokenized Parquet files are not checked.",
    )

    def fast_ok(self, rec: Any, raw: bytes) -> bool:
        msgs = rec.messages
        return (fast_calls_ok(msgs) and fast_chat_ok(rec, SFT_SPEC)
                and _alternation([m.role for m in msgs]) is None)

    def fast_free_values(self, rec: Any) -> list[tuple[Any, int]]:
        tools = rec.tools
        return [] if tools is msgspec.UNSET else [(tools, 1)]

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        kinds = [name for name, keys in _FORMATS if any(k in obj for k in keys)]
        if len(kinds) > 1:
            ctx.error("", "example.mixed_formats", f"this line has the keys of both {kinds[0]} and"
                      f" {kinds[1]} data: Together rejects it; keep one format per file")
        elif not kinds or kinds[0] == "preference":
            hint = (" (this is preference data: validate it with method dpo)" if kinds else
                    ": use {\"messages\": [...]}, {\"prompt\", \"completion\"} or {\"text\"}")
            ctx.error("", "example.format", f"no Together SFT format matches this line{hint}")
        elif kinds[0] == "conversational":
            msgs = obj["messages"]
            relaxed = relax_messages(msgs, "messages", ctx, any_role_weight=True,
                                     reasoning_keys=REASONING_KEYS)
            check_chat(obj if relaxed is msgs else {**obj, "messages": relaxed}, ctx, SFT_SPEC)
            if isinstance(msgs, list):
                _check_together_messages(msgs, "messages", ctx, SFT_SPEC, sft=True)
        elif kinds[0] == "instruction":
            _check_instruction(obj, ctx)
        else:
            for key in obj:
                if key != "text":
                    ctx.error(key, "example.unknown_key", f"unknown key {key!r}: text data has only `text`")
            text = obj["text"]
            if not isinstance(text, str):
                ctx.error("text", "content.type", "`text` must be a string")
            elif not text.strip():
                ctx.error("text", "content.empty", "`text` is empty: nothing to train on")


def _check_instruction(obj: dict[str, Any], ctx: Ctx) -> None:
    for key in obj:
        if key not in ("prompt", "completion"):
            ctx.error(key, "example.unknown_key", f"unknown key {key!r}: instruction data has only"
                      " `prompt` and `completion`")
    for key, role in (("prompt", "user"), ("completion", "assistant")):
        if key not in obj:
            ctx.error(key, "instruction.missing", f"no `{key}`: instruction data needs both prompt and"
                      " completion")
            continue
        value = obj[key]
        if isinstance(value, str):
            if not value.strip():
                sev: Severity = "warning" if key == "prompt" else "error"
                ctx.add(sev, key, "content.empty", f"`{key}` is empty")
        elif isinstance(value, list):
            # list-of-parts content (vision data): check it as a one-message conversation
            found: list[Finding] = []
            sub = Ctx(ctx.prefix, ctx.line, found)
            pseudo = [{"role": role, "content": value}]
            check_messages(pseudo, "", sub, _INSTRUCTION_SPEC, None, need_assistant=False)
            check_data_images(pseudo, "", sub, _IMAGE_FORMATS, max_chars=_MAX_IMAGE_CHARS,
                              max_images=_MAX_IMAGES)
            ctx.out.extend(replace(f, path=f.path.replace("[0].content", key, 1) or key) for f in found)
        else:
            ctx.error(key, "content.type", f"`{key}` must be a string or a list of content parts")


class TogetherDPO(RulePack):
    provider = "together"
    method = "dpo"
    title = "Together AI preference fine-tuning (DPO)"
    record_format = "openai-dpo"
    verified = "2026-11-28"
    sources = TogetherSFT.sources
    rules: ClassVar[dict[str, str]] = PREF_RULES
    limits = TogetherSFT.limits
    fast_type = _DPO_REC
    notes = TogetherSFT.notes[1:]

    def fast_ok(self, rec: Any, raw: bytes) -> bool:
        inp = rec.input
        msgs = inp.messages
        declared = fast_tools_declared(inp.tools)
        if declared is False or not msgs or msgs[-1].role != "user" or not fast_calls_ok(msgs):
            return False
        if not fast_messages_ok(msgs, DPO_SPEC, declared, need_assistant=False):  # type: ignore[arg-type]
            return False
        if _alternation([m.role for m in msgs]) is not None:
            return False
        return fast_outputs_ok(rec.preferred_output, rec.non_preferred_output)

    def fast_free_values(self, rec: Any) -> list[tuple[Any, int]]:
        tools = rec.input.tools
        return [] if tools is msgspec.UNSET else [(tools, 2)]

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        obj, msgs = relax_dpo_input(obj, ctx, REASONING_KEYS)
        found: list[Finding] = []
        check_dpo(obj, Ctx(ctx.prefix, ctx.line, found), DPO_SPEC)
        if not isinstance(msgs, list):
            ctx.out.extend(found)
            return
        # Together only forbids an assistant message last: tool-calling pairs end on the tool result
        ends_on_tool = bool(msgs) and _roles(msgs, DPO_SPEC)[-1] == "tool"
        ctx.out.extend(f for f in found if not (ends_on_tool and f.rule.endswith(".dpo.input_last_role")))
        _check_together_messages(msgs, "input.messages", ctx, DPO_SPEC, sft=False)
