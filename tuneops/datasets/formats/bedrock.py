"""Amazon Bedrock records (Claude 3 Haiku conversations, Nova conversations) to and from neutral.

Vendor facts this relies on:
- Claude 3 Haiku fine-tuning: ``{"system": str, "messages": [{"role", "content": str}]}``, roles
  user and assistant alternating, starting with user and ending with assistant; no images, tools or
  weights. https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html
  and https://aws.amazon.com/blogs/machine-learning/fine-tune-anthropics-claude-3-haiku-in-amazon-bedrock-to-boost-model-accuracy-and-quality/
- Nova fine-tuning: ``{"schemaVersion": "bedrock-conversation-2024", "system": [{"text"}],
  "messages": [{"role", "content": [blocks]}]}`` with Converse content blocks; the first turn is
  the user's, the last the assistant's; user turns may hold images or videos referenced by
  ``s3Location`` (in the dataset's bucket), assistant turns are text only; tool use
  (`toolConfig`, `toolUse`, `toolResult`) is read, but not written: Nova supervised fine-tuning on
  Bedrock does not support it yet and a job with it may fail.
  https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html
  https://docs.aws.amazon.com/bedrock/latest/userguide/nova-2-sft-data-prep.html
"""

from __future__ import annotations

from typing import Any

from tuneops.datasets._neutral import (
    DropExample,
    Example,
    Image,
    Notes,
    Part,
    Text,
    ToolCall,
    ToolDef,
    ToolResult,
    Turn,
)
from tuneops.datasets.formats._shape import (
    drop_empty,
    drop_parts,
    drop_tools,
    guess_mime,
    merge_consecutive,
    need_assistant,
    split_system,
    strip_names,
    strip_weights,
    trim_ends,
)

__all__ = [
    "NOVA_SCHEMA_VERSION",
    "read_bedrock_claude",
    "read_bedrock_nova",
    "write_bedrock_claude",
    "write_bedrock_nova",
]

NOVA_SCHEMA_VERSION = "bedrock-conversation-2024"
_NOVA_IMAGE_FORMATS = {"image/jpeg": "jpeg", "image/png": "png", "image/gif": "gif",
                       "image/webp": "webp"}
_NOVA_VIDEO_FORMATS = {"video/quicktime": "mov", "video/x-matroska": "mkv", "video/mp4": "mp4",
                       "video/webm": "webm"}


def _texts(ps: list[Part]) -> list[str]:
    return [p.text for p in ps if isinstance(p, Text)]


def _reshape(ex: Example, notes: Notes) -> tuple[Turn | None, list[Turn]]:
    """Both Bedrock formats: one system prompt, no weights or names, alternating user/assistant
    turns that start with the user and end with the assistant."""
    system, turns = split_system(ex.turns, notes)
    strip_weights(turns, notes)
    strip_names(turns + ([system] if system is not None else []), notes)
    drop_tools(ex, turns, notes)
    return system, turns


def _finish(turns: list[Turn], notes: Notes) -> list[Turn]:
    turns = merge_consecutive(drop_empty(turns), notes)
    turns = trim_ends(turns, notes, first_user=True, last_assistant=True)
    need_assistant(turns)
    return turns


def _joined(parts: list[Part], notes: Notes) -> str:
    texts = _texts(parts)
    if len(texts) > 1:
        notes.change("text_parts_joined")
    return "\n".join(texts)


# ---------------------------------------------------------------------------------------- Claude


def read_bedrock_claude(obj: dict[str, Any], notes: Notes) -> Example:
    if obj.keys() - {"system", "messages"}:
        notes.loss("unknown_keys")
    msgs = obj.get("messages")
    if not isinstance(msgs, list):
        raise DropExample("not_source_format", "`messages` is not an array")
    turns: list[Turn] = []
    system = obj.get("system")
    if isinstance(system, str):
        turns.append(Turn("system", [Text(system)]))
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant") \
                or not isinstance(m.get("content"), str):
            raise DropExample("not_source_format", "a message that is not user/assistant text")
        if m.keys() - {"role", "content"}:
            notes.loss("unknown_keys")
        turns.append(Turn(m["role"], [Text(m["content"])]))
    return Example(turns)


def write_bedrock_claude(ex: Example, notes: Notes) -> dict[str, Any]:
    system, turns = _reshape(ex, notes)
    drop_parts(turns, lambda _t, p: not isinstance(p, Image) or p.media != "image", notes, "images")
    drop_parts(turns, lambda _t, p: not isinstance(p, Image), notes, "other_media")
    turns = _finish(turns, notes)
    rec: dict[str, Any] = {}
    if system is not None:
        rec["system"] = _joined(system.parts, notes)
    rec["messages"] = [{"role": t.role, "content": _joined(t.parts, notes)} for t in turns]
    return rec


# ------------------------------------------------------------------------------------------ Nova


def _read_media(block: dict[str, Any], kind: str) -> Image | None:
    src = block.get("source")
    fmt = block.get("format")
    if not isinstance(src, dict):
        return None
    mime = None
    if isinstance(fmt, str):
        table = _NOVA_IMAGE_FORMATS if kind == "image" else _NOVA_VIDEO_FORMATS
        mime = next((m for m, f in table.items() if f == fmt), f"{kind}/{fmt}")
    loc = src.get("s3Location")
    if isinstance(loc, dict) and isinstance(loc.get("uri"), str):
        return Image(loc["uri"], mime=mime, media="image" if kind == "image" else "video")
    if isinstance(src.get("bytes"), str) and mime:
        return Image(f"data:{mime};base64,{src['bytes']}", mime=mime,
                     media="image" if kind == "image" else "video")
    return None


