"""Rules for OpenAI-style chat records (``{"messages": [...], "tools": [...]}``).

OpenAI, Together, Fireworks and Mistral all take this shape with small differences (which roles,
whether `weight` or images are allowed, role order, tool-call id format). `ChatSpec` states the
differences; `check_chat` is the full check and `fast_chat_ok` the fast path over msgspec Structs
built for the same spec by `fast_types`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

import msgspec
import orjson

from tuneops.datasets.findings import Severity
from tuneops.datasets.rules.base import Ctx, describe_type

__all__ = [
    "ALL_WEIGHT_ZERO_MESSAGE",
    "CHAT_RULES",
    "WEIGHT_ZERO",
    "ChatSpec",
    "check_chat",
    "check_messages",
    "check_tools",
    "fast_chat_ok",
    "fast_chat_result",
    "fast_messages_ok",
    "fast_tools_declared",
    "fast_types",
]

# Rule ids (without the pack prefix) this module can report, and what each checks.
CHAT_RULES: dict[str, str] = {
    "example.unknown_key": "a top-level key the vendor does not accept",
    "messages.missing": "no `messages` array",
    "messages.type": "`messages` is not an array",
    "messages.empty": "`messages` is an empty array",
    "message.type": "a message is not an object",
    "message.unknown_key": "a message key the vendor does not accept",
    "role.missing": "a message without `role`",
    "role.unknown": "a role the vendor does not accept",
    "role.order": "roles out of the order the vendor requires",
    "content.missing": "a message without content (assistant messages may carry tool calls instead)",
    "content.type": "content of the wrong type",
    "content.empty": "empty or whitespace-only content",
    "content.part": "a malformed content part (list-of-parts content)",
    "image.not_allowed": "an image part where the vendor or role does not accept images",
    "image.url": "an image part whose url is not an http(s) or base64 data URL",
    "name.type": "`name` that is not a non-empty string",
    "weight.invalid": "`weight` other than 0 or 1",
    "weight.not_assistant": "`weight` on a message that is not from the assistant",
    "assistant.missing": "no assistant message to learn from",
    "assistant.all_weight_zero": "every assistant message has weight 0: nothing to learn",
    "example.trailing_non_assistant": "messages after the last assistant turn are not trained on",
    "tool_calls.type": "`tool_calls` is not a non-empty array, or is on a non-assistant message",
    "tool_call.id": "a tool call without a string `id`, or with an id of the wrong format",
    "tool_call.duplicate_id": "two tool calls of one example share an id",
    "tool_call.type": "a tool call whose `type` is not \"function\"",
    "tool_call.function": "a tool call without `function.name`",
    "tool_call.arguments_type": "tool call arguments that are not a JSON string",
    "tool_call.arguments_json": "tool call arguments that do not parse as a JSON object",
    "tool_call.unknown_function": "a call to a function not declared in `tools`",
    "tool_result.id": "a tool message without `tool_call_id`",
    "tool_result.unmatched": "a tool message whose `tool_call_id` matches no earlier tool call",
    "tools.type": "`tools` is not an array of function definitions",
    "tools.function": "a tool definition without a valid function name or parameters object",
    "tools.not_allowed": "tool calling data where the vendor does not accept it",
    "parallel_tool_calls.type": "`parallel_tool_calls` that is not a boolean",
    "content.reserved_token": "a special token of the model family inside content",
}

_FUNC_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ALL_WEIGHT_ZERO_MESSAGE = ("every assistant message has weight 0: nothing to learn; set weight 1 on"
                           " at least one")
# What `fast_messages_ok(..., weight_zero_ok=True)` returns for a record whose only finding is
# the all-weight-zero warning: the engine can report it without the full check.
WEIGHT_ZERO = "weight_zero"
_UNSET = msgspec.UNSET


@dataclass(frozen=True, slots=True)
class ChatSpec:
    """What one vendor accepts in OpenAI-style chat."""

    roles: tuple[str, ...] = ("system", "user", "assistant")
    top_keys: tuple[str, ...] = ("messages",)
    allow_weight: bool = False
    allow_tools: bool = False
    allow_images: bool = False
    allow_name: bool = False
    # order: "free" (any), "system_first" (system only at index 0),
    # "alternate" (optional system, then user/assistant strictly alternating, starting with user)
    order: Literal["free", "system_first", "alternate"] = "free"
    # what to say when the last message is not the assistant's: None, "warning" or "error"
    trailing: Severity | None = "warning"
    tool_call_id: re.Pattern[str] | None = None
    tool_call_id_help: str = ""
    reserved_tokens: tuple[str, ...] = ()
    reserved_severity: Severity = "warning"
    # the assistant message may omit content when it has tool calls
    tool_role: str = "tool"
    first_roles: tuple[str, ...] = ()  # roles the first message may have (empty: any)

    # a character every reserved token contains: content without it needs no closer look
    reserved_marker: str | None = field(init=False, default=None)
    # the fast message check specialised for this spec (see `_make_fast_messages`)
    fast_messages: Callable[..., bool | str] = field(
        init=False, default=None, repr=False, compare=False, hash=False  # type: ignore[assignment]
    )

    def __post_init__(self) -> None:
        marker = None
        if self.reserved_tokens:
            common = set(self.reserved_tokens[0]).intersection(*self.reserved_tokens[1:])
            marker = next((ch for ch in "|[<>]" if ch in common), None)
            if marker is None:
                marker = min(common) if common else ""
        object.__setattr__(self, "reserved_marker", marker)
        object.__setattr__(self, "fast_messages", _make_fast_messages(self))

    @property
    def message_keys(self) -> frozenset[str]:
        keys = {"role", "content"}
        if self.allow_weight:
            keys.add("weight")
        if self.allow_tools:
            keys |= {"tool_calls", "tool_call_id"}
        if self.allow_name:
            keys.add("name")
        return frozenset(keys)


def _suggest(word: str, choices: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_text(text: str, path: str, ctx: Ctx, spec: ChatSpec) -> None:
    for tok in spec.reserved_tokens:
        if tok in text:
            ctx.add(
                spec.reserved_severity, path, "content.reserved_token",
                f"contains the special token {tok!r}, which the model family reserves: the vendor"
                " may reject it or it may confuse training; remove or rewrite it",
            )
            return


def _check_parts(parts: list[Any], path: str, role: str, ctx: Ctx, spec: ChatSpec) -> bool:
    """Check list-of-parts content. Returns True if any text is present."""
    has_text = False
    if not parts:
        ctx.error(path, "content.empty", "content is an empty array: give at least one text part")
        return False
    for j, part in enumerate(parts):
        p = f"{path}[{j}]"
        if not isinstance(part, dict):
            ctx.error(p, "content.part", f"content part is a {describe_type(part)}, not an object")
            continue
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                ctx.error(f"{p}.text", "content.part", "text part needs a string `text`")
            else:
                has_text = has_text or bool(text.strip())
                _check_text(text, f"{p}.text", ctx, spec)
        elif kind == "image_url":
            if not spec.allow_images:
                ctx.error(p, "image.not_allowed", "this vendor does not accept images in"
                          " training data: remove the image part or convert the example")
                continue
            if role != "user":
                ctx.error(p, "image.not_allowed", f"images are accepted only in user messages, not"
                          f" {role}: move the image to a user message")
                continue
            img = part.get("image_url")
            url = img.get("url") if isinstance(img, dict) else None
            if not isinstance(url, str) or not url.startswith(("http://", "https://", "data:image/")):
                ctx.error(f"{p}.image_url", "image.url", "image part needs `image_url.url`, an"
                          " http(s) URL or a data:image/...;base64 URL")
        else:
            ctx.error(f"{p}.type", "content.part", f"unknown content part type {kind!r}: use"
                      " \"text\"" + (" or \"image_url\"" if spec.allow_images else ""))
    return has_text


def _check_tool_calls(
    calls: Any, path: str, ctx: Ctx, spec: ChatSpec, call_ids: set[str], declared: set[str] | None
) -> None:
    if not isinstance(calls, list) or not calls:
        ctx.error(path, "tool_calls.type", "`tool_calls` must be a non-empty array of tool calls")
        return
    for k, call in enumerate(calls):
        p = f"{path}[{k}]"
        if not isinstance(call, dict):
            ctx.error(p, "tool_calls.type", f"tool call is a {describe_type(call)}, not an object")
            continue
        cid = call.get("id")
        if not isinstance(cid, str) or not cid:
            ctx.error(f"{p}.id", "tool_call.id", "tool call needs a string `id` so that the tool"
                      " result can refer to it")
        else:
            if spec.tool_call_id is not None and not spec.tool_call_id.fullmatch(cid):
                ctx.error(f"{p}.id", "tool_call.id", f"tool call id {cid!r} {spec.tool_call_id_help}")
            if cid in call_ids:
                ctx.error(f"{p}.id", "tool_call.duplicate_id", f"tool call id {cid!r} is used twice"
                          " in this example: ids must be unique")
            call_ids.add(cid)
        if call.get("type", "function") != "function":
            ctx.error(f"{p}.type", "tool_call.type", f"tool call type {call.get('type')!r}: only"
                      " \"function\" is accepted")
        fn = call.get("function")
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            ctx.error(f"{p}.function", "tool_call.function", "tool call needs `function` with a"
                      " string `name` and `arguments`")
            continue
        name = fn["name"]
        if declared is not None and name not in declared:
            ctx.warn(f"{p}.function.name", "tool_call.unknown_function", f"function {name!r} is not"
                     f" declared in `tools`{_suggest(name, declared)}: declare it or fix the name")
        args = fn.get("arguments")
        if not isinstance(args, str):
            ctx.error(f"{p}.function.arguments", "tool_call.arguments_type", "arguments must be a"
                      f" JSON-encoded string, not a {describe_type(args)}: serialize it"
                      " (`tuneops fix` does this)")
        else:
            try:
                parsed = orjson.loads(args)
            except orjson.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, dict):
                ctx.error(f"{p}.function.arguments", "tool_call.arguments_json", "arguments string"
                          " does not parse as a JSON object: fix its JSON")


def check_tools(tools: Any, ctx: Ctx, spec: ChatSpec, path: str = "tools") -> set[str] | None:
    if not spec.allow_tools:
        ctx.error(path, "tools.not_allowed", "this vendor does not accept tool definitions in"
                  " training data: remove `tools` or choose another provider")
        return None
    if not isinstance(tools, list):
        ctx.error(path, "tools.type", f"`tools` is a {describe_type(tools)}, not an array")
        return None
    names: set[str] = set()
    for i, tool in enumerate(tools):
        p = f"{path}[{i}]"
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            ctx.error(p, "tools.type", "each tool must be an object with \"type\": \"function\"")
            continue
        fn = tool.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(name, str) or not _FUNC_NAME.match(name):
            ctx.error(f"{p}.function.name", "tools.function", "tool needs `function.name` of 1-64"
                      " letters, digits, _ or -")
            continue
        params = fn.get("parameters") if isinstance(fn, dict) else None
        if params is not None and not isinstance(params, dict):
            ctx.error(f"{p}.function.parameters", "tools.function", "`parameters` must be a JSON"
                      " Schema object")
        names.add(name)
    return names


def check_messages(
    msgs: Any,
    path: str,
    ctx: Ctx,
    spec: ChatSpec,
    declared: set[str] | None,
    *,
    need_assistant: bool = True,
) -> list[str]:
    """Check a messages array; returns the roles seen (for callers' own order rules)."""
    if not isinstance(msgs, list):
        ctx.error(path, "messages.type", f"`messages` is a {describe_type(msgs)}, not an array")
        return []
    if not msgs:
        ctx.error(path, "messages.empty", "`messages` is empty: an example needs at least a user"
                  " and an assistant message")
        return []
    roles: list[str] = []
    call_ids: set[str] = set()
    learnable = 0
    assistants = 0
    allowed_keys = spec.message_keys
    for i, m in enumerate(msgs):
        p = f"{path}[{i}]"
        if not isinstance(m, dict):
            ctx.error(p, "message.type", f"message is a {describe_type(m)}, not an object")
            roles.append("")
            continue
        for key in m:
            if key not in allowed_keys:
                ctx.error(f"{p}.{key}", "message.unknown_key", f"unknown message key {key!r}"
                          f"{_suggest(key, allowed_keys)}: this vendor accepts "
                          + ", ".join(sorted(allowed_keys)))
        role = m.get("role")
        if role is None:
            ctx.error(f"{p}.role", "role.missing", "message has no `role`: set one of "
                      + ", ".join(spec.roles))
            roles.append("")
            continue
        if role not in spec.roles:
            shown = role if isinstance(role, str) else describe_type(role)
            ctx.error(f"{p}.role", "role.unknown", f"role {shown!r} is not accepted"
                      f"{_suggest(str(role), spec.roles)}: use one of " + ", ".join(spec.roles))
            roles.append("")
            continue
        roles.append(role)
        content = m.get("content")
        has_calls = "tool_calls" in m and m["tool_calls"] is not None
        if has_calls:
            if role != "assistant":
                ctx.error(f"{p}.tool_calls", "tool_calls.type", "only assistant messages may carry"
                          " `tool_calls`")
            else:
                _check_tool_calls(m["tool_calls"], f"{p}.tool_calls", ctx, spec, call_ids, declared)
        if role == spec.tool_role and spec.allow_tools:
            tcid = m.get("tool_call_id")
            if not isinstance(tcid, str) or not tcid:
                ctx.error(f"{p}.tool_call_id", "tool_result.id", "tool message needs the"
                          " `tool_call_id` of the call it answers")
            elif tcid not in call_ids:
                ctx.error(f"{p}.tool_call_id", "tool_result.unmatched", f"tool_call_id {tcid!r}"
                          " matches no earlier tool call in this example")
        if "name" in m and (not isinstance(m["name"], str) or not m["name"]):
            ctx.error(f"{p}.name", "name.type", "`name` must be a non-empty string")
        if content is None:
            if not (role == "assistant" and has_calls):
                ctx.error(f"{p}.content", "content.missing", f"{role} message has no `content`")
        elif isinstance(content, str):
            if not content.strip() and not (role == "assistant" and has_calls):
                sev: Severity = "error" if role == "assistant" else "warning"
                ctx.add(sev, f"{p}.content", "content.empty", f"{role} content is empty")
            elif spec.reserved_tokens:
                _check_text(content, f"{p}.content", ctx, spec)
        elif isinstance(content, list):
            _check_parts(content, f"{p}.content", role, ctx, spec)
        else:
            ctx.error(f"{p}.content", "content.type", f"content is a {describe_type(content)}:"
                      " use a string" + (" or an array of parts" if spec.allow_images else ""))
        if spec.allow_weight and "weight" in m:
            w = m["weight"]
            if isinstance(w, bool) or w not in (0, 1):
                ctx.error(f"{p}.weight", "weight.invalid", f"weight is {w!r}: use 0 (do not train"
                          " on this message) or 1")
            elif role != "assistant":
                ctx.error(f"{p}.weight", "weight.not_assistant", "`weight` is only accepted on"
                          " assistant messages")
        if role == "assistant":
            assistants += 1
            if m.get("weight", 1) != 0:
                learnable += 1
    _check_order(roles, path, ctx, spec)
    if need_assistant:
        if assistants == 0:
            ctx.error(path, "assistant.missing", "no assistant message: the model learns from"
                      " assistant turns, so every example needs at least one")
        elif learnable == 0:
            ctx.warn(path, "assistant.all_weight_zero", ALL_WEIGHT_ZERO_MESSAGE)
    return roles


def _check_order(roles: list[str], path: str, ctx: Ctx, spec: ChatSpec) -> None:
    known = [(i, r) for i, r in enumerate(roles) if r]
    if not known:
        return
    if spec.first_roles and known[0][1] not in spec.first_roles:
        i, r = known[0]
        ctx.error(f"{path}[{i}].role", "role.order", f"the first message is {r}; it must be one of "
                  + ", ".join(spec.first_roles))
    if spec.order in ("system_first", "alternate"):
        for i, r in known[1:]:
            if r == "system" and i != 0:
                ctx.error(f"{path}[{i}].role", "role.order", "a system message is accepted only as"
                          " the first message")
                break
    if spec.order == "alternate":
        turns = [(i, r) for i, r in known if r != "system"]
        expect = "user"
        for i, r in turns:
            if r == spec.tool_role:
                continue
            if r != expect:
                ctx.error(f"{path}[{i}].role", "role.order", f"expected a {expect} message here:"
                          " after an optional system message, user and assistant must alternate,"
                          " starting with user")
                break
            expect = "assistant" if r == "user" else "user"
    if spec.trailing and known[-1][1] != "assistant" and "assistant" in roles:
        i, r = known[-1]
        ctx.add(spec.trailing, f"{path}[{i}]", "example.trailing_non_assistant",
                f"the example ends with a {r} message after the last assistant turn; it is not"
                " trained on: remove it (`tuneops fix` trims it)")


def check_chat(obj: dict[str, Any], ctx: Ctx, spec: ChatSpec) -> None:
    """Full check of one chat SFT record."""
    for key in obj:
        if key not in spec.top_keys:
            ctx.error(key, "example.unknown_key", f"unknown top-level key {key!r}"
                      f"{_suggest(key, spec.top_keys)}: accepted keys are " + ", ".join(spec.top_keys))
    declared: set[str] | None = None
    if "tools" in obj:
        declared = check_tools(obj["tools"], ctx, spec)
    if "parallel_tool_calls" in obj and not isinstance(obj["parallel_tool_calls"], bool):
        ctx.error("parallel_tool_calls", "parallel_tool_calls.type", "`parallel_tool_calls` must be"
                  " true or false")
    if "messages" not in obj:
        ctx.error("messages", "messages.missing", "no `messages` array"
                  f"{_suggest('messages', obj.keys()) and ' (is it misspelt as a key above?)'}:"
                  " each line needs {\"messages\": [...]}")
        return
    check_messages(obj["messages"], "messages", ctx, spec, declared)


# ---------------------------------------------------------------------------------------- fast path


_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class _FastFn(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    name: _NonEmpty
    arguments: str


class _FastCall(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    id: _NonEmpty
    function: _FastFn
    type: Literal["function"] = "function"


class _FastToolFn(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    name: Annotated[str, msgspec.Meta(pattern=_FUNC_NAME.pattern)]
    description: str | msgspec.UnsetType = msgspec.UNSET
    # kept as raw JSON: never built into Python objects, its brackets bound its depth
    parameters: msgspec.Raw = msgspec.Raw(b"")
    strict: bool | msgspec.UnsetType = msgspec.UNSET


class _FastTool(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    function: _FastToolFn
    type: Literal["function"] = "function"


def fast_types(spec: ChatSpec) -> tuple[Any, type]:
    """msgspec types (message, record) accepting exactly the common clean shape for `spec`.

    Messages are a union tagged by `role`, one Struct per role, so that which keys a role may
    carry, required contents and non-empty strings are checked by the decoder in C. Each Struct
    also answers `role`, `weight`, `tool_calls`, `tool_call_id` and `name` as class attributes
    when they are not its fields, so fast checks read any message the same way.
    """
    absent = {"weight": msgspec.UNSET, "tool_calls": None, "tool_call_id": None,
              "name": msgspec.UNSET}
    members = []
    for role in spec.roles:
        fields: list[tuple[str, Any, Any]] = []
        if role == "assistant":
            fields.append(("content", str | None, None))
            if spec.allow_weight:
                fields.append(("weight", Literal[0, 1] | msgspec.UnsetType, msgspec.UNSET))
            if spec.allow_tools:
                fields.append(("tool_calls", list[_FastCall] | None, None))
        elif role == spec.tool_role and spec.allow_tools:
            fields.append(("tool_call_id", _NonEmpty, msgspec.NODEFAULT))
            fields.append(("content", _NonEmpty, msgspec.NODEFAULT))
            fields.sort(key=lambda f: f[0])
        else:
            fields.append(("content", _NonEmpty, msgspec.NODEFAULT))
        if spec.allow_name:
            fields.append(("name", _NonEmpty | msgspec.UnsetType, msgspec.UNSET))
        # required fields first, as Python requires of positional defaults
        fields.sort(key=lambda f: f[2] is not msgspec.NODEFAULT)
        names = {f[0] for f in fields}
        namespace = {"role": role, **{k: v for k, v in absent.items() if k not in names}}
        members.append(msgspec.defstruct(
            f"Fast{role.title()}Message", fields, forbid_unknown_fields=True, gc=False,
            tag_field="role", tag=role, namespace=namespace,
        ))
    msg: Any = members[0] if len(members) == 1 else Union.__getitem__(tuple(members))
    rec_fields: list[tuple[str, Any, Any]] = [("messages", list[msg], msgspec.NODEFAULT)]
    if "tools" in spec.top_keys and spec.allow_tools:
        rec_fields.append(("tools", list[_FastTool] | msgspec.UnsetType, msgspec.UNSET))
    if "parallel_tool_calls" in spec.top_keys:
        rec_fields.append(("parallel_tool_calls", bool | msgspec.UnsetType, msgspec.UNSET))
    rec = msgspec.defstruct("FastChat", rec_fields, forbid_unknown_fields=True, gc=False)
    return msg, rec


def _has_reserved(text: str, tokens: tuple[str, ...]) -> bool:
    return any(t in text for t in tokens)


def fast_messages_ok(
    msgs: list[Any], spec: ChatSpec, declared: frozenset[str] | None, *, need_assistant: bool = True
) -> bool:
    """True only if `check_messages` would report nothing, for messages decoded with the types
    of `fast_types(spec)`."""
    return spec.fast_messages(msgs, declared, need_assistant, False) is True


def _make_fast_messages(spec: ChatSpec) -> Callable[..., bool | str]:
    """The fast message check specialised for one spec (its settings bound once, not per call)."""
    first_roles = spec.first_roles
    alternate = spec.order == "alternate"
    strict_system = spec.order != "free"
    tool_role = spec.tool_role if spec.allow_tools else None
    any_tool_role = spec.tool_role
    id_re = spec.tool_call_id
    reserved = spec.reserved_tokens
    marker = spec.reserved_marker
    trailing = spec.trailing
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError

    def run(
        msgs: list[Any], declared: frozenset[str] | None, need_assistant: bool,
        weight_zero_ok: bool,
    ) -> bool | str:
        if not msgs:
            return False
        if first_roles and msgs[0].role not in first_roles:
            return False
        learnable = seen_assistant = False
        call_ids: set[str] | None = None
        expect = "user"
        i = -1
        for m in msgs:
            i += 1
            role = m.role
            c = m.content
            if role == "assistant":
                calls = m.tool_calls
                if calls is not None:
                    if not calls:
                        return False
                    if call_ids is None:
                        call_ids = set()
                    for call in calls:
                        cid = call.id
                        if cid in call_ids or (id_re is not None and not id_re.fullmatch(cid)):
                            return False
                        call_ids.add(cid)
                        fn = call.function
                        if declared is not None and fn.name not in declared:
                            return False
                        args = fn.arguments
                        if args[:1] != "{":
                            return False
                        try:
                            if type(loads(args)) is not dict:
                                return False
                        except decode_error:
                            return False
                elif c is None or not c or c.isspace():
                    return False
                if c and marker is not None and marker in c and _has_reserved(c, reserved):
                    return False
                seen_assistant = True
                if m.weight != 0:
                    learnable = True
            else:
                if c.isspace() or (marker is not None and marker in c and _has_reserved(c, reserved)):
                    return False
                if role == tool_role:
                    if call_ids is None or m.tool_call_id not in call_ids:
                        return False
                elif strict_system and i and role == "system":
                    return False
            if alternate and role != "system" and role != any_tool_role:  # noqa: PLR1714 (hot loop)
                if role != expect:
                    return False
                expect = "assistant" if role == "user" else "user"
        if not need_assistant:
            return True
        if trailing and msgs[-1].role != "assistant":
            return False
        if not learnable:
            # with assistant turns that all have weight 0, the full check's only finding is the
            # all-weight-zero warning
            return WEIGHT_ZERO if weight_zero_ok and seen_assistant else False
        return True

    return run


def fast_tools_declared(tools: Any) -> frozenset[str] | bool | None:
    """Declared function names for the fast path; None when no tools; False when not clean.

    `tools` was decoded as `_FastTool` Structs, so types and names are already checked."""
    if tools is _UNSET:
        return None
    names = []
    for t in tools:
        fn = t.function
        params = fn.parameters
        if params and bytes(params)[:1] != b"{":
            return False
        names.append(fn.name)
    return frozenset(names)


def fast_chat_result(rec: Any, spec: ChatSpec) -> bool | str:
    """Like `fast_chat_ok`, but answers `WEIGHT_ZERO` for a record whose only finding would be
    the all-weight-zero warning."""
    declared = fast_tools_declared(getattr(rec, "tools", _UNSET))
    if declared is False:
        return False
    return spec.fast_messages(rec.messages, declared, True, True)


def fast_chat_ok(rec: Any, spec: ChatSpec) -> bool:
    declared = fast_tools_declared(getattr(rec, "tools", _UNSET))
    if declared is False:
        return False
    return spec.fast_messages(rec.messages, declared, True, False) is True
