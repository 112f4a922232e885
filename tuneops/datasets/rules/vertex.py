"""Vertex AI Gemini tuning data: supervised (``contents``) and preference (``completions``).

Sources (verified 2026-11-28):
- https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare (record
  shape: `contents` of user/model turns, optional `systemInstruction`, text and fileData parts)
- https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning (131,072 tokens
  per example for Gemini 2.5; 1 GB JSONL; 1M text-only or 300K multimodal examples)
- https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune-function-calling (functionCall in
  model turns, functionResponse in the next user turn, `tools[].functionDeclarations`)
- https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune_gemini/image_tune and .../doc_tune
  (fileUri is gs:// or a public http(s) URL; at most 30 images and 4 PDFs per example)
- https://cloud.google.com/vertex-ai/docs/reference/rest/v1/Content (a Part holds exactly one kind of
  data; role is "user" or "model"; FunctionDeclaration name rules)
- https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-preference-tuning-prepare and
  .../gemini-preference-tuning (text-only `contents` ending with a user turn, plus two `completions`
  scored 1 and 0; 131,072 tokens, 1 GB, 10M examples)
- https://ai.google.dev/gemma/docs/core/prompt-structure (the tokenizer family's turn control tokens)

Vertex reads records as protobuf JSON, which accepts the lowerCamelCase and the proto's snake_case
field names alike (`systemInstruction` / `system_instruction`, `fileData` / `file_data`); the docs use
both, so the full check does too, and the fast path knows the spellings of the docs' examples. Int64
and Duration fields (e.g. videoMetadata offsets) are strings in proto JSON and are not checked.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import msgspec

from tuneops.datasets.rules.base import Ctx, Limits, RulePack, describe_type

__all__ = ["GEMINI_TOKEN_LIMITS", "VERTEX_PREFERENCE_RULES", "VERTEX_SFT_RULES", "VertexPreference",
           "VertexSFT"]

_UNSET = msgspec.UNSET
_NO: Any = object()  # an absent field
_SNAKE = {"systemInstruction": "system_instruction", "fileData": "file_data", "inlineData": "inline_data",
          "functionCall": "function_call", "functionResponse": "function_response", "mimeType": "mime_type",
          "fileUri": "file_uri", "functionDeclarations": "function_declarations",
          "videoMetadata": "video_metadata", "thoughtSignature": "thought_signature"}
_CAMEL = {v: k for k, v in _SNAKE.items()}
_DATA = ("text", "fileData", "inlineData", "functionCall", "functionResponse")
_RESERVED_RE = re.compile("<start_of_turn>|<end_of_turn>")
_MIME = re.compile(r"[a-z]+/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")
_URI = re.compile(r"gs://[^/\s]+/\S+|https?://[^/\s]+\S*")
# The most permissive of the documented FunctionDeclaration name rules (64 or 128 characters).
_DECL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,127}")
_FILE_CAPS = (("image/", 30, "images"), ("application/pdf", 4, "PDFs"))
_ROLE_HINTS = {"assistant": " (Gemini calls it \"model\")", "system": " (use systemInstruction)",
               "function": " (function responses go in a user turn)", "tool": " (function responses go"
               " in a user turn)"}
# Input + output tokens per example: Gemini 2.5 Pro, Flash and Flash-Lite, supervised and preference.
GEMINI_TOKEN_LIMITS = {"gemini-2.5": 131_072}

_COMMON_RULES = {
    "example.unknown_key": "a top-level key Vertex does not accept",
    "system_instruction.invalid": "a system instruction that is not {parts: [{text}, ...]}",
    "contents.invalid": "`contents` missing, not an array, or empty",
    "content.invalid": "a turn that is not an object of role and parts",
    "role.invalid": "a turn without a role, or with a role other than user or model",
    "role.order": "the first turn is not a user turn, or two turns in a row share a role (warnings)",
    "parts.invalid": "`parts` missing or not an array",
    "parts.empty": "a turn with no non-blank part",
    "part.invalid": "a part that is not an object holding exactly one kind of data",
    "text.type": "`text` that is not a string",
    "text.empty": "a blank text part",
    "text.reserved_token": "a turn control token of the Gemini/Gemma tokenizer inside text",
}
VERTEX_SFT_RULES: dict[str, str] = {
    **_COMMON_RULES,
    "file.invalid": "fileData without an IANA mimeType and a gs:// or http(s) fileUri",
    "file.role": "a file in a model turn",
    "file.too_many": "more images or PDFs in one example than Vertex accepts",
    "inline_data.discouraged": "inlineData, which the tuning docs do not describe",
    "function_call.invalid": "a functionCall without a name, or with args that are not an object",
    "function_call.role": "a functionCall outside a model turn",
    "function_call.unknown_function": "a call to a function not declared in `tools`",
    "function_call.unanswered": "a model function call followed by a user turn with no response",
    "function_response.invalid": "a functionResponse without a name or a `response` object",
    "function_response.role": "a functionResponse outside a user turn",
    "function_response.unmatched": "responses that do not answer the calls of the model turn before",
    "tools.invalid": "`tools` that is not an array of valid function declarations",
    "model.missing": "no model turn to learn from",
    "example.trailing_user": "user turns after the last model turn, which are not trained on",
}
VERTEX_PREFERENCE_RULES: dict[str, str] = {
    **_COMMON_RULES,
    "part.not_text": "a non-text part (preference tuning is text only)",
    "contents.last_role": "`contents` that does not end with a user turn",
    "completions.invalid": "`completions` that is not two {score, completion} objects",
    "completions.score": "a score other than 0 or 1, or a pair without one of each",
    "completions.identical": "two identical completions",
}


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _a(value: Any) -> str:
    """JSON type of a value with its article: "an array", "a string", "null"."""
    kind = describe_type(value)
    return kind if kind == "null" else f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _get(obj: dict[str, Any], name: str) -> tuple[str, Any]:
    """(key as spelled in the record, value) of a proto field in either spelling; _NO if absent."""
    snake = _SNAKE.get(name, name)
    return (name, obj[name]) if name in obj else (snake, obj[snake]) if snake in obj else (name, _NO)


@dataclass(slots=True)
class _Turn:
    path: str
    role: str = ""  # "" when missing or invalid
    content: bool = False  # any part that is not blank text
    calls: list[str] = field(default_factory=list)
    responses: list[tuple[str, str]] = field(default_factory=list)  # (name, path)


class _Walk:
    """One record's walk: the findings, what the pack accepts, and per-example file counts."""

    def __init__(self, ctx: Ctx, *, text_only: bool, declared: set[str] | None = None) -> None:
        self.ctx, self.text_only, self.declared = ctx, text_only, declared
        self.files = [0] * len(_FILE_CAPS)

    def text(self, value: Any, path: str) -> bool:
        """Check a text value; True unless it is blank."""
        if not isinstance(value, str):
            self.ctx.error(path, "text.type", f"`text` is {_a(value)}, not a string")
        elif not value.strip():
            self.ctx.warn(path, "text.empty", "blank text part: remove it or fill it in")
            return False
        elif (m := _RESERVED_RE.search(value)) is not None:
            self.ctx.warn(path, "text.reserved_token", f"contains {m.group()!r}, a turn control token of"
                          " the Gemini/Gemma tokenizer, which can confuse training: rewrite it")
        return True

    def system(self, obj: dict[str, Any]) -> None:
        rule = "system_instruction.invalid"
        if "systemInstruction" in obj and "system_instruction" in obj:
            self.ctx.error("system_instruction", rule, "both systemInstruction and system_instruction"
                           " are set: keep one")
        key, si = _get(obj, "systemInstruction")
        if si is _NO:
            return
        parts = si.get("parts") if isinstance(si, dict) else None
        if not isinstance(parts, list) or not parts or set(si) - {"parts", "role"}:
            self.ctx.error(key, rule, f"`{key}` must be {{\"parts\": [{{\"text\": \"...\"}}]}} (an"
                           " optional `role` is ignored)")
            return
        for j, part in enumerate(parts):
            if isinstance(part, dict) and list(part) == ["text"]:
                self.text(part["text"], f"{key}.parts[{j}].text")
            else:
                self.ctx.error(f"{key}.parts[{j}]", rule, "system instruction parts must be"
                               " {\"text\": \"...\"}: files and function data go in `contents`")

    def turn(self, c: Any, path: str, roles: tuple[str, ...]) -> _Turn:
        ctx, t = self.ctx, _Turn(path)
        if not isinstance(c, dict):
            ctx.error(path, "content.invalid", f"turn is {_a(c)}, not an object like"
                      " {\"role\": \"user\", \"parts\": [{\"text\": \"...\"}]}")
            return t
        for k in [k for k in c if k not in ("role", "parts")]:
            ctx.error(f"{path}.{k}", "content.invalid", f"unknown turn key {k!r}"
                      f"{_did_you_mean(k, ('role', 'parts'))}: a turn has `role` and `parts`")
        role = c.get("role")
        if role in roles:
            t.role = role
        elif role is None:
            ctx.error(f"{path}.role", "role.invalid", "turn has no `role`: set " + " or ".join(roles))
        else:
            ctx.error(f"{path}.role", "role.invalid", f"role {role!r} is not accepted here"
                      f"{_ROLE_HINTS.get(str(role), '')}: use " + " or ".join(roles))
        parts = c.get("parts")
        if not isinstance(parts, list):
            shown = _a(parts) if "parts" in c else "missing"
            ctx.error(f"{path}.parts", "parts.invalid", f"`parts` is {shown}: give an array such as"
                      " [{\"text\": \"...\"}]")
            return t
        for j, part in enumerate(parts):
            self.part(part, f"{path}.parts[{j}]", t)
        if not t.content:
            ctx.error(f"{path}.parts", "parts.empty", "the turn has no content: give a non-blank part")
        return t

    def part(self, part: Any, path: str, t: _Turn) -> None:
        ctx = self.ctx
        data = []
        for key, value in (part if isinstance(part, dict) else {}).items():
            canon = _CAMEL.get(key) or key
            if canon in _DATA:
                data.append((key, canon, value))
            elif canon in ("thought", "thoughtSignature"):
                ctx.warn(f"{path}.{key}", "part.invalid", f"{key!r} is not trained on: remove it")
            elif canon != "videoMetadata":
                ctx.error(f"{path}.{key}", "part.invalid", f"unknown part key {key!r}"
                          f"{_did_you_mean(canon, _DATA)}: a part holds one of " + ", ".join(_DATA))
        if len(data) != 1:
            t.content = True
            what = (f"is {_a(part)}" if not isinstance(part, dict) else "has "
                    + (" and ".join(f"`{k}`" for k, _, _ in data) or "no data"))
            ctx.error(path, "part.invalid", f"part {what}: each part is an object holding exactly one"
                      " of text, fileData, functionCall or functionResponse; split it")
            return
        key, canon, value = data[0]
        p = f"{path}.{key}"
        if canon == "text":
            t.content = self.text(value, p) or t.content
            return
        t.content = True
        if self.text_only:
            ctx.error(p, "part.not_text", f"`{key}` in preference data: preference tuning is text only")
        elif canon == "fileData":
            self.file(value, p, t)
        elif canon == "inlineData":
            ctx.warn(p, "inline_data.discouraged", "inline data is not described for tuning datasets:"
                     " upload the file to Cloud Storage and reference it with fileData")
        else:
            call = canon == "functionCall"
            self.function(value, p, t, "function_call" if call else "function_response", call)

    def file(self, fd: Any, p: str, t: _Turn) -> None:
        shape = isinstance(fd, dict)
        mk, mime = _get(fd, "mimeType") if shape else ("", None)
        uk, uri = _get(fd, "fileUri") if shape else ("", None)
        if not shape or set(fd) - {mk, uk} or not isinstance(mime, str) or not _MIME.fullmatch(mime):
            where = f"{p}.{mk}" if shape and not set(fd) - {mk, uk} else p
            self.ctx.error(where, "file.invalid", "fileData is {\"mimeType\": an IANA type such as"
                           " image/jpeg or application/pdf, \"fileUri\": ...}, nothing else")
        else:
            for i, (prefix, _, _) in enumerate(_FILE_CAPS):
                self.files[i] += mime.startswith(prefix)
        if shape and (not isinstance(uri, str) or not _URI.fullmatch(uri)):
            self.ctx.error(f"{p}.{uk}", "file.invalid", "fileUri must be a Cloud Storage URI"
                           " (gs://bucket/path) or a public http(s) URL")
        if t.role == "model":
            self.ctx.error(p, "file.role", "files are accepted only in user turns: move it to one")

    def function(self, fn: Any, p: str, t: _Turn, rule: str, call: bool) -> None:
        ctx, what = self.ctx, "functionCall" if call else "functionResponse"
        name = fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(name, str) or not name:
            ctx.error(p, f"{rule}.invalid", f"{what} needs the string `name` of the function")
            return
        payload = "args" if call else "response"
        if not isinstance(fn.get(payload, {} if call else None), dict):
            ctx.error(f"{p}.{payload}", f"{rule}.invalid", f"`{payload}` must be a JSON object"
                      + (", not an encoded string" if call else ", e.g. {\"output\": ...}"))
        for k in [k for k in fn if k not in ("name", payload, "id")]:
            ctx.error(f"{p}.{k}", f"{rule}.invalid", f"unknown {what} key {k!r}")
        if t.role == ("user" if call else "model"):
            ctx.error(p, f"{rule}.role", "function calls belong in model turns" if call else
                      "function responses belong in the user turn right after the model's call")
        if call and self.declared is not None and name not in self.declared:
            ctx.warn(f"{p}.name", "function_call.unknown_function", f"function {name!r} is not declared"
                     f" in `tools`{_did_you_mean(name, self.declared)}: declare it or fix the name")
        if call:
            t.calls.append(name)
        else:
            t.responses.append((name, p))

    def contents(self, obj: dict[str, Any]) -> list[_Turn]:
        ctx, contents = self.ctx, obj.get("contents", _NO)
        if not isinstance(contents, list) or not contents:
            shown = "missing" if contents is _NO else "empty" if contents == [] else _a(contents)
            ctx.error("contents", "contents.invalid", f"`contents` is {shown}: give an array of turns,"
                      " {\"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": \"...\"}]}, ...]}")
            return []
        turns = [self.turn(c, f"contents[{i}]", ("user", "model")) for i, c in enumerate(contents)]
        first = next((t for t in turns if t.role), None)
        if first is not None and first.role != "user":  # every documented example starts with the user
            ctx.warn(f"{first.path}.role", "role.order", "the conversation starts with a model turn:"
                     " Gemini conversations start with the user; add the user turn it answers")
        for a, b in itertools.pairwise(turns):
            if a.role and a.role == b.role:
                ctx.warn(f"{b.path}.role", "role.order", f"two {a.role} turns in a row: merge them or"
                         " add the missing turn between them (user and model alternate)")
        # function responses answer the calls of the model turn right before them
        for prev, t in itertools.pairwise([_Turn(""), *turns]):
            calls = list(prev.calls) if prev.role == "model" else []
            if not t.responses and calls and t.role == "user":
                ctx.warn(t.path, "function_call.unanswered", f"the model turn before calls"
                         f" {', '.join(calls)} but this user turn has no functionResponse")
            for name, p in t.responses:
                if name in calls:
                    calls.remove(name)
                else:
                    ctx.error(p, "function_response.unmatched", f"response to {name!r} answers no call"
                              " of the model turn right before it")
            if t.responses and calls:
                ctx.error(t.path, "function_response.unmatched", f"no response to {', '.join(calls)}:"
                          " answer every call of the model turn before")
        return turns


