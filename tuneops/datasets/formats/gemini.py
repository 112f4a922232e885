"""Vertex AI Gemini records (supervised `contents`, preference pairs) to and from the neutral form.

Vendor facts this relies on:
- Roles are ``user`` and ``model``; the system prompt is a separate `systemInstruction` Content
  whose role is ignored. Parts are a union of `text`, `fileData{mimeType, fileUri}`, and for
  function calling `functionCall{name, args}` (args an object, not a JSON string) and
  `functionResponse{name, response}` (response an object), sent back in a user turn.
  https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare
  https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune-function-calling
- Function calls carry no id: results pair with calls by order and function name.
- Preference data: `contents` (text only, ending with a user turn), an optional
  `system_instruction`, and `completions`: one model turn scored 1 (preferred) and one scored 0.
  https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-preference-tuning-prepare
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
    dumps_json,
    parse_json_object,
)
from tuneops.datasets.formats._shape import (
    drop_empty,
    drop_parts,
    drop_tools,
    guess_mime,
    need_assistant,
    split_system,
    strip_names,
    strip_weights,
    trim_ends,
)

__all__ = [
    "read_gemini_contents",
    "read_gemini_preference",
    "write_gemini_contents",
    "write_gemini_preference",
]

_SFT_KEYS = frozenset({"contents", "systemInstruction", "system_instruction", "tools"})
_PREF_KEYS = frozenset({"contents", "systemInstruction", "system_instruction", "completions"})
_FILE_SCHEMES = ("gs://", "http://", "https://")
_CAMEL = {
    "system_instruction": "systemInstruction", "file_data": "fileData", "inline_data": "inlineData",
    "function_call": "functionCall", "function_response": "functionResponse",
    "mime_type": "mimeType", "file_uri": "fileUri", "function_declarations": "functionDeclarations",
}


def _media(mime: str) -> Any:
    top = mime.split("/", 1)[0]
    if top in ("image", "video", "audio"):
        return top
    return "document"


# ------------------------------------------------------------------------------------------ read


def _camel(obj: dict[str, Any]) -> dict[str, Any]:
    # Vertex reads records as protobuf JSON, which accepts the proto's snake_case field names too
    if not any("_" in k for k in obj):
        return obj
    return {_CAMEL.get(k, k): v for k, v in obj.items()}


def _read_part(part: Any, notes: Notes) -> Part | None:
    if not isinstance(part, dict):
        raise DropExample("not_source_format", "a part is not an object")
    part = _camel(part)
    if len(part) > 1:
        notes.loss("unknown_keys")  # thought flags, videoMetadata, or a second data field
    if isinstance(part.get("text"), str):
        return Text(part["text"])
    fd = part.get("fileData")
    if isinstance(fd, dict) and isinstance(_camel(fd).get("fileUri"), str):
        fd = _camel(fd)
        mime = fd["mimeType"] if isinstance(fd.get("mimeType"), str) else None
        return Image(fd["fileUri"], mime=mime, media=_media(mime or "image/"))
    blob = part.get("inlineData")
    if isinstance(blob, dict) and isinstance(blob.get("data"), str):
        blob = _camel(blob)
        bmime: str = blob["mimeType"] if isinstance(blob.get("mimeType"), str) else "image/jpeg"
        return Image(f"data:{bmime};base64,{blob['data']}", mime=bmime, media=_media(bmime))
    call = part.get("functionCall")
    if isinstance(call, dict) and isinstance(call.get("name"), str):
        cid = call.get("id")
        return ToolCall(cid if isinstance(cid, str) else None, call["name"],
                        args=call.get("args", {}))
    resp = part.get("functionResponse")
    if isinstance(resp, dict) and isinstance(resp.get("name"), str):
        cid = resp.get("id")
        data = resp.get("response")
        if isinstance(data, dict) and data.keys() == {"content"} and isinstance(data["content"], str):
            # our own wrapping of a non-JSON tool result (see _response): unwrap it
            return ToolResult(cid if isinstance(cid, str) else None, content=data["content"],
                              name=resp["name"])
        return ToolResult(cid if isinstance(cid, str) else None, data=data, name=resp["name"])
    notes.loss("unsupported_parts")
    return None


def _read_content(content: Any, notes: Notes) -> tuple[str, list[Part]]:
    if not isinstance(content, dict) or not isinstance(content.get("parts"), list):
        raise DropExample("not_source_format", "a content without a `parts` array")
    if content.keys() - {"role", "parts"}:
        notes.loss("unknown_keys")
    role = content.get("role") or "user"
    if role not in ("user", "model", "function"):
        raise DropExample("not_source_format", f"unknown role {role!r}")
    parts = [p for p in (_read_part(x, notes) for x in content["parts"]) if p is not None]
    return ("assistant" if role == "model" else "user"), parts


def _turns_of(contents: Any, notes: Notes) -> list[Turn]:
    if not isinstance(contents, list):
        raise DropExample("not_source_format", "`contents` is not an array")
    turns: list[Turn] = []
    for content in contents:
        role, parts = _read_content(content, notes)
        if role == "assistant":
            turns.append(Turn("assistant", parts))
            continue
        # a user turn may hold function responses (each becomes a tool turn) and text
        pending: list[Part] = []
        for p in parts:
            if isinstance(p, ToolResult):
                if pending:
                    turns.append(Turn("user", pending))
                    pending = []
                turns.append(Turn("tool", [p]))
            else:
                pending.append(p)
        if pending or not parts:
            turns.append(Turn("user", pending))
    return turns


def _pair_ids(turns: list[Turn], notes: Notes) -> None:
    """Give id-less calls ids, and pair each result with the earliest open call of its name."""
    open_calls: list[ToolCall] = []
    n = 0
    for t in turns:
        for p in t.parts:
            if isinstance(p, ToolCall):
                if p.id is None:
                    n += 1
                    p.id = f"call_{n}"
                    notes.change("tool_call_ids_generated")
                open_calls.append(p)
            elif isinstance(p, ToolResult) and p.call_id is None:
                match = next((c for c in open_calls if c.name == p.name), None)
                if match is None and open_calls:
                    match = open_calls[0]
                if match is not None:
                    open_calls.remove(match)
                    p.call_id = match.id
            elif isinstance(p, ToolResult):
                open_calls = [c for c in open_calls if c.id != p.call_id]


def _system(obj: dict[str, Any], notes: Notes) -> list[Turn]:
    system = obj.get("systemInstruction", obj.get("system_instruction"))
    if system is None:
        return []
    _, parts = _read_content({**system, "role": "user"} if isinstance(system, dict) else system,
                             notes)
    texts: list[Part] = [p for p in parts if isinstance(p, Text)]
    if len(texts) != len(parts):
        notes.loss("unsupported_parts")
    return [Turn("system", texts)]


def _read_tools(tools: Any, notes: Notes) -> list[ToolDef] | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise DropExample("not_source_format", "`tools` is not an array")
    out: list[ToolDef] = []
    for tool in tools:
        decls = None
        if isinstance(tool, dict):
            decls = tool.get("functionDeclarations", tool.get("function_declarations"))
            if tool.keys() - {"functionDeclarations", "function_declarations"}:
                notes.loss("tool_definitions")  # search, retrieval, code execution tools
        for d in decls if isinstance(decls, list) else []:
            if not isinstance(d, dict) or not isinstance(d.get("name"), str):
                notes.loss("tool_definitions")
                continue
            extra = {k: v for k, v in d.items() if k not in ("name", "description", "parameters")}
            out.append(ToolDef(d["name"], d.get("description"), d.get("parameters"), extra))
    return out


def read_gemini_contents(obj: dict[str, Any], notes: Notes) -> Example:
    if obj.keys() - _SFT_KEYS:
        notes.loss("unknown_keys")
    turns = _system(obj, notes) + _turns_of(obj.get("contents"), notes)
    _pair_ids(turns, notes)
    return Example(turns, tools=_read_tools(obj.get("tools"), notes))


def read_gemini_preference(obj: dict[str, Any], notes: Notes) -> Example:
    if obj.keys() - _PREF_KEYS:
        notes.loss("unknown_keys")
    ex = Example(_system(obj, notes) + _turns_of(obj.get("contents"), notes))
    completions = obj.get("completions")
    if not isinstance(completions, list):
        raise DropExample("no_preference_pair", "`completions` is not an array")
    for c in completions:
        if not isinstance(c, dict) or c.get("score") not in (0, 1):
            raise DropExample("no_preference_pair", "a completion without a 0/1 score")
        turns = _turns_of([c.get("completion")], notes)
        if len(turns) != 1 or turns[0].role != "assistant":
            raise DropExample("no_preference_pair", "a completion is not one model turn")
        if c["score"] == 1 and ex.preferred is None:
            ex.preferred = turns[0]
        elif c["score"] == 0 and ex.rejected is None:
            ex.rejected = turns[0]
        else:
            raise DropExample("no_preference_pair", "more than one completion with one score")
    if ex.preferred is None:
        raise DropExample("no_preference_pair", "no completion with score 1")
    return ex


# ----------------------------------------------------------------------------------------- write


def _args(call: ToolCall, notes: Notes) -> Any:
    if call.arguments is None:
        return call.args
    parsed = parse_json_object(call.arguments)
    if parsed is None:
        notes.loss("tool_call_arguments")
        return {"arguments": call.arguments}
    if dumps_json(parsed) != call.arguments:
        notes.change("json_reserialized")
    return parsed


def _response(result: ToolResult, notes: Notes) -> Any:
    if result.content is None:
        if isinstance(result.data, dict):
            return result.data
        notes.change("tool_results_wrapped")
        return {"content": result.data}
    parsed = parse_json_object(result.content)
    if parsed is None or parsed.keys() == {"content"}:
        # not a JSON object (or one that looks like our wrapping): carried as text
        notes.change("tool_results_wrapped")
        return {"content": result.content}
    if dumps_json(parsed) != result.content:
        notes.change("json_reserialized")
    return parsed


def _part(p: Part, notes: Notes) -> dict[str, Any]:
    if isinstance(p, Text):
        return {"text": p.text}
    if isinstance(p, Image):
        if p.detail is not None:
            notes.loss("image_detail")
        return {"fileData": {"mimeType": guess_mime(p), "fileUri": p.url}}
    if isinstance(p, ToolCall):
        if p.id is not None:
            notes.change("tool_call_ids_dropped")
        return {"functionCall": {"name": p.name, "args": _args(p, notes)}}
    if p.call_id is not None:
        notes.change("tool_call_ids_dropped")
    return {"functionResponse": {"name": p.name or "", "response": _response(p, notes)}}


def _file_ok(t: Turn, p: Part) -> bool:
    # Vertex tuning data takes media by reference (fileData; inline base64 is not documented),
    # in user turns only
    return not isinstance(p, Image) or (
        t.role == "user" and p.url.startswith(_FILE_SCHEMES) and guess_mime(p) is not None
    )


def _contents(turns: list[Turn], notes: Notes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    prev_tool = False
    for t in turns:
        parts = [_part(p, notes) for p in t.parts]
        if prev_tool and t.role in ("tool", "user"):
            # the results of one round of calls, and any user text after them, travel in the one
            # user turn that follows the call (the reader splits them apart again)
            out[-1]["parts"].extend(parts)
        else:
            out.append({"role": "model" if t.role == "assistant" else "user", "parts": parts})
        prev_tool = t.role == "tool"
    return out


def _prepare(ex: Example, notes: Notes, *, multimodal: bool, tools: bool,
             ) -> tuple[Turn | None, list[Turn], list[Turn]]:
    system, turns = split_system(ex.turns, notes)
    outputs = [t for t in (ex.preferred, ex.rejected) if t is not None]
    every = turns + outputs
    strip_weights(every, notes)
    strip_names(every + ([system] if system is not None else []), notes)
    if ex.parallel_tool_calls is not None:
        notes.loss("parallel_tool_calls")
    if not tools:
        drop_tools(ex, every, notes)
    if multimodal:
        drop_parts(every, _file_ok, notes, "images")
    else:
        drop_parts(every, lambda _t, p: not isinstance(p, Image) or p.media != "image", notes,
                   "images")
        drop_parts(every, lambda _t, p: not isinstance(p, Image), notes, "other_media")
    # Vertex requires the first turn to be the user's
    return system, trim_ends(drop_empty(turns), notes, first_user=True, last_assistant=False), outputs


def _system_content(system: Turn | None) -> dict[str, Any] | None:
    if system is None:
        return None
    return {"parts": [{"text": p.text} for p in system.parts if isinstance(p, Text)]}


def _declarations(ex: Example, notes: Notes) -> list[dict[str, Any]]:
    decls = []
    for d in ex.tools or []:
        decl: dict[str, Any] = {"name": d.name}
        if d.description is not None:
            decl["description"] = d.description
        if d.parameters is not None:
            decl["parameters"] = d.parameters
        if d.extra:
            notes.loss("tool_definition_fields")
        decls.append(decl)
    return [{"functionDeclarations": decls}]


def write_gemini_contents(ex: Example, notes: Notes) -> dict[str, Any]:
    system, turns, _ = _prepare(ex, notes, multimodal=True, tools=True)
    need_assistant(turns)
    rec: dict[str, Any] = {}
    sc = _system_content(system)
    if sc is not None:
        rec["systemInstruction"] = sc
    rec["contents"] = _contents(turns, notes)
    if ex.tools:
        rec["tools"] = _declarations(ex, notes)
    return rec


def write_gemini_preference(ex: Example, notes: Notes) -> dict[str, Any]:
    if ex.preferred is None or ex.rejected is None:
        raise DropExample("no_preference_pair")
    system, turns, outputs = _prepare(ex, notes, multimodal=False, tools=False)
    if not turns:
        raise DropExample("no_user_turn")
    if any(not t.parts for t in outputs):
        raise DropExample("no_preference_pair", "a preference output has no text left")
    rec: dict[str, Any] = {}
    sc = _system_content(system)
    if sc is not None:
        rec["system_instruction"] = sc
    rec["contents"] = _contents(turns, notes)
    rec["completions"] = [
        {"score": 1, "completion": _contents([ex.preferred], notes)[0]},
        {"score": 0, "completion": _contents([ex.rejected], notes)[0]},
    ]
    return rec
