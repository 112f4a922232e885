"""Rule cases for the Together AI packs: every rule id has a record that triggers it."""

from __future__ import annotations

from typing import Any

U = {"role": "user", "content": "What is the capital of France?"}
U2 = {"role": "user", "content": "And of Italy?"}
A = {"role": "assistant", "content": "Paris."}
S = {"role": "system", "content": "You are terse."}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
CALL = {"id": "call_abc123", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}
CALL2 = {**CALL, "id": "call_def456"}
CALLS = {"role": "assistant", "tool_calls": [CALL]}
RESULT = {"role": "tool", "tool_call_id": "call_abc123", "content": "{\"temp\": 21}"}
RESULT2 = {**RESULT, "tool_call_id": "call_def456"}
ANSWER = {"role": "assistant", "content": "21 degrees."}
IMG = {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}}


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def chat(*msgs: Any, **top: Any) -> dict[str, Any]:
    return {"messages": list(msgs), **top}


def calls(*cs: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "tool_calls": list(cs)}


def vision(*parts: Any) -> dict[str, Any]:
    """An all-parts conversation (Together wants all messages as strings or all as part lists)."""
    return chat({"role": "user", "content": list(parts)}, {"role": "assistant", "content": [text("A cat.")]})


SFT_VALID: list[dict[str, Any]] = [
    chat(U, A),
    chat(S, U, A, U2, A),
    # Together's documented per-message weights, user messages included
    chat(S, {**U, "weight": 0}, {**A, "weight": 1}, {**U2, "weight": 1}, {**A, "weight": 0}),
    chat(S, U, CALLS, RESULT, ANSWER, tools=TOOLS),
    chat(U, calls(CALL, CALL2), RESULT, RESULT2, ANSWER, tools=TOOLS),
    chat(U, {"role": "assistant", "reasoning": "France's capital is Paris.", "content": "Paris."}),
    chat(U, {"role": "assistant", "reasoning_content": "Easy.", "content": "Paris."}),
    chat({"role": "system", "content": [text("You see images.")]},
         {"role": "user", "content": [text("What is this?"), IMG]},
         {"role": "assistant", "content": [text("A cat.")]}),
    {"prompt": "Capital of France?", "completion": "Paris."},
    {"prompt": [text("What is this?"), IMG], "completion": [text("A cat.")]},
    {"text": "Paris is the capital of France."},
    chat(U, {"role": "assistant", "content": "Paris. Café ≤ 你好 🚀"}),
]