def _check_top(obj: dict[str, Any], ctx: Ctx, allowed: tuple[str, ...]) -> None:
    for key in [k for k in obj if k not in allowed]:
        ctx.error(key, "example.unknown_key", f"unknown top-level key {key!r}{_did_you_mean(key, allowed)}:"
                  " accepted keys are " + ", ".join(allowed))


def _tool_names(tools: Any) -> set[str] | tuple[str, str]:
    """Declared function names, or (path, message) of the first problem (shared by both paths)."""
    if not isinstance(tools, list):
        return "tools", f"`tools` is {_a(tools)}: give [{{\"functionDeclarations\": [...]}}]"
    names: set[str] = set()
    for i, tool in enumerate(tools):
        key, decls = _get(tool, "functionDeclarations") if isinstance(tool, dict) else ("", None)
        if not isinstance(decls, list) or len(tool) != 1:
            return f"tools[{i}]", "a tool must be {\"functionDeclarations\": [...]} in tuning data"
        for j, d in enumerate(decls):
            name = d.get("name") if isinstance(d, dict) else None
            if not isinstance(name, str) or not _DECL_NAME.fullmatch(name):
                return (f"tools[{i}].{key}[{j}]", f"function name {name!r} must start with a letter or _,"
                        " then letters, digits, _ . : or - (at most 128)")
            if not isinstance(d.get("parameters", {}), dict):
                return f"tools[{i}].{key}[{j}].parameters", "`parameters` must be an OpenAPI schema object"
            names.add(name)
    return names


