"""Rule cases for the Vertex AI Gemini packs: every rule id has a record that triggers it."""

from __future__ import annotations

from typing import Any


def turn(role: str, *parts: Any) -> dict[str, Any]:
    return {"role": role, "parts": [p if isinstance(p, dict) else {"text": p} for p in parts]}


U = turn("user", "What is the capital of France?")
M = turn("model", "Paris.")
SYS = {"role": "system", "parts": [{"text": "You are terse."}]}
IMG = {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://bucket/images/1.jpg"}}
TOOLS = [{"functionDeclarations": [
    {"name": "get_weather", "description": "Weather for a city",
     "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}},
    {"name": "get_time"},
]}]
CALL = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
RESP = {"functionResponse": {"name": "get_weather", "response": {"output": {"temp": 21}}}}


def sft(*turns: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"contents": list(turns), **top}


SFT_VALID: list[dict[str, Any]] = [
    sft(U, M),
    sft(U, M, turn("user", "And of Italy?"), turn("model", "Rome."), systemInstruction=SYS),
    sft(turn("user", IMG, "Describe this image."), turn("model", "A man on a road."),
        system_instruction={"parts": [{"text": "Describe images."}]}),
    # the function-calling tuning format: call, response in the next user turn, final answer
    sft(U, turn("model", CALL), turn("user", RESP), turn("model", "21 degrees."), tools=TOOLS),
    sft(U, turn("model", CALL), tools=TOOLS),  # ending on the call is how the docs teach calling
    sft(U, turn("model", CALL, {"functionCall": {"name": "get_time"}}),
        turn("user", {"functionResponse": {"name": "get_time", "response": {"t": "12:00"}}}, RESP),
        turn("model", "21 degrees at noon."), tools=TOOLS),
    # protobuf JSON also accepts the proto field names
    sft(turn("user", {"file_data": {"mime_type": "application/pdf", "file_uri": "https://x.test/a.pdf"}},
             "Summarize."), turn("model", "A report.")),
    sft(turn("user", {"fileData": {"mimeType": "video/mp4", "fileUri": "gs://b/v.mp4"},
                      "videoMetadata": {"startOffset": "1s", "endOffset": "5s"}}, "What happens?"),
        turn("model", "A dog runs.")),
    sft(U, turn("model", "Paris. Café ≤ 你好 🚀")),
]

SFT_BAD: list[tuple[str, dict[str, Any]]] = [
    ("vertex.example.unknown_key", sft(U, M, messages=[])),
    ("vertex.system_instruction.invalid", sft(U, M, systemInstruction={"parts": []})),
    ("vertex.system_instruction.invalid", sft(U, M, systemInstruction=SYS, system_instruction=SYS)),
    ("vertex.system_instruction.invalid", sft(U, M, systemInstruction={"parts": [IMG]})),
    ("vertex.contents.invalid", {"messages": [{"role": "user", "content": "hi"}]}),
    ("vertex.contents.invalid", sft()),
    ("vertex.content.invalid", sft("hi", M)),  # type: ignore[arg-type]
    ("vertex.content.invalid", sft({**U, "content": "hi"}, M)),
    ("vertex.role.invalid", sft(U, turn("assistant", "Paris."))),
    ("vertex.role.invalid", sft({"parts": [{"text": "hi"}]}, M)),
    ("vertex.role.order", sft(M, U, M)),
    ("vertex.role.order", sft(U, U, M)),
    ("vertex.parts.invalid", sft({"role": "user", "parts": "hi"}, M)),
    ("vertex.parts.empty", sft({"role": "user", "parts": []}, M)),
    ("vertex.parts.empty", sft(U, turn("model", "  "))),
    ("vertex.part.invalid", sft(turn("user", {"text": "a", **IMG}), M)),
    ("vertex.part.invalid", sft(turn("user", {}), M)),
    ("vertex.part.invalid", sft(turn("user", {"txt": "hi"}), M)),
    ("vertex.part.invalid", sft(U, turn("model", {"text": "Paris.", "thought": True}))),
    ("vertex.text.type", sft(turn("user", {"text": 5}), M)),
    ("vertex.text.empty", sft(turn("user", " ", "hi"), M)),
    ("vertex.text.reserved_token", sft(turn("user", "hi <start_of_turn>model"), M)),
    ("vertex.file.invalid", sft(turn("user", {"fileData": {"mimeType": "jpeg", "fileUri": "gs://b/x"}}), M)),
    ("vertex.file.invalid", sft(turn("user", {"fileData": {"mimeType": "image/png",
                                                           "fileUri": "/tmp/x.png"}}), M)),
    ("vertex.file.invalid", sft(turn("user", {"fileData": "gs://b/x.png"}), M)),
    ("vertex.file.role", sft(U, turn("model", IMG, "Here."))),
    ("vertex.file.too_many", sft(turn("user", *([IMG] * 31), "Compare."), M)),
    ("vertex.inline_data.discouraged", sft(turn("user", {"inlineData": {"mimeType": "image/png",
                                                                         "data": "iVBOR"}}, "What?"), M)),
    ("vertex.function_call.invalid", sft(U, turn("model", {"functionCall": {
        "name": "get_weather", "args": "{\"city\": \"Paris\"}"}}), tools=TOOLS)),
    ("vertex.function_call.invalid", sft(U, turn("model", {"functionCall": {"args": {}}}))),
    ("vertex.function_call.role", sft(turn("user", CALL), M)),
    ("vertex.function_call.unknown_function", sft(U, turn("model", {"functionCall": {
        "name": "get_wether", "args": {}}}), tools=TOOLS)),
    ("vertex.function_call.unanswered", sft(U, turn("model", CALL), turn("user", "Well?"), M, tools=TOOLS)),
    ("vertex.function_response.invalid", sft(U, turn("model", CALL), turn("user", {"functionResponse": {
        "name": "get_weather", "response": "21"}}), M, tools=TOOLS)),
    ("vertex.function_response.role", sft(U, turn("model", RESP))),
    ("vertex.function_response.unmatched", sft(turn("user", RESP), M)),
    ("vertex.function_response.unmatched", sft(U, turn("model", CALL, {"functionCall": {"name": "get_time"}}),
                                               turn("user", RESP), M, tools=TOOLS)),
    ("vertex.tools.invalid", sft(U, M, tools={"get_weather": {}})),
    ("vertex.tools.invalid", sft(U, M, tools=[{"googleSearch": {}}])),
    ("vertex.tools.invalid", sft(U, M, tools=[{"functionDeclarations": [{"name": "bad name!"}]}])),
    ("vertex.model.missing", sft(U)),
    ("vertex.example.trailing_user", sft(U, M, turn("user", "Thanks!"))),
]


def pref(*turns: dict[str, Any], completions: Any = None, **top: Any) -> dict[str, Any]:
    good = {"score": 1, "completion": turn("model", "Apple! Apple! Apple!")}
    bad = {"score": 0, "completion": turn("model", "Your favorite fruit is apple.")}
    return {"contents": list(turns) or [turn("user", "What is my favorite fruit?")],
            "completions": [good, bad] if completions is None else completions, **top}


PREF_VALID: list[dict[str, Any]] = [
    pref(system_instruction={"parts": [{"text": "You are a chat bot."}]}),
    pref(U, M, turn("user", "And of Italy?"), systemInstruction=SYS),
    pref(completions=[{"completion": turn("model", "Rome."), "score": 0},
                      {"score": 1, "completion": turn("model", "Paris.")}]),
]

PREF_BAD: list[tuple[str, dict[str, Any]]] = [
    ("vertex.example.unknown_key", pref(tools=TOOLS)),
    ("vertex.system_instruction.invalid", pref(system_instruction="Be terse.")),
    ("vertex.contents.invalid", {"completions": pref()["completions"]}),
    ("vertex.content.invalid", pref([U])),  # type: ignore[arg-type]
    ("vertex.role.invalid", pref(turn("human", "hi"))),
    ("vertex.role.invalid", pref(completions=[{"score": 1, "completion": turn("user", "a")},
                                              {"score": 0, "completion": turn("model", "b")}])),
    ("vertex.role.order", pref(M, U)),
    ("vertex.parts.invalid", pref({"role": "user", "text": "hi"})),
    ("vertex.parts.empty", pref(turn("user"))),
    ("vertex.part.invalid", pref(turn("user", "hi", {"text": "a", "inlineData": {}}))),
    ("vertex.text.type", pref(turn("user", {"text": ["hi"]}))),
    ("vertex.text.empty", pref(turn("user", "", "hi"))),
    ("vertex.text.reserved_token", pref(turn("user", "hi<end_of_turn>"))),
    ("vertex.part.not_text", pref(turn("user", IMG, "What is this?"))),
    ("vertex.contents.last_role", pref(U, M)),
    ("vertex.completions.invalid", pref(completions=[{"score": 1, "completion": M}])),
    ("vertex.completions.invalid", pref(completions=[{"score": 1, "completion": M}, {"score": 0}])),
    ("vertex.completions.invalid", {"contents": [U]}),
    ("vertex.completions.score", pref(completions=[{"score": 1, "completion": M},
                                                   {"score": 1, "completion": turn("model", "Lyon.")}])),
    ("vertex.completions.score", pref(completions=[{"score": 0.7, "completion": M},
                                                   {"score": 0, "completion": turn("model", "Lyon.")}])),
    ("vertex.completions.identical", pref(completions=[{"score": 1, "completion": M},
                                                       {"score": 0, "completion": M}])),
]

# reported by the engine when it counts tokens, never by `check`
UNREACHABLE = {"vertex.example.too_many_tokens"}

CASES = {
    "vertex.sft": {"valid": SFT_VALID, "bad": SFT_BAD, "unreachable": UNREACHABLE},
    "vertex.dpo": {"valid": PREF_VALID, "bad": PREF_BAD, "unreachable": UNREACHABLE},
}
