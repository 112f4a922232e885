"""Rule cases for the Fireworks AI packs: every rule id has a record that triggers it."""

from __future__ import annotations

from typing import Any

U = {"role": "user", "content": "What is the capital of France?"}
U2 = {"role": "user", "content": "And of Italy?"}
A = {"role": "assistant", "content": "Paris."}
S = {"role": "system", "content": "You are terse."}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
CALL = {"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}
CALLS = {"role": "assistant", "tool_calls": [CALL]}
RESULT = {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"}
ANSWER = {"role": "assistant", "content": "21 degrees."}
IMG = {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}}


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def asks(url: str) -> dict[str, Any]:
    return {"role": "user", "content": [text("What is this?"), image(url)]}


def chat(*msgs: Any, **top: Any) -> dict[str, Any]:
    return {"messages": list(msgs), **top}


def calls(*cs: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "tool_calls": list(cs)}


SFT_VALID: list[dict[str, Any]] = [
    chat(U, A),
    chat(S, U, A),
    # `weight` is part of Fireworks' message schema, not limited to assistant messages
    chat(S, {**U, "weight": 0}, {**A, "weight": 0}, U2, {**A, "weight": 1}),
    # an OpenAI tool-calling file works unchanged
    chat(U, CALLS, RESULT, ANSWER, tools=TOOLS, parallel_tool_calls=False),
    chat(U, {"role": "assistant", "content": None, "tool_calls": [CALL]}, tools=TOOLS),
    chat(S, {"role": "user", "content": [text("What is this?"), IMG]}, A),
    chat(U, {"role": "assistant", "content": [text("Paris.")]}),
    chat({**U, "name": "alice"}, A),
    chat(U, {"role": "assistant", "reasoning_content": "The capital is Paris.", "content": "Paris."}),
    chat(U, {"role": "assistant", "content": "Paris. Café ≤ 你好 🚀"}),
]

SFT_BAD: list[tuple[str, dict[str, Any]]] = [
    ("fireworks.example.unknown_key", {**chat(U, A), "extra": 1}),
    ("fireworks.messages.missing", {"message": [U, A]}),
    ("fireworks.messages.type", {"messages": "hi"}),
    ("fireworks.messages.empty", {"messages": []}),
    ("fireworks.message.type", chat(U, "hello", A)),
    ("fireworks.message.unknown_key", chat({**U, "mood": "happy"}, A)),
    ("fireworks.message.unknown_key", chat({**U, "reasoning_content": "x"}, A)),
    ("fireworks.role.missing", chat({"content": "hi"}, A)),
    ("fireworks.role.unknown", chat({"role": "human", "content": "hi"}, A)),
    ("fireworks.role.order", chat(U, A, S, U2, A)),
    ("fireworks.content.missing", chat({"role": "user"}, A)),
    ("fireworks.content.type", chat({"role": "user", "content": 42}, A)),
    ("fireworks.content.empty", chat(U, {"role": "assistant", "content": "  "})),
    ("fireworks.content.part", chat({"role": "user", "content": [{"type": "audio", "x": 1}]}, A)),
    ("fireworks.image.not_allowed", chat(U, {"role": "assistant", "content": [IMG, text("x")]})),
    ("fireworks.image.url", chat(asks("ftp://x"), A)),
    ("fireworks.image.url", chat(asks("https://x.test/a.png"), A)),  # must be inlined as base64
    ("fireworks.image.url", chat(asks("data:image/webp;base64,UklG"), A)),  # PNG, JPG, JPEG only
    ("fireworks.name.type", chat({**U, "name": ""}, A)),
    ("fireworks.weight.invalid", chat(U, {**A, "weight": 0.5})),
    ("fireworks.weight.invalid", chat({**U, "weight": 2}, A)),
    ("fireworks.reasoning.type", chat(U, {**A, "reasoning_content": {"steps": []}})),
    ("fireworks.assistant.missing", chat(S, U)),
    ("fireworks.assistant.all_weight_zero", chat(U, {**A, "weight": 0})),
    ("fireworks.example.trailing_non_assistant", chat(U, A, U2)),
    ("fireworks.tool_calls.type", chat(U, {"role": "assistant", "tool_calls": []}, tools=TOOLS)),
    ("fireworks.tool_calls.type", chat(U, {"role": "assistant", "content": "x", "tool_calls": []},
                                       tools=TOOLS)),
    ("fireworks.tool_call.id", chat(U, calls({**CALL, "id": 7}), tools=TOOLS)),
    ("fireworks.tool_call.duplicate_id", chat(U, calls(CALL, CALL), tools=TOOLS)),
    ("fireworks.tool_call.type", chat(U, calls({**CALL, "type": "code"}), tools=TOOLS)),
    ("fireworks.tool_call.function", chat(U, calls({"id": "c", "type": "function"}), tools=TOOLS)),
    ("fireworks.tool_call.arguments_type", chat(U, calls(
        {**CALL, "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}), tools=TOOLS)),
    ("fireworks.tool_call.arguments_json", chat(U, calls(
        {**CALL, "function": {"name": "get_weather", "arguments": "{city: Paris"}}), tools=TOOLS)),
    ("fireworks.tool_call.unknown_function", chat(U, calls(
        {**CALL, "function": {"name": "get_wether", "arguments": "{}"}}), tools=TOOLS)),
    ("fireworks.tool_result.id", chat(U, CALLS, {"role": "tool", "content": "x"}, ANSWER, tools=TOOLS)),
    ("fireworks.tool_result.unmatched", chat(U, CALLS, {**RESULT, "tool_call_id": "call_9"}, ANSWER,
                                             tools=TOOLS)),
    ("fireworks.tools.type", chat(U, A, tools={"get_weather": {}})),
    ("fireworks.tools.function", chat(U, A, tools=[{"type": "function", "function": {"name": "bad name!"}}])),
    ("fireworks.parallel_tool_calls.type", chat(U, A, parallel_tool_calls="yes")),
]

PREF = [{"role": "assistant", "content": "Paris."}]
NONPREF = [{"role": "assistant", "content": "Lyon."}]


def dpo(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"input": {"messages": [U]}, "preferred_output": PREF,
                            "non_preferred_output": NONPREF}
    base.update(kw)
    return base


def dpo_in(*msgs: Any, **top: Any) -> dict[str, Any]:
    return dpo(input={"messages": list(msgs), **top})


DPO_VALID: list[dict[str, Any]] = [
    dpo(),
    dpo_in(S, U),
    dpo_in(U, tools=[]),  # as in Fireworks' example
    dpo_in(U, tools=TOOLS),
    dpo_in({"role": "user", "content": [text("What is this?"), IMG]}),
]

DPO_BAD: list[tuple[str, dict[str, Any]]] = [
    ("fireworks.example.unknown_key", dpo(extra=1)),
    ("fireworks.dpo.input", {"preferred_output": PREF, "non_preferred_output": NONPREF}),
    ("fireworks.dpo.input_last_role", dpo_in(S)),
    ("fireworks.dpo.output", dpo(preferred_output=[])),
    ("fireworks.dpo.output", dpo(non_preferred_output=[*NONPREF, *NONPREF])),
    ("fireworks.dpo.output_role", dpo(preferred_output=[{"role": "user", "content": "x"}])),
    ("fireworks.dpo.output_content", dpo(preferred_output=[{"role": "assistant", "content": ""}])),
    ("fireworks.dpo.identical_outputs", dpo(non_preferred_output=PREF)),
    ("fireworks.dpo.multi_turn", dpo_in(U, A, U2)),
    ("fireworks.messages.type", dpo(input={"messages": {}})),
    ("fireworks.messages.empty", dpo_in()),
    ("fireworks.message.type", dpo_in(1, U)),
    ("fireworks.message.unknown_key", dpo_in({**U, "x": 1})),
    ("fireworks.role.missing", dpo_in({"content": "x"}, U)),
    ("fireworks.role.unknown", dpo_in({"role": "bot", "content": "x"}, U)),
    ("fireworks.role.unknown", dpo_in(U, CALLS, RESULT, tools=TOOLS)),  # no tool role in DPO data
    ("fireworks.role.order", dpo_in(U, S, U2)),
    ("fireworks.content.missing", dpo_in({"role": "user"})),
    ("fireworks.content.type", dpo_in({"role": "user", "content": 1})),
    ("fireworks.content.empty", dpo_in({"role": "user", "content": ""})),
    ("fireworks.content.part", dpo_in({"role": "user", "content": [{"type": "x"}]})),
    ("fireworks.image.url", dpo_in({"role": "user", "content": [{"type": "image_url", "image_url": {}}]})),
    ("fireworks.image.url", dpo_in({"role": "user", "content": [image("https://x.test/a.png")]})),
    ("fireworks.image.not_allowed", dpo_in(U, {"role": "assistant", "content": [IMG]}, U2)),
    ("fireworks.name.type", dpo_in({**U, "name": 3})),
    ("fireworks.reasoning.type", dpo_in(U, {**A, "reasoning_content": 5}, U2)),
    ("fireworks.tool_calls.type", dpo_in(U, {"role": "assistant", "tool_calls": {}}, U2)),
    ("fireworks.tool_call.id", dpo_in(U, calls({**CALL, "id": ""}), U2, tools=TOOLS)),
    ("fireworks.tool_call.duplicate_id", dpo_in(U, calls(CALL, CALL), U2, tools=TOOLS)),
    ("fireworks.tool_call.type", dpo_in(U, calls({**CALL, "type": "x"}), U2, tools=TOOLS)),
    ("fireworks.tool_call.function", dpo_in(U, calls({"id": "a"}), U2, tools=TOOLS)),
    ("fireworks.tool_call.arguments_type", dpo_in(U, calls(
        {**CALL, "function": {"name": "get_weather", "arguments": 1}}), U2, tools=TOOLS)),
    ("fireworks.tool_call.arguments_json", dpo_in(U, calls(
        {**CALL, "function": {"name": "get_weather", "arguments": "[1]"}}), U2, tools=TOOLS)),
    ("fireworks.tool_call.unknown_function", dpo_in(U, calls(
        {**CALL, "function": {"name": "nope", "arguments": "{}"}}), U2, tools=TOOLS)),
    ("fireworks.tools.type", dpo_in(U, tools="x")),
    ("fireworks.tools.function", dpo_in(U, tools=[{"type": "function"}])),
    ("fireworks.parallel_tool_calls.type", dpo_in(U, parallel_tool_calls=1)),
]

CASES = {
    "fireworks.sft": {"valid": SFT_VALID, "bad": SFT_BAD, "unreachable": set()},
    "fireworks.dpo": {"valid": DPO_VALID, "bad": DPO_BAD, "unreachable": set()},
}
