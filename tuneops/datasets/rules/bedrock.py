"""Amazon Bedrock fine-tuning data: Claude 3 Haiku, and Amazon Nova (``bedrock-conversation-2024``).

Sources (verified 2026-11-28):
- https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html (Claude 3 Haiku:
  optional `system` string, `messages` of user/assistant with string content; 32 to 10,000 records,
  32,000 tokens per record, 10 GB training file, 1,000 validation records)
- https://platform.claude.com/cookbook/finetuning-finetuning-on-bedrock (at least two messages, first
  from the user, last from the assistant, alternating, no extraneous keys)
- https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-3-haiku.html (the
  model's end date, 2026-09-10)
- https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html (Nova:
  `schemaVersion`, `system` text blocks, user/assistant turns from user to assistant, image and video
  blocks by S3 location in user turns only, 10 images or 1 video per sample, formats, reserved
  keywords; 8 to 20,000 samples, 32k context)
- https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-data-prep-sft-2.html (Nova 2: PDF
  `document` blocks, `reasoningContent` in assistant turns, `toolUse` / `toolResult` with `toolConfig`;
  one media modality per sample)
- https://docs.aws.amazon.com/bedrock/latest/userguide/nova-2-sft-data-prep.html (tool use is not yet
  supported by Nova 2 SFT on Bedrock)
- https://github.com/aws-samples/amazon-bedrock-samples/tree/main/custom-models/bedrock-fine-tuning/nova
  (AWS's own dataset validator also rejects the upper-case keywords and "Thought:")
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

import msgspec

from tuneops.datasets.rules.base import Ctx, Limits, RulePack, describe_type

__all__ = ["BEDROCK_CLAUDE_RULES", "BEDROCK_NOVA_RULES", "CLAUDE_TOKEN_LIMITS", "NOVA_TOKEN_LIMITS",
           "BedrockClaudeSFT", "BedrockNovaSFT"]

_UNSET = msgspec.UNSET
_ROLES = ("user", "assistant")
_BAD: Any = object()  # a message that is not an object
# The Text Completions turn markers of Claude; inside content they read as turn boundaries.
_CLAUDE_RESERVED = re.compile(r"\n\nHuman:|\n\nAssistant:")
CLAUDE_MAX_TOKENS = 32_000
_CHARS_PER_TOKEN = 6  # AWS's planning estimate for Bedrock text fine-tuning
_CLAUDE_CHAR_CAP = CLAUDE_MAX_TOKENS * _CHARS_PER_TOKEN
CLAUDE_TOKEN_LIMITS = {"anthropic.claude-3-haiku": CLAUDE_MAX_TOKENS, "claude-3-haiku": CLAUDE_MAX_TOKENS}
# "32k" context for Nova Micro, Lite and Pro (read as 32,000, the stricter reading)
NOVA_TOKEN_LIMITS = {"amazon.nova": 32_000, "nova-": 32_000}
_NOVA_RESERVED = re.compile(r"User:|Bot:|Assistant:|System:|<image>|<video>|\[EOS\]")
_NOVA_RESERVED_EXTRA = re.compile(r"USER:|BOT:|ASSISTANT:|SYSTEM:|Thought:")
# The Nova guide's lists; Bedrock's Nova 2 page names only PNG/JPEG/GIF and MOV/MKV/MP4.
_NOVA_FORMATS = {"image": ("png", "jpeg", "gif", "webp"), "video": ("mov", "mkv", "mp4", "webm"),
                 "document": ("pdf",)}
_NOVA_CAPS = {"image": 10, "video": 1}
_S3_KEY = re.compile(r"[\w\-/.]+")  # the characters AWS's validator accepts after s3://
_BLOCKS = ("text", "image", "video", "document", "reasoningContent", "toolUse", "toolResult")

_TURN_RULES = {
    "example.unknown_key": "a top-level key the format does not have",
    "messages.invalid": "`messages` missing, not an array, or empty",
    "message.invalid": "a message that is not an object of role and content",
    "role.invalid": "a role other than user or assistant",
    "role.order": "messages that do not alternate user, assistant, ... starting with user",
    "messages.last_role": "a conversation that does not end with an assistant message",
    "content.type": "content of the wrong type, or missing",
    "content.empty": "empty or whitespace-only content",
}
BEDROCK_CLAUDE_RULES: dict[str, str] = {
    **_TURN_RULES,
    "system.type": "a `system` that is not a string",
    "content.reserved_token": "Claude's \\n\\nHuman: / \\n\\nAssistant: turn markers inside text",
    "example.too_long": "a record that is certainly over 32,000 tokens by its character count",
}
BEDROCK_NOVA_RULES: dict[str, str] = {
    **_TURN_RULES,
    "schema_version.invalid": "`schemaVersion` missing or not a string",
    "system.invalid": "a `system` that is not an array of {text} blocks",
    "block.invalid": "a content block that is not an object holding exactly one known kind",
    "text.reserved_keyword": "a keyword Nova reserves (User:, Bot:, <image>, [EOS], ...) in text",
    "media.invalid": "an image, video or document that is not {format, source: {s3Location: {uri}}}",
    "media.format": "a media format Nova does not accept for fine-tuning",
    "media.uri": "a media uri that is not an s3:// object path",
    "media.role": "media in an assistant turn",
    "media.too_many": "more than 10 images or 1 video in one sample",
    "media.mixed": "more than one media modality in one sample",
    "reasoning.invalid": "reasoningContent that is not text {reasoningText: {text}} in an assistant turn",
    "tool.invalid": "a malformed toolConfig, toolUse or toolResult, or one in the wrong turn",
    "tool.unmatched": "a toolResult whose toolUseId matches no earlier toolUse, or is used twice",
    "tool.not_supported": "tool-use data, which Nova SFT on Bedrock does not support yet",
}


def _a(value: Any) -> str:
    """JSON type of a value with its article: "an array", "a string", "null"."""
    kind = describe_type(value)
    return kind if kind == "null" else f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _top(obj: dict[str, Any], ctx: Ctx, allowed: tuple[str, ...]) -> None:
    for key in [k for k in obj if k not in allowed]:
        ctx.error(key, "example.unknown_key", f"unknown top-level key {key!r}: accepted keys are "
                  + ", ".join(allowed))


def _messages(obj: dict[str, Any], ctx: Ctx) -> list[tuple[str, str, Any]]:
    """Check `messages`, roles and order; (path, role or "", content or _BAD) per message."""
    msgs = obj.get("messages")
    if not isinstance(msgs, list) or not msgs:
        shown = "missing" if "messages" not in obj else "empty" if msgs == [] else _a(msgs)
        ctx.error("messages", "messages.invalid", f"`messages` is {shown}: give the conversation,"
                  " [{\"role\": \"user\", ...}, {\"role\": \"assistant\", ...}]")
        return []
    out = []
    for i, m in enumerate(msgs):
        p = f"messages[{i}]"
        if not isinstance(m, dict):
            ctx.error(p, "message.invalid", f"message is {_a(m)}, not an object")
            out.append((p, "", _BAD))
            continue
        for k in [k for k in m if k not in ("role", "content")]:
            ctx.error(f"{p}.{k}", "message.invalid", f"unknown message key {k!r}: a message has"
                      " exactly `role` and `content`")
        role = m.get("role")
        if role not in _ROLES:
            hint = " (put system text in the top-level `system`)" if role == "system" else ""
            ctx.error(f"{p}.role", "role.invalid", ("message has no `role`" if role is None else
                      f"role {role!r} is not accepted{hint}") + ": use user or assistant")
        out.append((p, role if role in _ROLES else "", m.get("content", _UNSET)))
    for i, (p, role, _) in enumerate(out):  # up to the first invalid message, reported above
        if not role:
            break
        if role != _ROLES[i % 2]:
            ctx.error(f"{p}.role", "role.order", f"expected {'a user' if i % 2 == 0 else 'an assistant'}"
                      " message here: messages alternate user, assistant, user, ... starting with user")
            break
    if out and out[-1][1] == "user":
        ctx.error(out[-1][0], "messages.last_role", "the conversation ends with a user message: the"
                  " last message must be the assistant's answer to learn from")
    return out


def _alternates(roles: list[str]) -> bool:
    return bool(roles) and len(roles) % 2 == 0 and all(r == _ROLES[i % 2] for i, r in enumerate(roles))


# ---------------------------------------------------------------------------------------- Claude
class _FClaudeMessage(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["user", "assistant"]
    content: str


class _FClaude(msgspec.Struct, forbid_unknown_fields=True):
    messages: list[_FClaudeMessage]
    system: str | msgspec.UnsetType = _UNSET


class BedrockClaudeSFT(RulePack):
    provider = "bedrock"
    method = "sft"
    title = "Claude 3 Haiku fine-tuning on Amazon Bedrock"
    record_format = "bedrock-claude"
    verified = "2026-11-28"
    sources = (
        "https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html",
        "https://platform.claude.com/cookbook/finetuning-finetuning-on-bedrock",
        "https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-3-haiku.html",
    )
    rules: ClassVar[dict[str, str]] = BEDROCK_CLAUDE_RULES
    limits = Limits(min_examples=32, max_examples=10_000, max_file_bytes=10 << 30)
    model_token_limits = CLAUDE_TOKEN_LIMITS
    fast_type = _FClaude
    notes = (
        "Claude 3 Haiku reached its end date on Bedrock on 2026-09-10, and with it fine-tuning: this"
        " pack exists to validate existing data and migrate it to another provider.",
        "Training and validation records together: at most 10,000 by default (a Service Quotas"
        " quota); the validation file takes at most 1,000 records and 1 GB.",
    )

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        _top(obj, ctx, ("system", "messages"))
        system = obj.get("system", "")
        chars = 0
        if not isinstance(system, str):
            ctx.error("system", "system.type", f"`system` is {_a(system)}: Claude"
                      " fine-tuning takes the system prompt as one string")
        else:
            chars += len(system)
            self._reserved(system, "system", ctx)
        for p, role, content in _messages(obj, ctx):
            if content is _BAD:
                continue
            if not isinstance(content, str):
                shown = "missing" if content is _UNSET else _a(content)
                ctx.error(f"{p}.content", "content.type", f"content is {shown}: Claude fine-tuning"
                          " takes `content` as a plain string (join any text blocks)")
            elif not content.strip():
                ctx.error(f"{p}.content", "content.empty", f"{role or 'the'} message is empty: give"
                          " it text or drop the turn pair")
            else:
                chars += len(content)
                self._reserved(content, f"{p}.content", ctx)
        if chars > _CLAUDE_CHAR_CAP:
            ctx.warn("", "example.too_long", f"{chars:,} characters: at AWS's estimate of"
                     f" {_CHARS_PER_TOKEN} characters per token this is over the {CLAUDE_MAX_TOKENS:,}"
                     " tokens Claude 3 Haiku trains on per record: shorten or split it")

    @staticmethod
    def _reserved(text: str, path: str, ctx: Ctx) -> None:
        if (m := _CLAUDE_RESERVED.search(text)) is not None:
            ctx.warn(path, "content.reserved_token", f"contains {m.group()!r}, Claude's turn marker:"
                     " the text reads as a new turn; rephrase it")

    def fast_ok(self, rec: Any, raw: bytes) -> bool:
        # a JSON line is at least as many bytes as its texts have characters
        if len(raw) > _CLAUDE_CHAR_CAP or not _alternates([m.role for m in rec.messages]):
            return False
        texts = [m.content for m in rec.messages]
        if any(not t or t.isspace() for t in texts):
            return False
        if rec.system is not _UNSET:
            texts.append(rec.system)
        return not any("\n\n" in t and _CLAUDE_RESERVED.search(t) for t in texts)


# ------------------------------------------------------------------------------------------ Nova
class _FS3(msgspec.Struct, forbid_unknown_fields=True):
    uri: str
    bucketOwner: str | msgspec.UnsetType = _UNSET


class _FSource(msgspec.Struct, forbid_unknown_fields=True):
    s3Location: _FS3


class _FMedia(msgspec.Struct, forbid_unknown_fields=True):
    format: str
    source: _FSource


class _FDocument(_FMedia, forbid_unknown_fields=True):
    name: str | msgspec.UnsetType = _UNSET


class _FText(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class _FReasoning(msgspec.Struct, forbid_unknown_fields=True):
    reasoningText: _FText


class _FBlock(msgspec.Struct, forbid_unknown_fields=True):
    text: str | msgspec.UnsetType = _UNSET
    image: _FMedia | msgspec.UnsetType = _UNSET
    video: _FMedia | msgspec.UnsetType = _UNSET
    document: _FDocument | msgspec.UnsetType = _UNSET
    reasoningContent: _FReasoning | msgspec.UnsetType = _UNSET


class _FNovaMessage(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["user", "assistant"]
    content: list[_FBlock]


class _FNova(msgspec.Struct, forbid_unknown_fields=True):
    schemaVersion: str
    messages: list[_FNovaMessage]
    system: list[_FText] | msgspec.UnsetType = _UNSET


def _nova_text_ok(text: str) -> bool:
    return bool(text) and not text.isspace() and not (
        _NOVA_RESERVED.search(text) or _NOVA_RESERVED_EXTRA.search(text))


def _s3_ok(uri: str) -> bool | None:
    """True for a clean s3://bucket/key, None for one with characters AWS's validator rejects."""
    if not uri.startswith("s3://") or "/" not in uri[5:].strip("/"):
        return False
    return True if _S3_KEY.fullmatch(uri[5:]) else None


