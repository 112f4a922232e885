"""Rule cases for the Mistral pack: every rule id has a record that triggers it."""

from __future__ import annotations

from typing import Any

U = {"role": "user", "content": "What is the capital of France?"}
U2 = {"role": "user", "content": "And of Italy?"}
A = {"role": "assistant", "content": "Paris."}
S = {"role": "system", "content": "You are terse."}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
# Mistral tool call ids are exactly 9 characters of [a-zA-Z0-9]
CALL = {"id": "TX92Jm8Zi", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}
CALL2 = {**CALL, "id": "3XhQnxLsT"}
CALLS = {"role": "assistant", "tool_calls": [CALL]}
RESULT = {"role": "tool", "tool_call_id": "TX92Jm8Zi", "content": "{\"temp\": 21}"}
RESULT2 = {**RESULT, "tool_call_id": "3XhQnxLsT"}
ANSWER = {"role": "assistant", "content": "21 degrees."}


def chat(*msgs: Any, **top: Any) -> dict[str, Any]:
    return {"messages": list(msgs), **top}


def calls(*cs: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "tool_calls": list(cs)}


SFT_VALID: list[dict[str, Any]] = [
    chat(U, A),
    chat(S, U, A),
    chat(S, U, {**A, "weight": 0}, U2, {**A, "weight": 1}),
    # the docs' function-calling example: calls without content, results, then the answer
    chat(S, U, CALLS, RESULT, ANSWER, tools=TOOLS),
    # ... and ending on the assistant's tool call is fine too
    chat(U, CALLS, tools=TOOLS),
    chat(U, calls(CALL, CALL2), RESULT, RESULT2, ANSWER, tools=TOOLS),
    chat(U, {"role": "assistant", "content": None, "tool_calls": [CALL]}, tools=TOOLS),
    # Vision Instruct: Mistral documents image_url as a plain string
    chat({"role": "user", "content": [{"type": "image_url", "image_url": "data:image/jpeg;base64,/9j/4AAQ"},
                                      {"type": "text", "text": "What is this?"}]}, A),
    chat({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
                                      {"type": "text", "text": "What is this?"}]}, A),
    chat(U, U2, A),  # consecutive user messages are merged by the tokenizer
    chat(U, {"role": "assistant", "content": "Paris. Café ≤ 你好 🚀"}),
]

