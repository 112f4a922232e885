"""Mistral fine-tuning data: chat SFT ("Text Instruct", "Function Calling Instruct", "Vision Instruct").

Sources (verified 2026-11-28):
- https://docs.mistral.ai/resources/deprecated/finetuning/text-vision-finetuning  (record shapes; roles
  system/user/assistant/tool; an assistant message with `tool_calls` has no content and is followed by
  tool messages, which are followed by an assistant message; `id` / `tool_call_id` are exactly 9
  characters; `tools` must declare every tool used; images as `image_url` parts in user messages)
- https://docs.mistral.ai/guides/finetuning  (FAQ: training files up to 512 MB, validation files up to
  1 MB; an empty assistant message or a conversation not ending with an assistant message is invalid)
- https://docs.mistral.ai/guides/tokenization  (control tokens of the Mistral tokenizers)
- https://github.com/mistralai/mistral-finetune#prepare-dataset  (`weight` 0/1 on assistant messages;
  "Expected last role to be one of: [assistant]")
- https://github.com/mistralai/mistral-common  (finetuning-mode validator: ids match ``[a-zA-Z0-9]{9}``,
  role transitions, as many tool results as tool calls, weight 0 or 1)

Not covered: the pretraining ``{"text": ...}`` format of mistral-finetune (the hosted API never documented
it) and the classifier-factory formats. Such lines are reported as unknown keys / missing `messages`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import msgspec

from tuneops.datasets.findings import Severity
from tuneops.datasets.rules.base import Ctx, Limits, RulePack
from tuneops.datasets.rules.chat import CHAT_RULES, ChatSpec, check_chat, fast_chat_ok, fast_types

__all__ = ["MISTRAL_RESERVED", "MISTRAL_SPEC", "MistralSFT", "structure_issues"]

# Control tokens of the v3 (tekken) vocabulary listed in the tokenization guide, plus the system-prompt
# and image tokens that later tokenizer versions (mistral-common v7, Pixtral) added. The tokenizer does
# not encode them from text, so in content they are either literal junk or a prompt-injection lookalike.
MISTRAL_RESERVED = (
    "<s>", "</s>", "<unk>", "<pad>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
    "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]",
    "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[TOOL_CONTENT]", "[IMG]", "[IMG_BREAK]", "[IMG_END]",
)

MISTRAL_SPEC = ChatSpec(
    roles=("system", "user", "assistant", "tool"),
    top_keys=("messages", "tools"),
    allow_weight=True,
    allow_tools=True,
    allow_images=True,  # "Vision Instruct"; only pixtral-12b-latest trains on it
    order="free",  # mistral-common allows user/user, system anywhere...; tool order is checked below
    trailing="error",  # finetuning mode: "Expected last role Assistant"
    # mistral-common rejects any other id: "must be a-z, A-Z, 0-9, with a length of 9"
    tool_call_id=re.compile(r"[a-zA-Z0-9]{9}"),
    tool_call_id_help="is not 9 letters or digits: Mistral requires ids of exactly 9 characters from"
                      " [a-zA-Z0-9]; rewrite it here and in the tool message that answers it",
    reserved_tokens=MISTRAL_RESERVED,
    reserved_severity="warning",
)

_MSG, _REC = fast_types(MISTRAL_SPEC)

_RULES = {k: v for k, v in CHAT_RULES.items() if k != "tools.not_allowed"}
_RULES.update({
    "tool_calls.with_content": "an assistant message with both tool calls and text content",
    "tool_result.count": "fewer or more tool messages than the tool calls they answer",
})

# (index, role, number of tool calls, has text content)
_Item = tuple[int, str, int, bool]


def structure_issues(items: list[_Item]) -> list[tuple[int, str, str]]:
    """Mistral's tool-turn structure: (index, rule, message) for each problem, in order.

    Docs: "An assistant message with a tool_calls key ... must be followed by a tool message, which in turn
    must be followed by another assistant message"; mistral-common also counts results against calls.
    """
    out: list[tuple[int, str, str]] = []
    prev, prev_calls, pending, misplaced = "", 0, 0, False
    for i, role, calls, has_text in items:
        issue = ""
        if role == "tool" and prev not in ("assistant", "tool"):
            issue = ("a tool message must follow the assistant message whose tool calls it answers (or"
                     " another tool message)")
        elif prev == "assistant" and prev_calls and role != "tool":
            issue = ("the assistant message before this one calls tools: it must be followed by tool"
                     " messages carrying the results")
        elif prev == "tool" and role not in ("tool", "assistant"):
            issue = f"a {role} message follows tool results: Mistral expects the assistant's answer next"
        if issue:
            out.append((i, "role.order", issue))
            misplaced = True  # the count below would only repeat this
        elif role == "tool":
            pending -= 1
        if role == "assistant":
            if pending and not misplaced:
                out.append((i, "tool_result.count", "the previous assistant message's tool calls got"
                            f" {'fewer' if pending > 0 else 'more'} tool messages than calls: answer each"
                            " call with exactly one tool message"))
            pending, misplaced = calls, False
            if calls and has_text:
                out.append((i, "tool_calls.with_content", "Mistral's format gives an assistant message"
                            " either `tool_calls` or `content`, not both; older tokenizers reject it"))
        prev, prev_calls = role, (calls if role == "assistant" else 0)
    return out


def _items(msgs: list[Any]) -> list[_Item]:
    items: list[_Item] = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in MISTRAL_SPEC.roles:
            continue
        calls = m.get("tool_calls")
        content = m.get("content")
        has_text = bool(content.strip()) if isinstance(content, str) else bool(content)
        items.append((i, m["role"], len(calls) if isinstance(calls, list) else 0, has_text))
    return items


def _normalize_images(msgs: list[Any]) -> list[Any] | None:
    """Mistral documents ``"image_url": "<url>"``; chat.py expects OpenAI's ``{"url": ...}``."""
    changed = False
    out: list[Any] = []
    for m in msgs:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list) and any(
            isinstance(p, dict) and isinstance(p.get("image_url"), str) for p in content
        ):
            parts = [
                {**p, "image_url": {"url": p["image_url"]}}
                if isinstance(p, dict) and isinstance(p.get("image_url"), str) else p
                for p in content
            ]
            out.append({**m, "content": parts})
            changed = True
        else:
            out.append(m)
    return out if changed else None