class _NovaSample:
    """One Nova record's walk: findings, declared tools, tool-use ids and media counts."""

    def __init__(self, ctx: Ctx, tools: set[str] | None) -> None:
        self.ctx, self.tools = ctx, tools
        self.media = dict.fromkeys(_NOVA_FORMATS, 0)
        self.uses: dict[str, int] = {}  # toolUseId -> times answered

    def text(self, text: str, path: str, role: str) -> None:
        if (m := _NOVA_RESERVED.search(text)) is not None:
            self.ctx.add("warning" if role == "assistant" else "error", path, "text.reserved_keyword",
                         f"contains {m.group()!r}, a keyword Nova reserves: training fails on prompts"
                         " that contain it; substitute a word with the same meaning")
        elif (m := _NOVA_RESERVED_EXTRA.search(text)) is not None:
            self.ctx.warn(path, "text.reserved_keyword", f"contains {m.group()!r}, which AWS's dataset"
                          " validator rejects: substitute a word with the same meaning")

    def block(self, block: Any, p: str, role: str) -> bool:
        """Check one content block; True if it gives the turn content."""
        ctx = self.ctx
        if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in _BLOCKS:
            ctx.error(p, "block.invalid", "a content block holds exactly one of " + ", ".join(_BLOCKS)
                      + ", e.g. {\"text\": \"...\"}")
            return True
        kind, v = next(iter(block.items()))
        p = f"{p}.{kind}"
        if kind == "text":
            if not isinstance(v, str):
                ctx.error(p, "block.invalid", f"`text` is {_a(v)}, not a string")
            elif not v.strip():
                ctx.warn(p, "content.empty", "blank text block: remove it")
                return False
            else:
                self.text(v, p, role)
        elif kind in _NOVA_FORMATS:
            self.media[kind] += 1
            self.file(kind, v, p, role)
        elif kind == "reasoningContent":
            rt = v.get("reasoningText") if isinstance(v, dict) and len(v) == 1 else None
            if not isinstance(rt, dict) or set(rt) - {"text", "signature"} or not isinstance(rt.get("text"),
                                                                                           str):
                ctx.error(p, "reasoning.invalid", "reasoningContent is {\"reasoningText\": {\"text\":"
                          " \"...\"}}: Nova trains on text reasoning only")
            elif role == "user":
                ctx.error(p, "reasoning.invalid", "reasoning content belongs in assistant turns")
            return False
        elif kind == "toolUse":
            tid, name = (v.get("toolUseId"), v.get("name")) if isinstance(v, dict) else (None, None)
            ok = isinstance(tid, str) and isinstance(name, str) and isinstance(v.get("input"), dict)
            declared = self.tools is None or (isinstance(name, str) and name in self.tools)
            if not ok or role == "user" or tid in self.uses or not declared:
                ctx.error(p, "tool.invalid", "toolUse is {\"toolUseId\": unique id, \"name\": a tool of"
                          " toolConfig, \"input\": {...}} and belongs in assistant turns")
            if ok and isinstance(tid, str):
                self.uses.setdefault(tid, 0)
        else:
            tid = v.get("toolUseId") if isinstance(v, dict) else None
            parts = v.get("content") if isinstance(v, dict) else None
            if not isinstance(tid, str) or not isinstance(parts, list) or role == "assistant" or not all(
                    isinstance(c, dict) and list(c) in (["text"], ["json"]) for c in parts):
                ctx.error(p, "tool.invalid", "toolResult is {\"toolUseId\": ..., \"content\": [{\"text\":"
                          " ...} or {\"json\": ...}]} and belongs in user turns")
            elif self.uses.get(tid, 1) > 0:
                ctx.error(f"{p}.toolUseId", "tool.unmatched", f"toolUseId {tid!r} matches no earlier"
                          " unanswered toolUse: each toolUse is answered exactly once")
            else:
                self.uses[tid] = 1
        return True

    def file(self, kind: str, v: Any, p: str, role: str) -> None:
        src = v.get("source") if isinstance(v, dict) else None
        loc = src.get("s3Location") if isinstance(src, dict) and len(src) == 1 else None
        extra = set(v) - {"format", "source", "name" if kind == "document" else "format"} if src else set()
        if not isinstance(loc, dict) or not isinstance(loc.get("uri"), str) or extra or set(loc) - {
                "uri", "bucketOwner"} or not isinstance(v.get("format"), str):
            self.ctx.error(p, "media.invalid", f"{kind} is {{\"format\": ..., \"source\": {{\"s3Location\":"
                           " {\"uri\": \"s3://bucket/key\", \"bucketOwner\": account id (optional)}}}")
        else:
            if v["format"] not in _NOVA_FORMATS[kind]:
                self.ctx.error(f"{p}.format", "media.format", f"format {v['format']!r} is not accepted for"
                               f" {kind}s: use one of " + ", ".join(_NOVA_FORMATS[kind]))
            ok = _s3_ok(loc["uri"])
            if not ok:
                self.ctx.add("error" if ok is False else "warning", f"{p}.source.s3Location.uri", "media.uri",
                             "uri must be an s3://bucket/key object in the dataset's bucket" if ok is False
                             else "AWS's validator accepts only letters, digits, _ - / and . in media paths")
        if role == "assistant":
            self.ctx.error(p, "media.role", f"{kind}s are accepted only in user turns: move it there")


