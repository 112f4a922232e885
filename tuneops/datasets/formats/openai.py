"""OpenAI-style records (chat, DPO, prompt/completion) to and from the neutral representation.

The chat shape is shared by OpenAI, Mistral, Together and Fireworks; what each accepts differs and
is stated by a `ChatTarget` (see `chat_targets`). Mistral's tool-call ids must be exactly nine
letters or digits (mistral-common's validator:
https://github.com/mistralai/mistral-common/blob/main/src/mistral_common/protocol/instruct/validator.py),
so ids are rewritten for it, consistently within an example.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Callable
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
    merge_consecutive,
    need_assistant,
    split_system,
    strip_names,
    strip_weights,
    trim_ends,
)
from tuneops.datasets.formats.chat_targets import OPENAI_TARGET, ChatTarget

__all__ = [
    "read_messages",
    "read_openai_chat",
    "read_openai_dpo",
    "read_prompt_completion",
    "write_openai_chat",
    "write_openai_dpo",
]

_MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "tool_calls", "tool_call_id"})
_ROLES = ("system", "user", "assistant", "tool")


# ------------------------------------------------------------------------------------------ read


def _read_content(content: Any, notes: Notes) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [Text(content)]
    if not isinstance(content, list):
        raise DropExample("not_source_format", "message content is neither a string nor parts")
    parts: list[Part] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            if part.keys() - {"type", "text"}:
                notes.loss("unknown_keys")
            parts.append(Text(part["text"]))
        elif kind == "image_url" and isinstance(part.get("image_url"), dict) \
                and isinstance(part["image_url"].get("url"), str):
            img = part["image_url"]
            if part.keys() - {"type", "image_url"} or img.keys() - {"url", "detail"}:
                notes.loss("unknown_keys")
            detail = img.get("detail")
            parts.append(Image(img["url"], detail=detail if isinstance(detail, str) else None))
        else:
            notes.loss("unsupported_parts")
    return parts


def _read_call(call: Any, notes: Notes) -> ToolCall:
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise DropExample("not_source_format", "a tool call without function.name")
    if call.keys() - {"id", "type", "function"} or fn.keys() - {"name", "arguments"}:
        notes.loss("unknown_keys")
    cid = call.get("id")
    args = fn.get("arguments")
    if isinstance(args, str):
        return ToolCall(cid if isinstance(cid, str) else None, fn["name"], arguments=args)
    # arguments as an object (a common mistake): carried as the object
    return ToolCall(cid if isinstance(cid, str) else None, fn["name"], args=args)


def read_messages(msgs: Any, notes: Notes) -> list[Turn]:
    if not isinstance(msgs, list):
        raise DropExample("not_source_format", "`messages` is not an array")
    turns: list[Turn] = []
    call_names: dict[str, str] = {}
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise DropExample("not_source_format", "a message without a known role")
        if m.keys() - _MESSAGE_KEYS:
            notes.loss("unknown_keys")
        role = m["role"]
        name = m.get("name")
        weight = m.get("weight")
        if role == "tool":
            cid = m.get("tool_call_id")
            cid = cid if isinstance(cid, str) else None
            texts = [p.text for p in _read_content(m.get("content"), notes) if isinstance(p, Text)]
            if len(texts) > 1:
                notes.change("text_parts_joined")
            text = "".join(texts)
            result = ToolResult(cid, content=text, name=call_names.get(cid or ""))
            turns.append(Turn("tool", [result], name=name if isinstance(name, str) else None))
            continue
        parts = _read_content(m.get("content"), notes)
        if role == "assistant" and isinstance(m.get("tool_calls"), list):
            # "" beside tool calls means "no text", like null or an absent content
            parts = [p for p in parts if not (isinstance(p, Text) and not p.text)]
            for call in m["tool_calls"]:
                tc = _read_call(call, notes)
                if tc.id is not None:
                    call_names[tc.id] = tc.name
                parts.append(tc)
        turns.append(Turn(
            role, parts,
            name=name if isinstance(name, str) else None,
            weight=weight if weight in (0, 1) and not isinstance(weight, bool) else None,
        ))
    return turns


def _read_tools(tools: Any, notes: Notes) -> list[ToolDef] | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise DropExample("not_source_format", "`tools` is not an array")
    out: list[ToolDef] = []
    for tool in tools:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            notes.loss("tool_definitions")
            continue
        extra = {k: v for k, v in fn.items() if k not in ("name", "description", "parameters")}
        out.append(ToolDef(fn["name"], fn.get("description"), fn.get("parameters"), extra))
    return out


def read_openai_chat(obj: dict[str, Any], notes: Notes) -> Example:
    if obj.keys() - {"messages", "tools", "parallel_tool_calls"}:
        notes.loss("unknown_keys")
    ptc = obj.get("parallel_tool_calls")
    return Example(
        read_messages(obj.get("messages"), notes),
        tools=_read_tools(obj.get("tools"), notes),
        parallel_tool_calls=ptc if isinstance(ptc, bool) else None,
    )


def _one_output(value: Any, notes: Notes) -> Turn | None:
    if not isinstance(value, list) or not value:
        return None
    turns = read_messages(value, notes)
    if len(turns) != 1 or turns[0].role != "assistant":
        raise DropExample("no_preference_pair", "a preference output is not one assistant message")
    return turns[0]


def read_openai_dpo(obj: dict[str, Any], notes: Notes) -> Example:
    if obj.keys() - {"input", "preferred_output", "non_preferred_output"}:
        notes.loss("unknown_keys")
    inp = obj.get("input")
    if not isinstance(inp, dict):
        raise DropExample("not_source_format", "`input` is not an object")
    ex = read_openai_chat(inp, notes)
    ex.preferred = _one_output(obj.get("preferred_output"), notes)
    ex.rejected = _one_output(obj.get("non_preferred_output"), notes)
    if ex.preferred is None:
        raise DropExample("no_preference_pair", "no preferred_output")
    return ex


def read_prompt_completion(obj: dict[str, Any], notes: Notes) -> Example:
    prompt, completion = obj.get("prompt"), obj.get("completion")
    if not isinstance(prompt, str) or not isinstance(completion, str):
        raise DropExample("not_source_format", "`prompt` and `completion` must be strings")
    if obj.keys() - {"prompt", "completion"}:
        notes.loss("unknown_keys")
    return Example([Turn("user", [Text(prompt)]), Turn("assistant", [Text(completion)])])


# ----------------------------------------------------------------------------------------- write

_ID_OK = re.compile(r"[a-zA-Z0-9]{9}")
_ALNUM = string.ascii_letters + string.digits


def _nine_chars(cid: str, salt: int) -> str:
    n = int.from_bytes(hashlib.sha256(f"{salt}:{cid}".encode()).digest()[:8], "big")
    out = []
    for _ in range(9):
        n, r = divmod(n, len(_ALNUM))
        out.append(_ALNUM[r])
    return "".join(out)


def _remap_ids(turns: list[Turn], notes: Notes) -> None:
    """Give every call a 9-character id (derived from the old one, so reruns agree)."""
    used = {p.id for t in turns for p in t.parts
            if isinstance(p, ToolCall) and p.id and _ID_OK.fullmatch(p.id)}
    mapping: dict[str, str] = {}
    for t in turns:
        for p in t.parts:
            if isinstance(p, ToolCall) and not (p.id and _ID_OK.fullmatch(p.id)):
                old = p.id or f"#{len(mapping)}"
                salt = 0
                new = _nine_chars(old, salt)
                while new in used:
                    salt += 1
                    new = _nine_chars(old, salt)
                used.add(new)
                if p.id is not None:
                    mapping[p.id] = new
                p.id = new
                notes.change("tool_call_ids_remapped")
            elif isinstance(p, ToolResult) and p.call_id in mapping:
                p.call_id = mapping[p.call_id]


def _image_ok(target: ChatTarget) -> Callable[[Turn, Part], bool]:
    def ok(t: Turn, p: Part) -> bool:
        # images go in user messages only, by a reference the vendor can fetch
        return not isinstance(p, Image) or (
            target.images and p.media == "image" and t.role == "user"
            and p.url.startswith(target.image_prefixes)
        )

    return ok


def _needs_list(t: Turn, target: ChatTarget) -> bool:
    texts = sum(isinstance(p, Text) for p in t.parts)
    return any(isinstance(p, Image) for p in t.parts) or (texts > 1 and target.content_parts)


def _content(t: Turn, target: ChatTarget, notes: Notes, as_list: bool | None,
             ) -> str | list[dict[str, Any]] | None:
    """Content as a string or parts; `as_list` True forces parts, None forces a string."""
    shown = [p for p in t.parts if isinstance(p, Text | Image)]
    if not shown:
        return None
    if as_list is None or (not as_list and not _needs_list(t, target)):
        texts = [p.text for p in shown if isinstance(p, Text)]
        if len(texts) > 1:
            notes.change("text_parts_joined")
        return "\n".join(texts)
    out: list[dict[str, Any]] = []
    for p in shown:
        if isinstance(p, Text):
            out.append({"type": "text", "text": p.text})
        elif isinstance(p, Image):
            url: dict[str, Any] = {"url": p.url}
            if p.detail is not None:
                url["detail"] = p.detail
            out.append({"type": "image_url", "image_url": url})
    return out


def _message(t: Turn, target: ChatTarget, notes: Notes, as_list: bool | None = False,
             ) -> dict[str, Any]:
    if t.role == "tool":
        result = next(p for p in t.parts if isinstance(p, ToolResult))
        msg: dict[str, Any] = {"role": "tool"}
        if result.call_id is not None:
            msg["tool_call_id"] = result.call_id
        text = result.text()
        msg["content"] = [{"type": "text", "text": text}] if as_list else text
        if t.name is not None:
            msg["name"] = t.name
        return msg
    msg = {"role": t.role}
    content = _content(t, target, notes, as_list)
    calls = [p for p in t.parts if isinstance(p, ToolCall)]
    if content is not None or not calls:
        msg["content"] = content if content is not None else ""
    if t.name is not None:
        msg["name"] = t.name
    if calls:
        msg["tool_calls"] = [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": c.arguments_text()}}
            for c in calls
        ]
    if t.weight is not None:
        msg["weight"] = t.weight
    return msg


def _messages(turns: list[Turn], target: ChatTarget, notes: Notes) -> list[dict[str, Any]]:
    # Together wants all string contents or all part lists within an example
    as_list = target.uniform_content and any(_needs_list(t, target) for t in turns)
    return [_message(t, target, notes, as_list) for t in turns]


def _tool_results_one_per_turn(turns: list[Turn]) -> list[Turn]:
    out: list[Turn] = []
    for t in turns:
        results = [p for p in t.parts if isinstance(p, ToolResult)]
        if t.role == "tool" and len(results) > 1:
            out.extend(Turn("tool", [r], name=t.name) for r in results)
        else:
            out.append(t)
    return out


def _shape(ex: Example, target: ChatTarget, notes: Notes, *, need_answer: bool) -> list[Turn]:
    """The turns to write, reshaped for the target; `ex.preferred` / `ex.rejected` are edited too."""
    turns = ex.turns
    if not target.system_anywhere:
        system, rest = split_system(turns, notes)
        turns = ([system] if system is not None else []) + rest
    outputs = [t for t in (ex.preferred, ex.rejected) if t is not None]
    every = turns + outputs
    if not target.tools:
        drop_tools(ex, every, notes)
    elif not target.parallel_tool_calls and ex.parallel_tool_calls is not None:
        notes.loss("parallel_tool_calls")
        ex.parallel_tool_calls = None
    drop_parts(every, lambda t, p: not isinstance(p, Image) or p.media == "image", notes,
               "other_media")
    drop_parts(every, _image_ok(target), notes, "images")
    if not target.weights or not need_answer:
        strip_weights(every, notes)  # preference data takes no weights
    if not target.names:
        strip_names(every, notes)
    turns = drop_empty(turns)
    if target.alternate or target.first_user or target.last_assistant:
        head = turns[:1] if turns and turns[0].role == "system" else []
        rest = turns[len(head):]
        if target.alternate:
            rest = merge_consecutive(rest, notes)
        rest = trim_ends(rest, notes, first_user=target.first_user,
                         last_assistant=target.last_assistant and need_answer)
        turns = head + rest
    if need_answer:
        need_assistant(turns)
    turns = _tool_results_one_per_turn(turns)
    if target.nine_char_ids:
        _remap_ids(turns + outputs, notes)
    return turns


def _tools(ex: Example) -> list[dict[str, Any]]:
    out = []
    for d in ex.tools or []:
        fn: dict[str, Any] = {"name": d.name}
        if d.description is not None:
            fn["description"] = d.description
        if d.parameters is not None:
            fn["parameters"] = d.parameters
        fn.update(d.extra)
        out.append({"type": "function", "function": fn})
    return out


def _top(ex: Example, msgs: list[dict[str, Any]]) -> dict[str, Any]:
    rec: dict[str, Any] = {"messages": msgs}
    if ex.tools is not None:
        rec["tools"] = _tools(ex)
    if ex.parallel_tool_calls is not None:
        rec["parallel_tool_calls"] = ex.parallel_tool_calls
    return rec


def write_openai_chat(ex: Example, notes: Notes, target: ChatTarget = OPENAI_TARGET,
                      ) -> dict[str, Any]:
    turns = _shape(ex, target, notes, need_answer=True)
    return _top(ex, _messages(turns, target, notes))


def write_openai_dpo(ex: Example, notes: Notes, target: ChatTarget = OPENAI_TARGET,
                     ) -> dict[str, Any]:
    if ex.preferred is None or ex.rejected is None:
        raise DropExample("no_preference_pair")
    turns = _shape(ex, target, notes, need_answer=False)
    for out in (ex.preferred, ex.rejected):
        if not out.parts:
            raise DropExample("no_preference_pair", "a preference output has no content left")
    # preference outputs take string content (OpenAI's check_dpo and its copies)
    outputs = [_message(t, target, notes, None) for t in (ex.preferred, ex.rejected)]
    return {
        "input": _top(ex, _messages(turns, target, notes)),
        "preferred_output": [outputs[0]],
        "non_preferred_output": [outputs[1]],
    }