# ---------------------------------------------------------------------------------------- fast path
class _FFile(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    mime_type: str
    file_uri: str


class _FCall(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    args: dict[str, Any] | msgspec.UnsetType = _UNSET


class _FResponse(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    response: dict[str, Any]


class _FPart(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    text: str | msgspec.UnsetType = _UNSET
    file_data: _FFile | msgspec.UnsetType = _UNSET
    function_call: _FCall | msgspec.UnsetType = _UNSET
    function_response: _FResponse | msgspec.UnsetType = _UNSET


class _FContent(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["user", "model"]
    parts: list[_FPart]


class _FText(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class _FSystem(msgspec.Struct, forbid_unknown_fields=True):
    parts: list[_FText]
    role: str | msgspec.UnsetType = _UNSET


class _FSFT(msgspec.Struct, forbid_unknown_fields=True):
    contents: list[_FContent]
    systemInstruction: _FSystem | msgspec.UnsetType = _UNSET
    system_instruction: _FSystem | msgspec.UnsetType = _UNSET
    tools: list[dict[str, Any]] | msgspec.UnsetType = _UNSET


class _FTextContent(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["user", "model"]
    parts: list[_FText]


class _FCompletion(msgspec.Struct, forbid_unknown_fields=True):
    score: Literal[0, 1]
    completion: _FTextContent


class _FPreference(msgspec.Struct, forbid_unknown_fields=True):
    contents: list[_FTextContent]
    completions: list[_FCompletion]
    systemInstruction: _FSystem | msgspec.UnsetType = _UNSET
    system_instruction: _FSystem | msgspec.UnsetType = _UNSET


def _fast_text_ok(text: str) -> bool:
    return bool(text) and not text.isspace() and ("<" not in text or not _RESERVED_RE.search(text))


def _fast_common_ok(rec: Any, last: str) -> bool:
    """System instruction and contents: turns alternate from user to `last`, texts clean."""
    a, b, turns = rec.systemInstruction, rec.system_instruction, rec.contents
    si = a if b is _UNSET else b
    if (a is not _UNSET and b is not _UNSET) or not turns or turns[0].role != "user":
        return False
    if si is not _UNSET and not (si.parts and all(_fast_text_ok(p.text) for p in si.parts)):
        return False
    return turns[-1].role == last and all(x.role != y.role for x, y in itertools.pairwise(turns))


class VertexSFT(RulePack):
    provider = "vertex"
    method = "sft"
    title = "Vertex AI Gemini supervised tuning"
    record_format = "gemini-contents"
    verified = "2026-11-28"
    sources = (
        "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare",
        "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning",
        "https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune-function-calling",
        "https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune_gemini/image_tune",
        "https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune_gemini/doc_tune",
        "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/Content",
        "https://ai.google.dev/gemma/docs/core/prompt-structure",
    )
    rules: ClassVar[dict[str, str]] = VERTEX_SFT_RULES
    limits = Limits(max_examples=1_000_000, max_file_bytes=1 << 30)  # "1 GB": read as GiB, the lenient way
    model_token_limits = GEMINI_TOKEN_LIMITS
    fast_type = _FSFT
    notes = ("Multimodal datasets are capped at 300,000 examples (text-only: 1,000,000).",
             "Google recommends starting with 100 examples; no hard minimum is documented.")

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        _check_top(obj, ctx, ("contents", "systemInstruction", "system_instruction", "tools"))
        declared = _tool_names(obj["tools"]) if "tools" in obj else None
        if isinstance(declared, tuple):
            ctx.error(declared[0], "tools.invalid", declared[1])
        w = _Walk(ctx, text_only=False, declared=None if isinstance(declared, tuple) else declared)
        w.system(obj)
        turns = w.contents(obj)
        if any(t.role for t in turns) and not any(t.role == "model" for t in turns):
            ctx.error("contents", "model.missing", "no model turn: the model learns from model turns, so"
                      " every example needs at least one")
        elif turns and turns[-1].role == "user":
            ctx.warn(turns[-1].path, "example.trailing_user", "the example ends with a user turn after the"
                     " last model turn; it is not trained on: remove it")
        for count, (_, cap, what) in zip(w.files, _FILE_CAPS, strict=True):
            if count > cap:
                ctx.error("contents", "file.too_many", f"{count} {what} in one example; Vertex accepts"
                          f" at most {cap}: split the example")

    def fast_ok(self, rec: Any, raw: bytes) -> bool:
        declared = None if rec.tools is _UNSET else _tool_names(rec.tools)
        if isinstance(declared, tuple) or not _fast_common_ok(rec, "model"):
            return False
        files = [0] * len(_FILE_CAPS)
        calls: list[str] = []
        for c in rec.contents:
            model, answered = c.role == "model", []
            if not c.parts:
                return False
            for p in c.parts:
                if (p.text is not _UNSET) + (p.file_data is not _UNSET) + (
                        p.function_call is not _UNSET) + (p.function_response is not _UNSET) != 1:
                    return False
                if p.text is not _UNSET and not _fast_text_ok(p.text):
                    return False
                if (f := p.file_data) is not _UNSET:
                    if model or not _MIME.fullmatch(f.mime_type) or not _URI.fullmatch(f.file_uri):
                        return False
                    for i, (prefix, _, _) in enumerate(_FILE_CAPS):
                        files[i] += f.mime_type.startswith(prefix)
                if (fc := p.function_call) is not _UNSET and (
                        not model or not fc.name or (declared is not None and fc.name not in declared)):
                    return False
                if p.function_response is not _UNSET:
                    if model:
                        return False
                    answered.append(p.function_response.name)
            if model:
                calls = [p.function_call.name for p in c.parts if p.function_call is not _UNSET]
            elif sorted(answered) != sorted(calls):
                return False
        return all(n <= cap for n, (_, cap, _) in zip(files, _FILE_CAPS, strict=True))

    def fast_free_values(self, rec: Any) -> list[tuple[Any, int]]:
        # depth: record 1, contents 2, turn 3, parts 4, part 5, functionCall 6, args 7
        out: list[tuple[Any, int]] = [] if rec.tools is _UNSET else [(rec.tools, 1)]
        for p in (p for c in rec.contents for p in c.parts):
            if p.function_call is not _UNSET and p.function_call.args is not _UNSET:
                out.append((p.function_call.args, 6))
            if p.function_response is not _UNSET:
                out.append((p.function_response.response, 6))
        return out


class VertexPreference(RulePack):
    provider = "vertex"
    method = "dpo"
    title = "Vertex AI Gemini preference tuning"
    record_format = "gemini-preference"
    verified = "2026-11-28"
    sources = (
        "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-preference-tuning-prepare",
        "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-preference-tuning",
        "https://ai.google.dev/gemma/docs/core/prompt-structure",
    )
    rules: ClassVar[dict[str, str]] = VERTEX_PREFERENCE_RULES
    limits = Limits(max_examples=10_000_000, max_file_bytes=1 << 30)
    model_token_limits = GEMINI_TOKEN_LIMITS
    fast_type = _FPreference
    notes = ("Google recommends supervised tuning on the preferred answers before preference tuning.",)

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        _check_top(obj, ctx, ("contents", "completions", "system_instruction", "systemInstruction"))
        w = _Walk(ctx, text_only=True)
        w.system(obj)
        turns = w.contents(obj)
        if turns and turns[-1].role == "model":
            ctx.error(f"{turns[-1].path}.role", "contents.last_role", "`contents` must end with the user"
                      " turn that the completions answer")
        comps = obj.get("completions", _NO)
        if not isinstance(comps, list) or len(comps) != 2:
            shown = f"an array of {len(comps)}" if isinstance(comps, list) else (
                "missing" if comps is _NO else _a(comps))
            ctx.error("completions", "completions.invalid", f"`completions` is {shown}: give exactly two,"
                      " {\"score\": 1, \"completion\": {...}} and one with score 0")
            return
        scores, bodies = [], []
        for i, item in enumerate(comps):
            p = f"completions[{i}]"
            if not isinstance(item, dict) or "completion" not in item or set(item) - {"score", "completion"}:
                ctx.error(p, "completions.invalid", "a completion is exactly {\"score\": 0 or 1,"
                          " \"completion\": {\"role\": \"model\", \"parts\": [...]}}")
                continue
            score = item.get("score")
            if isinstance(score, bool) or score not in (0, 1):
                ctx.error(f"{p}.score", "completions.score", f"score is {score!r}: use 1 for the preferred"
                          " completion and 0 for the dispreferred one")
            else:
                scores.append(score)
            w.turn(item["completion"], f"{p}.completion", ("model",))
            bodies.append(item["completion"])
        if len(scores) == 2 and sorted(scores) != [0, 1]:
            ctx.error("completions", "completions.score", f"both completions score {scores[0]}: the pair"
                      " needs one preferred (1) and one dispreferred (0)")
        if len(bodies) == 2 and bodies[0] == bodies[1]:
            ctx.warn("completions", "completions.identical", "the two completions are identical: the"
                     " pair teaches nothing; drop it or fix one side")

    def fast_ok(self, rec: Any, raw: bytes) -> bool:
        comps = rec.completions
        if not _fast_common_ok(rec, "user") or len(comps) != 2 or comps[0].score == comps[1].score:
            return False
        outs = [c.completion for c in comps]
        if outs[0] == outs[1] or any(o.role != "model" for o in outs):
            return False
        return all(t.parts and all(_fast_text_ok(p.text) for p in t.parts) for t in [*rec.contents, *outs])