SFT_BAD: list[tuple[str, dict[str, Any]]] = [
    ("together.example.format", {"message": [U, A]}),
    ("together.example.format", {"input": {"messages": [U]}, "preferred_output": [A],
                                 "non_preferred_output": [A]}),
    ("together.example.mixed_formats", {**chat(U, A), "text": "x"}),
    ("together.example.unknown_key", {**chat(U, A), "extra": 1}),
    ("together.example.unknown_key", {"prompt": "a", "completion": "b", "id": 3}),
    ("together.example.unknown_key", {"text": "a", "source": "web"}),
    ("together.instruction.missing", {"prompt": "Capital of France?"}),
    ("together.messages.type", {"messages": "hi"}),
    ("together.messages.empty", {"messages": []}),
    ("together.message.type", chat(U, "hello", A)),
    ("together.message.unknown_key", chat({**U, "mood": "happy"}, A)),
    ("together.message.unknown_key", chat({**U, "reasoning": "x"}, A)),
    ("together.role.missing", chat({"content": "hi"}, A)),
    ("together.role.unknown", chat({"role": "human", "content": "hi"}, A)),
    ("together.role.order", chat(U, U2, A)),
    ("together.role.order", chat(S, A, U, A)),
    ("together.role.order", chat(A, U, A)),
    ("together.role.order", chat(U, A, S, U2, A)),
    ("together.role.order", chat(U, A, A)),
    ("together.content.missing", chat({"role": "user"}, A)),
    ("together.content.type", chat({"role": "user", "content": 42}, A)),
    ("together.content.type", {"prompt": 42, "completion": "x"}),
    ("together.content.type", {"text": ["a"]}),
    ("together.content.empty", chat(U, {"role": "assistant", "content": "  "})),
    ("together.content.empty", {"prompt": "Q", "completion": " "}),
    ("together.content.empty", {"text": ""}),
    ("together.content.part", chat({"role": "user", "content": [{"type": "audio", "x": 1}]},
                                   {"role": "assistant", "content": [text("x")]})),
    ("together.content.part", {"prompt": [{"type": "audio"}], "completion": [text("x")]}),
    ("together.content.mixed_formats", chat({"role": "user", "content": [text("What is this?"), IMG]}, A)),
    ("together.image.not_allowed", chat({"role": "user", "content": [text("Hi")]},
                                        {"role": "assistant", "content": [IMG, text("x")]})),
    ("together.image.not_allowed", {"prompt": [text("Draw a cat")], "completion": [IMG]}),
    ("together.image.url", vision(text("What is this?"), {"type": "image_url", "image_url": {"url": "ftp://x"}})),
    ("together.image.url", vision(text("What is this?"), {"type": "image_url",
                                                          "image_url": {"url": "https://x.test/a.png"}})),
    ("together.image.url", vision(text("What is this?"), {
        "type": "image_url", "image_url": {"url": "data:image/gif;base64,R0lG"}})),
    ("together.image.url", {"prompt": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}],
                            "completion": "A cat."}),
    ("together.image.too_many", vision(text("Which differ?"), *[IMG] * 11)),
    ("together.image.too_large", vision(text("What is this?"), {"type": "image_url", "image_url": {
        "url": "data:image/png;base64," + "A" * 14_000_000}})),
    ("together.image.weight", chat({"role": "user", "content": [text("What is this?"), IMG], "weight": 1},
                                   {"role": "assistant", "content": [text("A cat.")]})),
    ("together.name.type", chat({**U, "name": ""}, A)),
    ("together.weight.invalid", chat(U, {**A, "weight": 0.5})),
    ("together.weight.invalid", chat({**U, "weight": True}, A)),
    ("together.reasoning.type", chat(U, {**A, "reasoning": ["step 1"]})),
    ("together.assistant.missing", chat(S, U)),
    ("together.assistant.all_weight_zero", chat(U, {**A, "weight": 0})),
    ("together.example.trailing_non_assistant", chat(U, A, U2)),
    ("together.tool_calls.type", chat(U, {"role": "assistant", "tool_calls": []}, tools=TOOLS)),
    ("together.tool_calls.type", chat(U, {"role": "assistant", "content": "x", "tool_calls": []},
                                      tools=TOOLS)),
    ("together.tool_call.id", chat(U, calls({**CALL, "id": 7}), tools=TOOLS)),
    ("together.tool_call.duplicate_id", chat(U, calls(CALL, CALL), RESULT, ANSWER, tools=TOOLS)),
    ("together.tool_call.type", chat(U, calls({**CALL, "type": "code"}), tools=TOOLS)),
    ("together.tool_call.function", chat(U, calls({"id": "c", "type": "function"}), tools=TOOLS)),
    ("together.tool_call.arguments_type", chat(U, calls(
        {**CALL, "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}), tools=TOOLS)),
    ("together.tool_call.arguments_json", chat(U, calls(
        {**CALL, "function": {"name": "get_weather", "arguments": "{city: Paris"}}), tools=TOOLS)),
    ("together.tool_call.unknown_function", chat(U, calls(
        {**CALL, "function": {"name": "get_wether", "arguments": "{}"}}), tools=TOOLS)),
    ("together.tool_result.id", chat(U, CALLS, {"role": "tool", "content": "x"}, ANSWER, tools=TOOLS)),
    ("together.tool_result.unmatched", chat(U, CALLS, {**RESULT, "tool_call_id": "call_9"}, ANSWER,
                                            tools=TOOLS)),
    ("together.tools.type", chat(U, A, tools={"get_weather": {}})),
    ("together.tools.function", chat(U, A, tools=[{"type": "function", "function": {"name": "bad name!"}}])),
    ("together.parallel_tool_calls.type", chat(U, A, parallel_tool_calls="yes")),
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
    dpo_in(S, U, A, U2),
    dpo_in(U, tools=TOOLS),
    # function-calling preference pairs end their input on the tool result
    dpo_in(U, CALLS, RESULT, tools=TOOLS),
    dpo(preferred_output=[{"role": "assistant", "reasoning": "Paris is the capital.", "content": "Paris."}]),
    dpo_in({"role": "user", "content": [text("What is this?"), IMG]}),
]

DPO_BAD: list[tuple[str, dict[str, Any]]] = [
    ("together.example.unknown_key", dpo(extra=1)),
    ("together.example.unknown_key", dpo_in(U, parallel_tool_calls=False)),
    ("together.dpo.input", {"preferred_output": PREF, "non_preferred_output": NONPREF}),
    ("together.dpo.input_last_role", dpo_in(U, A)),
    ("together.dpo.output", dpo(preferred_output=[])),
    ("together.dpo.output_role", dpo(preferred_output=[{"role": "user", "content": "x"}])),
    ("together.dpo.output_content", dpo(preferred_output=[{"role": "assistant", "content": ""}])),
    ("together.dpo.identical_outputs", dpo(non_preferred_output=PREF)),
    ("together.messages.type", dpo(input={"messages": {}})),
    ("together.messages.empty", dpo_in()),
    ("together.message.type", dpo_in(1, U)),
    ("together.message.unknown_key", dpo_in({**U, "x": 1})),
    ("together.role.missing", dpo_in({"content": "x"}, U)),
    ("together.role.unknown", dpo_in({"role": "bot", "content": "x"}, U)),
    ("together.role.order", dpo_in(U, U2)),
    ("together.role.order", dpo_in(A, U)),
    ("together.content.missing", dpo_in({"role": "user"})),
    ("together.content.type", dpo_in({"role": "user", "content": 1})),
    ("together.content.empty", dpo_in({"role": "user", "content": ""})),
    ("together.content.part", dpo_in({"role": "user", "content": [{"type": "x"}]})),
    ("together.content.mixed_formats", dpo_in(S, {"role": "user", "content": [text("What is this?"), IMG]})),
    ("together.image.url", dpo_in({"role": "user", "content": [{"type": "image_url", "image_url": {}}]})),
    ("together.image.url", dpo_in({"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]})),
    ("together.image.not_allowed", dpo_in(
        {"role": "user", "content": [text("hi")]},
        {"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]},
        {"role": "user", "content": [text("and?")]})),
    ("together.image.too_many", dpo_in({"role": "user", "content": [text("Which differ?"), *[IMG] * 11]})),
    ("together.image.too_large", dpo_in({"role": "user", "content": [text("What?"), {
        "type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 14_000_000}}]})),
    ("together.name.type", dpo_in({**U, "name": 3})),
    ("together.reasoning.type", dpo_in(U, {**A, "reasoning_content": 5}, U2)),
    ("together.tool_calls.type", dpo_in(U, {"role": "assistant", "tool_calls": {}}, U2)),
    ("together.tool_call.id", dpo_in(U, calls({**CALL, "id": ""}), RESULT, tools=TOOLS)),
    ("together.tool_call.duplicate_id", dpo_in(U, calls(CALL, CALL), RESULT, tools=TOOLS)),
    ("together.tool_call.type", dpo_in(U, calls({**CALL, "type": "x"}), RESULT, tools=TOOLS)),
    ("together.tool_call.function", dpo_in(U, calls({"id": "a"}), RESULT, tools=TOOLS)),
    ("together.tool_call.arguments_type", dpo_in(U, calls(
        {**CALL, "function": {"name": "get_weather", "arguments": 1}}), RESULT, tools=TOOLS)),
    ("together.tool_call.arguments_json", dpo_in(U, calls(
        {**CALL, "function": {"name": "get_weather", "arguments": "[1]"}}), RESULT, tools=TOOLS)),
    ("together.tool_call.unknown_function", dpo_in(U, calls(
        {**CALL, "function": {"name": "nope", "arguments": "{}"}}), RESULT, tools=TOOLS)),
    ("together.tool_result.id", dpo_in(U, CALLS, {"role": "tool", "content": "x"}, tools=TOOLS)),
    ("together.tool_result.unmatched", dpo_in(U, CALLS, {**RESULT, "tool_call_id": "z"}, tools=TOOLS)),
    ("together.tools.type", dpo_in(U, tools="x")),
    ("together.tools.function", dpo_in(U, tools=[{"type": "function"}])),
    ("together.parallel_tool_calls.type", dpo_in(U, parallel_tool_calls=1)),
]

CASES = {
    "together.sft": {"valid": SFT_VALID, "bad": SFT_BAD, "unreachable": set()},
    "together.dpo": {"valid": DPO_VALID, "bad": DPO_BAD, "unreachable": set()},
}