def _read_block(block: Any, notes: Notes) -> Part | None:
    if not isinstance(block, dict):
        raise DropExample("not_source_format", "a content block is not an object")
    if isinstance(block.get("text"), str):
        return Text(block["text"])
    for kind in ("image", "video"):
        if isinstance(block.get(kind), dict):
            media = _read_media(block[kind], kind)
            if media is not None:
                return media
    use = block.get("toolUse")
    if isinstance(use, dict) and isinstance(use.get("name"), str):
        uid = use.get("toolUseId")
        return ToolCall(uid if isinstance(uid, str) else None, use["name"], args=use.get("input", {}))
    res = block.get("toolResult")
    if isinstance(res, dict):
        uid = res.get("toolUseId")
        content = res.get("content")
        items = content if isinstance(content, list) else []
        texts = [c["text"] for c in items if isinstance(c, dict) and isinstance(c.get("text"), str)]
        jsons = [c["json"] for c in items if isinstance(c, dict) and "json" in c]
        if len(texts) + len(jsons) != len(items) or (texts and jsons) or len(jsons) > 1:
            notes.loss("unsupported_parts")
        if jsons:
            return ToolResult(uid if isinstance(uid, str) else None, data=jsons[0])
        return ToolResult(uid if isinstance(uid, str) else None, content="".join(texts))
    notes.loss("unsupported_parts")  # reasoningContent, document, ...
    return None


def _read_tool_config(config: Any, notes: Notes) -> list[ToolDef] | None:
    if config is None:
        return None
    tools = config.get("tools") if isinstance(config, dict) else None
    if not isinstance(tools, list):
        notes.loss("tool_definitions")
        return None
    if config.keys() - {"tools"}:
        notes.loss("tool_definition_fields")  # toolChoice
    out: list[ToolDef] = []
    for tool in tools:
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            notes.loss("tool_definitions")
            continue
        schema = spec.get("inputSchema")
        params = schema.get("json") if isinstance(schema, dict) else None
        extra = {k: v for k, v in spec.items() if k not in ("name", "description", "inputSchema")}
        out.append(ToolDef(spec["name"], spec.get("description"), params, extra))
    return out


def read_bedrock_nova(obj: dict[str, Any], notes: Notes) -> Example:
    if obj.keys() - {"schemaVersion", "system", "messages", "toolConfig"}:
        notes.loss("unknown_keys")
    msgs = obj.get("messages")
    if not isinstance(msgs, list):
        raise DropExample("not_source_format", "`messages` is not an array")
    turns: list[Turn] = []
    system = obj.get("system")
    if isinstance(system, list) and system:
        parts = [p for p in (_read_block(b, notes) for b in system) if p is not None]
        turns.append(Turn("system", [p for p in parts if isinstance(p, Text)]))
    elif isinstance(system, str):
        turns.append(Turn("system", [Text(system)]))
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant") \
                or not isinstance(m.get("content"), list):
            raise DropExample("not_source_format", "a message that is not user/assistant blocks")
        if m.keys() - {"role", "content"}:
            notes.loss("unknown_keys")
        parts = [p for p in (_read_block(b, notes) for b in m["content"]) if p is not None]
        pending: list[Part] = []
        for p in parts:
            # Converse carries tool results in user turns; the neutral form has tool turns
            if isinstance(p, ToolResult):
                if pending:
                    turns.append(Turn(m["role"], pending))
                    pending = []
                turns.append(Turn("tool", [p]))
            else:
                pending.append(p)
        if pending or not parts:
            turns.append(Turn(m["role"], pending))
    names = {p.id: p.name for t in turns for p in t.parts if isinstance(p, ToolCall) and p.id}
    for t in turns:
        for p in t.parts:
            if isinstance(p, ToolResult) and p.call_id in names:
                p.name = names[p.call_id]
    return Example(turns, tools=_read_tool_config(obj.get("toolConfig"), notes))


def _nova_block(t: Turn, p: Part, notes: Notes) -> dict[str, Any]:
    if isinstance(p, Text):
        return {"text": p.text}
    assert isinstance(p, Image)
    if p.detail is not None:
        notes.loss("image_detail")
    mime = guess_mime(p) or ""
    if p.media == "image":
        return {"image": {"format": _NOVA_IMAGE_FORMATS[mime],
                          "source": {"s3Location": {"uri": p.url}}}}
    return {"video": {"format": _NOVA_VIDEO_FORMATS[mime],
                      "source": {"s3Location": {"uri": p.url}}}}


def _nova_media_ok(t: Turn, p: Part) -> bool:
    if not isinstance(p, Image):
        return True
    mime = guess_mime(p) or ""
    table = _NOVA_IMAGE_FORMATS if p.media == "image" else _NOVA_VIDEO_FORMATS
    # media by S3 reference, in user turns only
    return t.role == "user" and p.url.startswith("s3://") and mime in table


def write_bedrock_nova(ex: Example, notes: Notes) -> dict[str, Any]:
    system, turns = _reshape(ex, notes)
    drop_parts(turns, lambda t, p: not isinstance(p, Image) or (
        p.media in ("image", "video") and (p.media == "image" or _nova_media_ok(t, p))),
        notes, "other_media")
    drop_parts(turns, _nova_media_ok, notes, "images")
    turns = _finish(turns, notes)
    rec: dict[str, Any] = {"schemaVersion": NOVA_SCHEMA_VERSION}
    if system is not None:
        rec["system"] = [{"text": s} for s in _texts(system.parts)]
    rec["messages"] = [
        {"role": t.role, "content": [_nova_block(t, p, notes) for p in t.parts]} for t in turns
    ]
    return rec

