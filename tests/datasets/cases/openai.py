"""Rule cases for the OpenAI packs: every rule id has a record that triggers it."""

from __future__ import annotations

from typing import Any

U = {"role": "user", "content": "What is the capital of France?"}
A = {"role": "assistant", "content": "Paris."}
S = {"role": "system", "content": "You are terse."}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
CALL = {"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}


def chat(*msgs: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"messages": list(msgs), **top}


SFT_VALID: list[dict[str, Any]] = [
    chat(U, A),
    chat(S, U, A),
    chat(S, U, {**A, "weight": 0}, U, {**A, "weight": 1}),
    # the OpenAI tool-call format, which the cookbook checks wrongly flag
    chat(U, {"role": "assistant", "tool_calls": [CALL]},
         {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"},
         {"role": "assistant", "content": "21 degrees."}, tools=TOOLS, parallel_tool_calls=False),
    chat(U, {"role": "assistant", "content": None, "tool_calls": [CALL]}, tools=TOOLS),
    chat({"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                      {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]},
         A),
    chat({"role": "user", "content": "Hi", "name": "alice"}, A),
    chat(U, {"role": "assistant", "content": "Paris. Café ≤ 你好 🚀"}),
]

SFT_BAD: list[tuple[str, dict[str, Any]]] = [
    ("openai.example.unknown_key", {**chat(U, A), "extra": 1}),
    ("openai.messages.missing", {"message": [U, A]}),
    ("openai.messages.type", {"messages": "hi"}),
    ("openai.messages.empty", {"messages": []}),
    ("openai.message.type", chat(U, "hello", A)),  # type: ignore[arg-type]
    ("openai.message.unknown_key", chat({**U, "mood": "happy"}, A)),
    ("openai.role.missing", chat({"content": "hi"}, A)),
    ("openai.role.unknown", chat({"role": "human", "content": "hi"}, A)),
    ("openai.content.missing", chat({"role": "user"}, A)),
    ("openai.content.type", chat({"role": "user", "content": 42}, A)),
    ("openai.content.empty", chat(U, {"role": "assistant", "content": "  "})),
    ("openai.content.part", chat({"role": "user", "content": [{"type": "audio", "x": 1}]}, A)),
    ("openai.image.not_allowed", chat(U, {"role": "assistant", "content": [
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]})),
    ("openai.image.url", chat({"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "ftp://x"}}]}, A)),
    ("openai.name.type", chat({**U, "name": ""}, A)),
    ("openai.weight.invalid", chat(U, {**A, "weight": 0.5})),
    ("openai.weight.not_assistant", chat({**U, "weight": 1}, A)),
    ("openai.assistant.missing", chat(S, U)),
    ("openai.assistant.all_weight_zero", chat(U, {**A, "weight": 0})),
    ("openai.example.trailing_non_assistant", chat(U, A, U)),
    ("openai.tool_calls.type", chat(U, {"role": "assistant", "tool_calls": []}, tools=TOOLS)),
    ("openai.tool_calls.type", chat(U, {"role": "assistant", "content": "x", "tool_calls": []})),
    ("openai.tool_call.id", chat(U, {"role": "assistant", "tool_calls": [{**CALL, "id": 7}]}, tools=TOOLS)),
    ("openai.tool_call.duplicate_id", chat(U, {"role": "assistant", "tool_calls": [CALL, CALL]},
                                           tools=TOOLS)),
    ("openai.tool_call.type", chat(U, {"role": "assistant", "tool_calls": [{**CALL, "type": "code"}]},
                                   tools=TOOLS)),
    ("openai.tool_call.function", chat(U, {"role": "assistant",
                                           "tool_calls": [{"id": "c", "type": "function"}]}, tools=TOOLS)),
    ("openai.tool_call.arguments_type", chat(U, {"role": "assistant", "tool_calls": [
        {**CALL, "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}, tools=TOOLS)),
    ("openai.tool_call.arguments_json", chat(U, {"role": "assistant", "tool_calls": [
        {**CALL, "function": {"name": "get_weather", "arguments": "{city: Paris"}}]}, tools=TOOLS)),
    ("openai.tool_call.unknown_function", chat(U, {"role": "assistant", "tool_calls": [
        {**CALL, "function": {"name": "get_wether", "arguments": "{}"}}]}, tools=TOOLS)),
    ("openai.tool_result.id", chat(U, {"role": "assistant", "tool_calls": [CALL]},
                                   {"role": "tool", "content": "x"}, A, tools=TOOLS)),
    ("openai.tool_result.unmatched", chat(U, {"role": "assistant", "tool_calls": [CALL]},
                                          {"role": "tool", "tool_call_id": "call_9", "content": "x"}, A,
                                          tools=TOOLS)),
    ("openai.tools.type", chat(U, A, tools={"get_weather": {}})),
    ("openai.tools.function", chat(U, A, tools=[{"type": "function", "function": {"name": "bad name!"}}])),
    ("openai.parallel_tool_calls.type", chat(U, A, parallel_tool_calls="yes")),
    ("openai.content.reserved_token", chat({"role": "user", "content": "hi <|endoftext|>"}, A)),
]

# rules this pack declares that cannot be triggered by its spec (documented here, checked by the test)
SFT_UNREACHABLE = {"openai.role.order", "openai.tools.not_allowed"}

PREF = [{"role": "assistant", "content": "Paris."}]
NONPREF = [{"role": "assistant", "content": "Lyon."}]


def dpo(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"input": {"messages": [U]}, "preferred_output": PREF,
                            "non_preferred_output": NONPREF}
    base.update(kw)
    return base


DPO_VALID: list[dict[str, Any]] = [
    dpo(),
    dpo(input={"messages": [S, U, A, U]}),
    dpo(input={"messages": [U], "tools": TOOLS}),
]

DPO_BAD: list[tuple[str, dict[str, Any]]] = [
    ("openai.example.unknown_key", dpo(extra=1)),
    ("openai.dpo.input", {"preferred_output": PREF, "non_preferred_output": NONPREF}),
    ("openai.dpo.input_last_role", dpo(input={"messages": [U, A]})),
    ("openai.dpo.output", dpo(preferred_output=[])),
    ("openai.dpo.output_role", dpo(preferred_output=[{"role": "user", "content": "x"}])),
    ("openai.dpo.output_content", dpo(preferred_output=[{"role": "assistant", "content": ""}])),
    ("openai.dpo.identical_outputs", dpo(non_preferred_output=PREF)),
    ("openai.messages.type", dpo(input={"messages": {}})),
    ("openai.messages.empty", dpo(input={"messages": []})),
    ("openai.message.type", dpo(input={"messages": [1, U]})),
    ("openai.message.unknown_key", dpo(input={"messages": [{**U, "x": 1}]})),
    ("openai.role.missing", dpo(input={"messages": [{"content": "x"}, U]})),
    ("openai.role.unknown", dpo(input={"messages": [{"role": "bot", "content": "x"}, U]})),
    ("openai.content.missing", dpo(input={"messages": [{"role": "user"}]})),
    ("openai.content.type", dpo(input={"messages": [{"role": "user", "content": 1}]})),
    ("openai.content.empty", dpo(input={"messages": [{"role": "user", "content": ""}]})),
    ("openai.content.part", dpo(input={"messages": [{"role": "user", "content": [{"type": "x"}]}]})),
    ("openai.image.url", dpo(input={"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {}}]}]})),
    ("openai.image.not_allowed", dpo(input={"messages": [U, {"role": "assistant", "content": [
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}, U]})),
    ("openai.name.type", dpo(input={"messages": [{**U, "name": 3}]})),
    ("openai.tool_calls.type", dpo(input={"messages": [U, {"role": "assistant", "tool_calls": {}}, U]})),
    ("openai.tool_call.id", dpo(input={"messages": [U, {"role": "assistant", "tool_calls": [
        {**CALL, "id": ""}]}, U], "tools": TOOLS})),
    ("openai.tool_call.duplicate_id", dpo(input={"messages": [U, {"role": "assistant", "tool_calls": [
        CALL, CALL]}, U], "tools": TOOLS})),
    ("openai.tool_call.type", dpo(input={"messages": [U, {"role": "assistant", "tool_calls": [
        {**CALL, "type": "x"}]}, U], "tools": TOOLS})),
    ("openai.tool_call.function", dpo(input={"messages": [U, {"role": "assistant", "tool_calls": [
        {"id": "a"}]}, U], "tools": TOOLS})),
    ("openai.tool_call.arguments_type", dpo(input={"messages": [U, {"role": "assistant", "tool_calls": [
        {**CALL, "function": {"name": "get_weather", "arguments": 1}}]}, U], "tools": TOOLS})),
    ("openai.tool_call.arguments_json", dpo(input={"messages": [U, {"role": "assistant", "tool_calls": [
        {**CALL, "function": {"name": "get_weather", "arguments": "[1]"}}]}, U], "tools": TOOLS})),
    ("openai.tool_call.unknown_function", dpo(input={"messages": [U, {"role": "assistant", "tool_calls": [
        {**CALL, "function": {"name": "nope", "arguments": "{}"}}]}, U], "tools": TOOLS})),
    ("openai.tool_result.id", dpo(input={"messages": [U, {"role": "tool", "content": "x"}, U]})),
    ("openai.tool_result.unmatched", dpo(input={"messages": [
        U, {"role": "tool", "tool_call_id": "z", "content": "x"}, U]})),
    ("openai.tools.type", dpo(input={"messages": [U], "tools": "x"})),
    ("openai.tools.function", dpo(input={"messages": [U], "tools": [{"type": "function"}]})),
    ("openai.parallel_tool_calls.type", dpo(input={"messages": [U], "parallel_tool_calls": 1})),
    ("openai.content.reserved_token", dpo(input={"messages": [{"role": "user", "content": "<|im_start|>"}]})),
]
DPO_UNREACHABLE = {"openai.role.order", "openai.tools.not_allowed", "openai.messages.missing"}

CASES = {
    "openai.sft": {"valid": SFT_VALID, "bad": SFT_BAD, "unreachable": SFT_UNREACHABLE},
    "openai.dpo": {"valid": DPO_VALID, "bad": DPO_BAD, "unreachable": DPO_UNREACHABLE},
}