class MistralSFT(RulePack):
    """Mistral chat SFT (the deprecated hosted fine-tuning API; files of the same shape feed
    mistral-finetune)."""

    provider = "mistral"
    method = "sft"
    title = "Mistral fine-tuning"
    record_format = "openai-chat"
    verified = "2026-11-28"
    sources = (
        "https://docs.mistral.ai/resources/deprecated/finetuning/text-vision-finetuning",
        "https://docs.mistral.ai/guides/finetuning",
        "https://docs.mistral.ai/guides/tokenization",
        "https://github.com/mistralai/mistral-finetune#prepare-dataset",
        "https://github.com/mistralai/mistral-common",
    )
    rules: ClassVar[dict[str, str]] = _RULES
    # FAQ: "the size limit for an individual training data file is 512MB" (413 above it); read as
    # decimal megabytes so that we warn no later than the API does.
    limits = Limits(max_file_bytes=512_000_000)
    fast_type = _REC
    notes = (
        "Mistral has deprecated its fine-tuning jobs API and mistralai >= 2.5.2 no longer ships it; the"
        " REST endpoints (/v1/fine_tuning/jobs, tagged deprecated.fine-tuning) are still documented in"
        " Mistral's OpenAPI spec (https://docs.mistral.ai/api/).",
        "Validation files are limited to 1 MB (rule of thumb: min(1 MB, 5% of the training data)).",
        "Vision Instruct data (image parts in user messages) trains pixtral-12b-latest only.",
        "Not checked: the pretraining {\"text\": ...} format of mistral-finetune.",
    )

    def fast_ok(self, rec: Any, raw: bytes) -> bool:
        if not fast_chat_ok(rec, MISTRAL_SPEC):
            return False
        msgs = rec.messages
        calls_seen = False
        items: list[_Item] = []
        for i, m in enumerate(msgs):
            if m.tool_calls is not None and not m.tool_calls:
                return False  # `[]` is an error that fast_chat_ok does not look for
            calls = len(m.tool_calls) if m.tool_calls else 0
            calls_seen = calls_seen or calls > 0
            items.append((i, m.role, calls, bool(m.content and not m.content.isspace())))
        if calls_seen and rec.tools is msgspec.UNSET:
            return False
        return not structure_issues(items)

    def fast_free_values(self, rec: Any) -> list[tuple[Any, int]]:
        tools = rec.tools
        return [] if tools is msgspec.UNSET else [(tools, 1)]

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        msgs = obj.get("messages")
        if isinstance(msgs, list):
            normalized = _normalize_images(msgs)
            if normalized is not None:
                obj = {**obj, "messages": normalized}
                msgs = normalized
        check_chat(obj, ctx, MISTRAL_SPEC)
        if not isinstance(msgs, list):
            return
        for i, rule, message in structure_issues(_items(msgs)):
            sev: Severity = "warning" if rule == "tool_calls.with_content" else "error"
            ctx.add(sev, f"messages[{i}]", rule, message)
        # docs: "The tools key must include definitions of all tools used in the conversation"
        if "tools" not in obj:
            for i, m in enumerate(msgs):
                if isinstance(m, dict) and isinstance(m.get("tool_calls"), list) and m["tool_calls"]:
                    ctx.warn(f"messages[{i}].tool_calls", "tool_call.unknown_function", "this example calls"
                             " tools but has no `tools` array: Mistral wants every tool used declared there")
                    break