class BedrockNovaSFT(RulePack):
    provider = "bedrock-nova"
    method = "sft"
    title = "Amazon Nova fine-tuning on Bedrock"
    record_format = "bedrock-nova"
    verified = "2026-11-28"
    sources = (
        "https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html",
        "https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-data-prep-sft-2.html",
        "https://docs.aws.amazon.com/bedrock/latest/userguide/nova-2-sft-data-prep.html",
        "https://github.com/aws-samples/amazon-bedrock-samples/tree/main/custom-models/bedrock-fine-tuning/nova",
    )
    rules: ClassVar[dict[str, str]] = BEDROCK_NOVA_RULES
    limits = Limits(min_examples=8, max_examples=20_000)
    model_token_limits = NOVA_TOKEN_LIMITS
    fast_type = _FNova
    notes = (
        "A dataset holds one media modality (text with images, videos or documents); this is checked"
        " per sample, not across the file.",
        "Media must sit in the dataset's own S3 bucket; Nova Micro takes text only.",
        "Documents, reasoningContent and tool use are Nova 2 features.",
    )

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        _top(obj, ctx, ("schemaVersion", "system", "messages", "toolConfig"))
        version = obj.get("schemaVersion", _UNSET)
        if not isinstance(version, str):
            ctx.add("warning" if version is _UNSET else "error", "schemaVersion", "schema_version.invalid",
                    "set \"schemaVersion\": \"bedrock-conversation-2024\" (any string is accepted)")
        w = _NovaSample(ctx, _tool_config(obj, ctx))
        system = obj.get("system", [])
        for j, b in enumerate(system) if isinstance(system, list) else [(None, system)]:
            if isinstance(b, dict) and list(b) == ["text"] and isinstance(b["text"], str):
                w.text(b["text"], f"system[{j}].text", "system")
            else:
                ctx.error("system" if j is None else f"system[{j}]", "system.invalid", "`system` is an"
                          " array of text blocks, e.g. [{\"text\": \"You are a helpful assistant.\"}]")
        for p, role, content in _messages(obj, ctx):
            if content is _BAD:
                continue
            if not isinstance(content, list) or not content:
                shown = "missing" if content is _UNSET else "empty" if content == [] else _a(content)
                ctx.add("error", f"{p}.content", "content.type" if content != [] else "content.empty",
                        f"content is {shown}: give an array of blocks, e.g. [{{\"text\": \"...\"}}]")
                continue
            filled = [w.block(b, f"{p}.content[{j}]", role) for j, b in enumerate(content)]
            if not any(filled):
                ctx.error(f"{p}.content", "content.empty", "the turn has no content: give a non-blank text"
                          " block" + (" (reasoning alone is no answer)" if role == "assistant" else ""))
        for kind, cap in _NOVA_CAPS.items():
            if w.media[kind] > cap:
                ctx.error("messages", "media.too_many", f"{w.media[kind]} {kind}s in one sample; Nova"
                          f" accepts at most {cap}: split the sample")
        if sum(n > 0 for n in w.media.values()) > 1:
            ctx.error("messages", "media.mixed", "the sample mixes " + " and ".join(
                f"{k}s" for k, n in w.media.items() if n) + ": a Nova dataset takes one media modality")
        if w.tools is not None or w.uses:
            ctx.warn("toolConfig" if w.tools is not None else "messages", "tool.not_supported", "tool use is"
                     " not yet supported by Nova SFT on Bedrock and may fail the job (SageMaker supports it)")

    def fast_ok(self, rec: Any, raw: bytes) -> bool:
        if not _alternates([m.role for m in rec.messages]):
            return False
        if rec.system is not _UNSET and not all(_nova_text_ok(b.text) for b in rec.system):
            return False
        media = dict.fromkeys(_NOVA_FORMATS, 0)
        for m in rec.messages:
            user, filled = m.role == "user", False
            for b in m.content:
                kinds = [(k, getattr(b, k)) for k in _BLOCKS[:5] if getattr(b, k) is not _UNSET]
                if len(kinds) != 1:
                    return False
                kind, v = kinds[0]
                if kind == "text":
                    if not _nova_text_ok(v):
                        return False
                    filled = True
                elif kind == "reasoningContent":
                    if user:
                        return False
                else:
                    if not user or v.format not in _NOVA_FORMATS[kind] or not _s3_ok(v.source.s3Location.uri):
                        return False
                    media[kind] += 1
                    filled = True
            if not filled:
                return False
        return sum(n > 0 for n in media.values()) <= 1 and all(media[k] <= c for k, c in _NOVA_CAPS.items())


def _tool_config(obj: dict[str, Any], ctx: Ctx) -> set[str] | None:
    """Tool names declared in `toolConfig` (None when absent)."""
    if "toolConfig" not in obj:
        return None
    cfg = obj["toolConfig"]
    tools = cfg.get("tools") if isinstance(cfg, dict) and list(cfg) == ["tools"] else None
    tools = tools if isinstance(tools, list) else None
    specs = [t.get("toolSpec") if isinstance(t, dict) else None for t in (tools or [None])]
    names = {s["name"] for s in specs if isinstance(s, dict) and isinstance(s.get("name"), str)
             and isinstance(s.get("inputSchema"), dict)}
    if not isinstance(tools, list) or len(names) != len(specs):
        ctx.error("toolConfig", "tool.invalid", "toolConfig is {\"tools\": [{\"toolSpec\": {\"name\":"
                  " ..., \"description\": ..., \"inputSchema\": {\"json\": {JSON Schema}}}}]}")
    return names
