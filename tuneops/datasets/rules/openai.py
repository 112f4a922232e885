"""OpenAI fine-tuning data: supervised (chat) and DPO (preference).

Sources (verified 2026-11-28):
- https://platform.openai.com/docs/guides/supervised-fine-tuning  (chat format, `weight`, tools,
  minimum of 10 examples)
- https://platform.openai.com/docs/guides/vision-fine-tuning  (image parts in user messages only)
- https://platform.openai.com/docs/guides/direct-preference-optimization  (`input`,
  `preferred_output`, `non_preferred_output`; one assistant message each)
- https://platform.openai.com/docs/guides/fine-tuning (per-model training context lengths)
OpenAI accepts no new fine-tuning jobs from 2027-01-06; validating data stays useful for migration.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import msgspec

from tuneops.datasets.findings import Severity
from tuneops.datasets.reader import DEFAULT_MAX_DEPTH
from tuneops.datasets.rules.base import Ctx, Limits, RulePack, describe_type, free_depth_ok
from tuneops.datasets.rules.chat import (
    ALL_WEIGHT_ZERO_MESSAGE,
    CHAT_RULES,
    WEIGHT_ZERO,
    ChatSpec,
    check_chat,
    check_messages,
    check_tools,
    fast_messages_ok,
    fast_tools_declared,
    fast_types,
)

__all__ = ["OpenAIDPO", "OpenAISFT", "check_chat_input", "check_dpo"]

# Special tokens of the cl100k / o200k families; text containing them is either rejected by the
# vendor's file validation or tokenized as control tokens.
OPENAI_RESERVED = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|im_sep|>", "<|fim_prefix|>",
    "<|fim_middle|>", "<|fim_suffix|>", "<|endofprompt|>",
)

# Training context per example (tokens), by base model id prefix.
OPENAI_TOKEN_LIMITS = {
    "gpt-4.1": 65_536,
    "gpt-4o-mini": 65_536,
    "gpt-4o": 65_536,
    "gpt-4-0613": 8_192,
    "gpt-3.5-turbo-0125": 16_385,
    "gpt-3.5-turbo-1106": 16_385,
    "gpt-3.5-turbo-0613": 4_096,
    "babbage-002": 16_384,
    "davinci-002": 16_384,
}

SFT_SPEC = ChatSpec(
    roles=("system", "user", "assistant", "tool"),
    top_keys=("messages", "tools", "parallel_tool_calls"),
    allow_weight=True,
    allow_tools=True,
    allow_images=True,
    allow_name=True,
    order="free",
    trailing="warning",
    reserved_tokens=OPENAI_RESERVED,
)

# DPO input: the conversation up to (not including) the completions being compared; no weights,
# and it ends with the user turn, not an assistant one.
DPO_INPUT_SPEC = dataclasses.replace(SFT_SPEC, allow_weight=False, trailing=None)

_SFT_MSG, _SFT_REC = fast_types(SFT_SPEC)
_SFT_FAST = SFT_SPEC.fast_messages
_UNSET = msgspec.UNSET
_DPO_MSG, _DPO_INPUT = fast_types(DPO_INPUT_SPEC)
_DPO_REC = msgspec.defstruct(
    "FastOpenAIDPO",
    [
        ("input", _DPO_INPUT),
        ("preferred_output", list[_DPO_MSG]),  # type: ignore[valid-type]
        ("non_preferred_output", list[_DPO_MSG]),  # type: ignore[valid-type]
    ],
    forbid_unknown_fields=True,
)


class OpenAISFT(RulePack):
    provider = "openai"
    method = "sft"
    title = "OpenAI supervised fine-tuning"
    record_format = "openai-chat"
    verified = "2026-11-28"
    sources = (
        "https://platform.openai.com/docs/guides/supervised-fine-tuning",
        "https://platform.openai.com/docs/guides/vision-fine-tuning",
    )
    rules: ClassVar[dict[str, str]] = CHAT_RULES
    limits = Limits(min_examples=10)
    model_token_limits = OPENAI_TOKEN_LIMITS
    fast_type = _SFT_REC
    notes = ("OpenAI accepts no new fine-tuning jobs from 2027-01-06.",)

    fast_checks_depth = True

    def fast_ok(self, rec: Any, raw: bytes) -> bool | list[tuple[str, str, Severity, str]]:
        tools = rec.tools
        declared: Any = None
        if tools is not _UNSET:
            if not free_depth_ok(tools, 1, DEFAULT_MAX_DEPTH):
                return False
            declared = fast_tools_declared(tools)
            if declared is False:
                return False
        res: Any = _SFT_FAST(rec.messages, declared, True, True)
        if res is True:
            return True
        if res == WEIGHT_ZERO:
            return [("messages", "assistant.all_weight_zero", "warning", ALL_WEIGHT_ZERO_MESSAGE)]
        return res is True

    def fast_free_values(self, rec: Any) -> list[tuple[Any, int]]:
        tools = rec.tools
        return [] if tools is msgspec.UNSET else [(tools, 1)]

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        check_chat(obj, ctx, SFT_SPEC)


DPO_RULES = {
    k: v for k, v in CHAT_RULES.items()
    if not k.startswith(("assistant.", "example.trailing", "weight."))
}
DPO_RULES.update({
    "dpo.input": "`input` missing or not an object with `messages`",
    "dpo.input_last_role": "the input conversation must end with a user message",
    "dpo.output": "`preferred_output` / `non_preferred_output` missing or not one assistant message",
    "dpo.output_role": "a preference output whose role is not assistant",
    "dpo.output_content": "a preference output without text content or tool calls",
    "dpo.identical_outputs": "preferred and non-preferred outputs are identical",
})


class OpenAIDPO(RulePack):
    provider = "openai"
    method = "dpo"
    title = "OpenAI preference fine-tuning (DPO)"
    record_format = "openai-dpo"
    verified = "2026-11-28"
    sources = ("https://platform.openai.com/docs/guides/direct-preference-optimization",)
    rules: ClassVar[dict[str, str]] = DPO_RULES
    limits = Limits(min_examples=10)
    model_token_limits = OPENAI_TOKEN_LIMITS
    fast_type = _DPO_REC
    notes = OpenAISFT.notes

    def fast_ok(self, rec: Any, raw: bytes) -> bool:
        inp = rec.input
        declared = fast_tools_declared(getattr(inp, "tools", msgspec.UNSET))
        if declared is False or not inp.messages or inp.messages[-1].role != "user":
            return False
        if not fast_messages_ok(inp.messages, DPO_INPUT_SPEC, declared, need_assistant=False):  # type: ignore[arg-type]
            return False
        pref, non = rec.preferred_output, rec.non_preferred_output
        if len(pref) != 1 or len(non) != 1:
            return False
        for out in (pref[0], non[0]):
            if out.role != "assistant" or out.tool_calls is not None:
                return False
            if not out.content or out.content.isspace() or out.name is not msgspec.UNSET:
                return False
        return bool(pref[0].content != non[0].content)

    def fast_free_values(self, rec: Any) -> list[tuple[Any, int]]:
        tools = rec.input.tools
        return [] if tools is msgspec.UNSET else [(tools, 2)]

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        check_dpo(obj, ctx, DPO_INPUT_SPEC)


def check_dpo(obj: dict[str, Any], ctx: Ctx, spec: ChatSpec) -> None:
    """OpenAI-style DPO record: shared by the vendors that copied OpenAI's preference format."""
    for key in obj:
        if key not in ("input", "preferred_output", "non_preferred_output"):
            ctx.error(key, "example.unknown_key", f"unknown top-level key {key!r}: DPO records have"
                      " input, preferred_output and non_preferred_output")
    inp = obj.get("input")
    if not isinstance(inp, dict) or "messages" not in inp:
        ctx.error("input", "dpo.input", "`input` must be an object with a `messages` array (the"
                  " conversation before the compared answers)")
    else:
        check_chat_input(inp, ctx, spec)
    outputs: list[Any] = []
    for key in ("preferred_output", "non_preferred_output"):
        out = obj.get(key)
        if not isinstance(out, list) or len(out) != 1 or not isinstance(out[0], dict):
            ctx.error(key, "dpo.output", f"`{key}` must be an array of exactly one assistant message"
                      f" (got {describe_type(out)}"
                      + (f" of {len(out)}" if isinstance(out, list) else "") + ")")
            continue
        msg = out[0]
        outputs.append(msg)
        if msg.get("role") != "assistant":
            ctx.error(f"{key}[0].role", "dpo.output_role", f"role is {msg.get('role')!r}: preference"
                      " outputs are assistant messages")
        content = msg.get("content")
        has_text = isinstance(content, str) and content.strip()
        if not has_text and not msg.get("tool_calls"):
            ctx.error(f"{key}[0].content", "dpo.output_content", "the output needs non-empty string"
                      " content (or tool calls)")
    if len(outputs) == 2 and outputs[0] == outputs[1]:
        ctx.warn("preferred_output", "dpo.identical_outputs", "preferred and non-preferred outputs are"
                 " identical: the pair teaches nothing; drop it or fix one side")


def check_chat_input(inp: dict[str, Any], ctx: Ctx, spec: ChatSpec) -> None:
    for key in inp:
        if key not in spec.top_keys:
            ctx.error(f"input.{key}", "example.unknown_key", f"unknown key {key!r} in input")
    declared = check_tools(inp["tools"], ctx, spec, "input.tools") if "tools" in inp else None
    if "parallel_tool_calls" in inp and not isinstance(inp["parallel_tool_calls"], bool):
        ctx.error("input.parallel_tool_calls", "parallel_tool_calls.type", "`parallel_tool_calls`"
                  " must be true or false")
    roles = check_messages(inp["messages"], "input.messages", ctx, spec, declared,
                           need_assistant=False)
    if roles and roles[-1] and roles[-1] != "user":
        ctx.error(f"input.messages[{len(roles) - 1}].role", "dpo.input_last_role", "the input"
                  f" ends with the {roles[-1]}'s message: it must end with the user turn that the"
                  " preferred and non-preferred outputs answer")