SFT_BAD: list[tuple[str, dict[str, Any]]] = [
    ("mistral.example.unknown_key", {**chat(U, A), "extra": 1}),
    ("mistral.example.unknown_key", {"text": "pretraining text is not covered"}),
    ("mistral.messages.missing", {"message": [U, A]}),
    ("mistral.messages.type", {"messages": "hi"}),
    ("mistral.messages.empty", {"messages": []}),
    ("mistral.message.type", chat(U, "hello", A)),
    ("mistral.message.unknown_key", chat({**U, "name": "alice"}, A)),
    ("mistral.role.missing", chat({"content": "hi"}, A)),
    ("mistral.role.unknown", chat({"role": "human", "content": "hi"}, A)),
    ("mistral.role.order", chat(U, {"role": "tool", "tool_call_id": "TX92Jm8Zi", "content": "x"}, A)),
    ("mistral.role.order", chat(U, CALLS, U2, A, tools=TOOLS)),
    ("mistral.role.order", chat(U, CALLS, RESULT, U2, A, tools=TOOLS)),
    ("mistral.content.missing", chat({"role": "user"}, A)),
    ("mistral.content.type", chat({"role": "user", "content": 42}, A)),
    ("mistral.content.empty", chat(U, {"role": "assistant", "content": "  "})),
    ("mistral.content.part", chat({"role": "user", "content": [{"type": "audio", "x": 1}]}, A)),
    ("mistral.image.not_allowed", chat(U, {"role": "assistant", "content": [
        {"type": "image_url", "image_url": "https://x.test/a.png"}, {"type": "text", "text": "x"}]})),
    ("mistral.image.url", chat({"role": "user", "content": [
        {"type": "image_url", "image_url": "ftp://x"}, {"type": "text", "text": "hi"}]}, A)),
    ("mistral.name.type", chat({**U, "name": ""}, A)),
    ("mistral.weight.invalid", chat(U, {**A, "weight": 0.5})),
    ("mistral.weight.not_assistant", chat({**U, "weight": 1}, A)),
    ("mistral.assistant.missing", chat(S, U)),
    ("mistral.assistant.all_weight_zero", chat(U, {**A, "weight": 0})),
    ("mistral.example.trailing_non_assistant", chat(U, A, U2)),
    ("mistral.tool_calls.type", chat(U, {"role": "assistant", "tool_calls": []}, tools=TOOLS)),
    # `[]` next to content: the shared fast path does not look for it
    ("mistral.tool_calls.type", chat(U, {"role": "assistant", "content": "x", "tool_calls": []},
                                     tools=TOOLS)),
    ("mistral.tool_call.id", chat(U, calls({**CALL, "id": "call_1"}), tools=TOOLS)),
    ("mistral.tool_call.id", chat(U, calls({**CALL, "id": "TX92Jm8Zi0"}), tools=TOOLS)),
    ("mistral.tool_call.id", chat(U, calls({**CALL, "id": 7}), tools=TOOLS)),
    ("mistral.tool_call.duplicate_id", chat(U, calls(CALL, CALL), RESULT, RESULT, ANSWER, tools=TOOLS)),
    ("mistral.tool_call.type", chat(U, calls({**CALL, "type": "code"}), tools=TOOLS)),
    ("mistral.tool_call.function", chat(U, calls({"id": "TX92Jm8Zi", "type": "function"}), tools=TOOLS)),
    ("mistral.tool_call.arguments_type", chat(U, calls(
        {**CALL, "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}), tools=TOOLS)),
    ("mistral.tool_call.arguments_json", chat(U, calls(
        {**CALL, "function": {"name": "get_weather", "arguments": "{city: Paris"}}), tools=TOOLS)),
    ("mistral.tool_call.unknown_function", chat(U, calls(
        {**CALL, "function": {"name": "get_wether", "arguments": "{}"}}), tools=TOOLS)),
    ("mistral.tool_call.unknown_function", chat(U, CALLS, RESULT, ANSWER)),  # no `tools` at all
    ("mistral.tool_result.id", chat(U, CALLS, {"role": "tool", "content": "x"}, ANSWER, tools=TOOLS)),
    ("mistral.tool_result.unmatched", chat(U, CALLS, {**RESULT, "tool_call_id": "ZZZZZZZZZ"}, ANSWER,
                                           tools=TOOLS)),
    ("mistral.tool_result.count", chat(U, calls(CALL, CALL2), RESULT, ANSWER, tools=TOOLS)),
    ("mistral.tool_result.count", chat(U, CALLS, RESULT, RESULT, ANSWER, tools=TOOLS)),
    ("mistral.tool_calls.with_content", chat(U, {"role": "assistant", "content": "Let me check.",
                                                 "tool_calls": [CALL]}, RESULT, ANSWER, tools=TOOLS)),
    ("mistral.tools.type", chat(U, A, tools={"get_weather": {}})),
    ("mistral.tools.function", chat(U, A, tools=[{"type": "function", "function": {"name": "bad name!"}}])),
    ("mistral.parallel_tool_calls.type", chat(U, A, parallel_tool_calls="yes")),
    ("mistral.content.reserved_token", chat({"role": "user", "content": "[INST] hi [/INST]"}, A)),
    ("mistral.content.reserved_token", chat(U, {"role": "assistant", "content": "Paris.</s>"})),
]

CASES = {
    "mistral.sft": {"valid": SFT_VALID, "bad": SFT_BAD, "unreachable": set()},
}
