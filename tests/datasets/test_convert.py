"""Conversion between record formats: outputs, round trips, the lossiness report, strictness,
atomic writes, and validity of the output against the target vendor's rule pack."""

from __future__ import annotations

import copy
import importlib.util
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuneops.datasets.convert import (
    CHANGE_KINDS,
    DROP_REASONS,
    LOSS_KINDS,
    ConversionReport,
    convert_file,
)
from tuneops.datasets.detect import detect_record
from tuneops.datasets.engine import ValidationOptions, validate_file
from tuneops.datasets.formats import WRITERS
from tuneops.datasets.rules import PACKS, get_pack
from tuneops.errors import LossyConversionError, UnknownProviderError, UsageError

SYS = {"role": "system", "content": "You are a concise travel assistant."}
TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}},
]


def u(text: str, **kw: Any) -> dict[str, Any]:
    return {"role": "user", "content": text, **kw}


def a(text: str, **kw: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": text, **kw}


def call(cid: str, city: str) -> dict[str, Any]:
    # compact JSON, as the Gemini -> OpenAI direction writes it, so that round trips are exact
    return {"id": cid, "type": "function",
            "function": {"name": "get_weather", "arguments": orjson.dumps({"city": city}).decode()}}


def chat(*msgs: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"messages": list(msgs), **top}


# Text-only conversations every chat format can carry exactly.
PLAIN: list[dict[str, Any]] = [
    chat(SYS, u("Best month to visit Lisbon?"), a("May or September: warm, fewer crowds.")),
    chat(SYS, u("Is the metro in Tokyo easy?"), a("Yes; signs are in English too."),
         u("And at night?"), a("It stops around midnight; taxis after that.")),
    chat(u("Translate 'thank you' to Japanese."), a("Arigatou gozaimasu (ありがとうございます).")),
    chat(SYS, u("Do I need a visa for Brazil as an EU citizen?"),
         a("No, for stays up to 90 days.")),
    chat(u("Pack list for Iceland in March?"), a("Layers, waterproof shell, crampons, 🧤.")),
]

# Tool calls with ids "call_1", "call_2", ... in order: what Gemini's id-less calls come back as.
TOOL_EXAMPLES: list[dict[str, Any]] = [
    chat(SYS, u("Weather in Paris?"),
         {"role": "assistant", "tool_calls": [call("call_1", "Paris")]},
         {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c":21,"sky":"clear"}'},
         a("21 °C and clear."), tools=TOOLS),
    chat(u("Compare Paris and Oslo right now."),
         {"role": "assistant", "tool_calls": [call("call_1", "Paris"), call("call_2", "Oslo")]},
         {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c":21}'},
         {"role": "tool", "tool_call_id": "call_2", "content": '{"temp_c":9}'},
         a("Paris is 12 degrees warmer."), tools=TOOLS),
]

PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
       "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")

# A realistic OpenAI file: plain turns, tools, weights, names, images, extra system messages.
REALISTIC: list[dict[str, Any]] = [
    *PLAIN,
    *TOOL_EXAMPLES,
    chat(SYS, u("Suggest a day trip from Rome."), a("Tivoli.", weight=0),
         u("Something by the sea?"), a("Ostia Antica, then the beach at Ostia.", weight=1)),
    chat(SYS, u("Hi, I'm planning a honeymoon.", name="maria"), a("Congratulations! Where to?")),
    chat(SYS, {"role": "user", "content": [
        {"type": "text", "text": "Which city is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/skyline.jpg"}}]},
        a("That looks like Singapore's Marina Bay.")),
    chat(SYS, {"role": "system", "content": "Answer in French."}, u("Capital of Peru?"),
         a("Lima.")),
    chat(SYS, u("Cheapest way from Milan to Venice?"), a("The regional train, about 2.5 hours."),
         {"role": "system", "content": "The user is on a budget."}, u("And to Verona?"),
         a("Regional train again, under 2 hours.")),
    chat(u("Thanks!"), a("Enjoy the trip!")),
    chat(SYS, {"role": "user", "content": [
        {"type": "text", "text": "What does this sign say?"},
        {"type": "image_url", "image_url": {"url": PNG}}]},
        a("It says 'Exit'."), u("Where does it lead?"), a("To platform 2.")),
]

DPO: list[dict[str, Any]] = [
    {"input": {"messages": [SYS, u("Best month to visit Lisbon?")]},
     "preferred_output": [a("May or September.")],
     "non_preferred_output": [a("Any month is fine, I guess.")]},
    {"input": {"messages": [u("Is tap water safe in Vienna?")]},
     "preferred_output": [a("Yes, it comes from Alpine springs.")],
     "non_preferred_output": [a("No.")]},
] * 6


def write(path: Path, records: list[Any]) -> Path:
    path.write_bytes(b"".join(
        (r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records
    ))
    return path


def read(path: Path) -> list[Any]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def need_pack(provider: str, method: str = "sft") -> None:
    """Skip when the target's rule pack is not written yet (its module does not exist)."""
    module = PACKS[(provider, method)].partition(":")[0]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"rule pack module {module} does not exist yet")


def convert(tmp_path: Path, records: list[Any], provider: str, method: str = "sft",
            name: str = "out.jsonl", **kw: Any) -> tuple[ConversionReport, list[Any]]:
    need_pack(provider, method)
    src = write(tmp_path / f"src-{name}", records)
    dst = tmp_path / name
    report = convert_file(src, dst, to_provider=provider, to_method=method, **kw)
    return report, read(dst)


SFT_TARGETS = ["openai", "vertex", "mistral", "together", "fireworks", "bedrock", "bedrock-nova"]


# ------------------------------------------------------------------------------- outputs, round trip


@pytest.mark.parametrize("provider", SFT_TARGETS)
def test_plain_chat_converts_without_loss_and_round_trips_exactly(tmp_path: Path,
                                                                  provider: str) -> None:
    report, out = convert(tmp_path, PLAIN, provider)
    fmt = get_pack(provider).record_format
    assert report.target_format == fmt and report.source_format == "openai-chat"
    assert report.lossless and not report.changes, report.summary()
    assert report.examples_read == report.examples_written == len(PLAIN)
    assert all(detect_record(r) in (fmt, "openai-chat") for r in out)
    back, again = convert(tmp_path, out, "openai", name="back.jsonl")
    assert back.source_format == fmt and back.lossless and not back.changes
    assert again == PLAIN


# What the realistic file loses on the way to each target, and nothing more.
REALISTIC_LOSSES: dict[str, set[str]] = {
    "openai": set(),
    "mistral": {"names"},
    "together": {"images", "system_merged", "mid_conversation_system"},
    "fireworks": {"images", "system_merged", "mid_conversation_system"},
    "vertex": {"weights", "names", "images", "system_merged", "mid_conversation_system"},
    "bedrock": {"tool_calls", "tool_definitions", "weights", "names", "images", "system_merged",
                "mid_conversation_system"},
    "bedrock-nova": {"tool_calls", "tool_definitions", "weights", "names", "images",
                     "system_merged", "mid_conversation_system"},
}


@pytest.mark.parametrize("provider", SFT_TARGETS)
def test_realistic_file_loses_only_what_the_target_cannot_carry(tmp_path: Path,
                                                                provider: str) -> None:
    report, _out = convert(tmp_path, REALISTIC, provider)
    assert set(report.losses) == REALISTIC_LOSSES[provider], report.summary()
    assert report.examples_written == len(REALISTIC) and not report.dropped


def test_together_gets_inlined_images_and_uniform_content(tmp_path: Path) -> None:
    report, out = convert(tmp_path, REALISTIC, "together")
    msgs = out[-1]["messages"]
    assert all(isinstance(m["content"], list) for m in msgs)
    assert msgs[1]["content"][1] == {"type": "image_url", "image_url": {"url": PNG}}
    assert report.losses["images"].lines == [10]  # the https image; the base64 one stays


def test_gemini_output_shape(tmp_path: Path) -> None:
    report, out = convert(tmp_path, [TOOL_EXAMPLES[0]], "vertex")
    assert out[0] == {
        "systemInstruction": {"parts": [{"text": SYS["content"]}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
            {"role": "user", "parts": [{"functionResponse": {
                "name": "get_weather", "response": {"temp_c": 21, "sky": "clear"}}}]},
            {"role": "model", "parts": [{"text": "21 °C and clear."}]},
        ],
        "tools": [{"functionDeclarations": [TOOLS[0]["function"]]}],
    }
    assert report.lossless
    assert set(report.changes) == {"tool_call_ids_dropped"}


def test_tool_calls_round_trip_through_gemini(tmp_path: Path) -> None:
    report, out = convert(tmp_path, TOOL_EXAMPLES, "vertex")
    assert report.lossless, report.summary()
    # parallel calls: both results travel in one user turn
    assert [len(c["parts"]) for c in out[1]["contents"]] == [1, 2, 2, 1]
    back, again = convert(tmp_path, out, "openai", name="back.jsonl")
    assert back.lossless and set(back.changes) == {"tool_call_ids_generated"}
    assert again == TOOL_EXAMPLES


def test_mistral_ids_are_nine_characters_and_consistent(tmp_path: Path) -> None:
    report, out = convert(tmp_path, TOOL_EXAMPLES, "mistral")
    assert report.lossless
    info = report.changes["tool_call_ids_remapped"]
    assert info.examples == 2 and info.lines == [1, 2]
    for rec in out:
        calls = [c["id"] for m in rec["messages"] for c in m.get("tool_calls", [])]
        results = [m["tool_call_id"] for m in rec["messages"] if m["role"] == "tool"]
        assert calls == results and len(set(calls)) == len(calls)
        assert all(len(i) == 9 and i.isalnum() and i.isascii() for i in calls)
    # deterministic: the same input gives the same ids
    _, again = convert(tmp_path, TOOL_EXAMPLES, "mistral", name="again.jsonl")
    assert again == out


def test_mistral_keeps_ids_that_already_fit(tmp_path: Path) -> None:
    rec = copy.deepcopy(TOOL_EXAMPLES[0])
    rec["messages"][2]["tool_calls"][0]["id"] = "abcDEF123"
    rec["messages"][3]["tool_call_id"] = "abcDEF123"
    report, out = convert(tmp_path, [rec], "mistral")
    assert out[0]["messages"][2]["tool_calls"][0]["id"] == "abcDEF123"
    assert not report.changes and report.lossless


@pytest.mark.parametrize("provider", ["bedrock", "bedrock-nova"])
def test_bedrock_outputs(tmp_path: Path, provider: str) -> None:
    report, out = convert(tmp_path, [PLAIN[1]], provider)
    assert report.lossless
    if provider == "bedrock":
        assert out[0]["system"] == SYS["content"]
        assert [m["role"] for m in out[0]["messages"]] == ["user", "assistant"] * 2
        assert all(isinstance(m["content"], str) for m in out[0]["messages"])
    else:
        assert out[0]["schemaVersion"] == "bedrock-conversation-2024"
        assert out[0]["system"] == [{"text": SYS["content"]}]
        assert out[0]["messages"][0] == {"role": "user",
                                         "content": [{"text": "Is the metro in Tokyo easy?"}]}


def test_realistic_file_to_claude_drops_what_claude_cannot_carry(tmp_path: Path) -> None:
    report, out = convert(tmp_path, REALISTIC, "bedrock")
    assert report.examples_written == len(REALISTIC)
    assert set(report.losses) == {"tool_calls", "tool_definitions", "weights", "names", "images",
                                  "system_merged", "mid_conversation_system"}
    assert report.losses["tool_calls"].lines == [6, 7]
    # the tool example keeps its question and final answer
    assert out[5]["messages"] == [{"role": "user", "content": "Weather in Paris?"},
                                  {"role": "assistant", "content": "21 °C and clear."}]


def test_nova_source_with_tools_and_images(tmp_path: Path) -> None:
    nova = {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "Be terse."}],
        "toolConfig": {"tools": [{"toolSpec": {
            "name": "get_weather", "description": "Current weather",
            "inputSchema": {"json": {"type": "object"}}}}]},
        "messages": [
            {"role": "user", "content": [
                {"text": "Weather where this photo was taken?"},
                {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/p.png"}}}}]},
            {"role": "assistant", "content": [{"toolUse": {
                "toolUseId": "tu1", "name": "get_weather", "input": {"city": "Oslo"}}}]},
            {"role": "user", "content": [{"toolResult": {
                "toolUseId": "tu1", "content": [{"json": {"temp_c": 9}}]}}]},
            {"role": "assistant", "content": [{"text": "9 °C in Oslo."}]},
        ],
    }
    report, out = convert(tmp_path, [nova], "openai")
    assert report.source_format == "bedrock-nova"
    assert out[0] == chat(
        {"role": "system", "content": "Be terse."},
        u("Weather where this photo was taken?"),
        {"role": "assistant", "tool_calls": [{"id": "tu1", "type": "function", "function": {
            "name": "get_weather", "arguments": '{"city":"Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "tu1", "content": '{"temp_c":9}'},
        a("9 °C in Oslo."),
        tools=[{"type": "function", "function": {
            "name": "get_weather", "description": "Current weather",
            "parameters": {"type": "object"}}}],
    )
    # OpenAI cannot fetch an s3:// image
    assert set(report.losses) == {"images"}
    # Nova to Nova keeps the S3 image; tool use is not written for Bedrock
    report, out = convert(tmp_path, [nova], "bedrock-nova", name="nova.jsonl")
    assert out[0]["messages"][0]["content"][1] == nova["messages"][0]["content"][1]
    assert set(report.losses) == {"tool_calls", "tool_definitions"}


def test_gemini_snake_case_source(tmp_path: Path) -> None:
    rec = {"system_instruction": {"role": "system", "parts": [{"text": "Be terse."}]},
           "contents": [
               {"role": "user", "parts": [{"text": "Describe."}, {"file_data": {
                   "mime_type": "image/png", "file_uri": "https://example.com/x.png"}}]},
               {"role": "model", "parts": [{"text": "A chart."}]}]}
    report, out = convert(tmp_path, [rec], "openai")
    assert report.lossless, report.summary()
    assert out[0]["messages"][0] == {"role": "system", "content": "Be terse."}
    assert out[0]["messages"][1]["content"][1] == {
        "type": "image_url", "image_url": {"url": "https://example.com/x.png"}}


def test_claude_to_nova_and_back(tmp_path: Path) -> None:
    claude = [{"system": "Be terse.", "messages": [u("q"), a("x"), u("q2"), a("y")]}] * 8
    report, out = convert(tmp_path, claude, "bedrock-nova")
    assert report.source_format == "bedrock-claude" and report.lossless
    back, again = convert(tmp_path, out, "bedrock", name="back.jsonl")
    assert back.lossless and again == claude


def test_preference_round_trip_through_vertex(tmp_path: Path) -> None:
    report, out = convert(tmp_path, DPO, "vertex", "dpo")
    assert report.lossless and not report.changes, report.summary()
    assert out[0] == {
        "system_instruction": {"parts": [{"text": SYS["content"]}]},
        "contents": [{"role": "user", "parts": [{"text": "Best month to visit Lisbon?"}]}],
        "completions": [
            {"score": 1, "completion": {"role": "model", "parts": [{"text": "May or September."}]}},
            {"score": 0, "completion": {"role": "model",
                                        "parts": [{"text": "Any month is fine, I guess."}]}},
        ],
    }
    back, again = convert(tmp_path, out, "openai", "dpo", name="back.jsonl")
    assert back.lossless and again == DPO


def test_preference_to_supervised_keeps_the_preferred_answer(tmp_path: Path) -> None:
    report, out = convert(tmp_path, DPO[:2], "openai")
    assert out[0] == chat(SYS, u("Best month to visit Lisbon?"), a("May or September."))
    assert report.losses["non_preferred_output"].examples == 2


def test_supervised_to_preference_is_refused(tmp_path: Path) -> None:
    src = write(tmp_path / "a.jsonl", PLAIN)
    with pytest.raises(UsageError, match="no preferred / non-preferred"):
        convert_file(src, tmp_path / "b.jsonl", to_provider="openai", to_method="dpo")
    assert not (tmp_path / "b.jsonl").exists()


def test_prompt_completion_source(tmp_path: Path) -> None:
    report, out = convert(tmp_path, [{"prompt": "2+2=", "completion": "4"}], "vertex")
    assert report.source_format == "prompt-completion" and report.lossless
    assert out == [{"contents": [{"role": "user", "parts": [{"text": "2+2="}]},
                                 {"role": "model", "parts": [{"text": "4"}]}]}]


def test_plain_text_source_is_refused(tmp_path: Path) -> None:
    src = write(tmp_path / "a.jsonl", [{"text": "hello"}])
    with pytest.raises(UsageError, match="no conversation roles"):
        convert_file(src, tmp_path / "b.jsonl", to_provider="openai")


def test_from_format_overrides_detection(tmp_path: Path) -> None:
    # plain user/assistant chat is also valid Claude data; say so explicitly
    report, _ = convert(tmp_path, [chat(u("hi"), a("hello"))], "vertex",
                        from_format="bedrock-claude")
    assert report.source_format == "bedrock-claude" and report.lossless


def test_unknown_names(tmp_path: Path) -> None:
    src = write(tmp_path / "a.jsonl", PLAIN)
    with pytest.raises(UsageError, match="unknown source format"):
        convert_file(src, tmp_path / "b.jsonl", to_provider="openai", from_format="csv")
    with pytest.raises(UnknownProviderError):
        convert_file(src, tmp_path / "b.jsonl", to_provider="openia")


# ----------------------------------------------------------------------- losses, changes and drops

IMG = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
GEM_CALL = {"contents": [
    {"role": "user", "parts": [{"text": "Weather in Oslo?"}]},
    {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]},
    {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                     "response": {"temp_c": 9}}}]},
    {"role": "model", "parts": [{"text": "9 degrees."}]},
]}
TOOL_DPO = {"input": {"messages": [*TOOL_EXAMPLES[0]["messages"][:4], u("Thanks, and Lyon?")],
                      "tools": TOOLS},
            "preferred_output": [a("Let me check Lyon.")],
            "non_preferred_output": [a("No idea.")]}

# kind -> (a record showing it, target provider, target method)
LOSS_CASES: dict[str, tuple[Any, str, str]] = {
    "weights": (chat(u("q"), a("x", weight=0), u("q2"), a("y")), "vertex", "sft"),
    "system_merged": (chat(SYS, {"role": "system", "content": "More."}, u("q"), a("x")), "vertex",
                      "sft"),
    "mid_conversation_system": (chat(u("q"), a("x"), SYS, u("q2"), a("y")), "vertex", "sft"),
    "images": (chat({"role": "user", "content": [{"type": "text", "text": "q"}, IMG]}, a("x")),
               "together", "sft"),
    "other_media": ({"contents": [
        {"role": "user", "parts": [{"text": "What happens?"}, {"fileData": {
            "mimeType": "video/mp4", "fileUri": "gs://b/clip.mp4"}}]},
        {"role": "model", "parts": [{"text": "A cat jumps."}]}]}, "openai", "sft"),
    "image_detail": (chat({"role": "user", "content": [
        {"type": "text", "text": "q"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}]},
        a("x")), "vertex", "sft"),
    "tool_calls": (TOOL_DPO, "vertex", "dpo"),
    "tool_definitions": (TOOL_DPO, "vertex", "dpo"),
    "tool_definition_fields": (chat(u("q"), a("x"), tools=[
        {"type": "function", "function": {**TOOLS[0]["function"], "strict": True}}]), "vertex",
        "sft"),
    "names": (chat(u("q", name="bob"), a("x")), "vertex", "sft"),
    "parallel_tool_calls": (chat(u("q"), a("x"), tools=TOOLS, parallel_tool_calls=False),
                            "vertex", "sft"),
    "turns_merged": (chat(u("q"), u("more"), a("x")), "together", "sft"),
    "trailing_turns": (chat(u("q"), a("x"), u("bye")), "mistral", "sft"),
    "leading_turns": (chat(a("Hello, how can I help?"), u("q"), a("x")), "vertex", "sft"),
    "non_preferred_output": (DPO[0], "openai", "sft"),
    "unknown_keys": ({**chat(u("q"), a("x")), "metadata": {"source": "crm"}}, "openai", "sft"),
    "unsupported_parts": (chat({"role": "user", "content": [
        {"type": "text", "text": "q"}, {"type": "input_audio", "input_audio": {"data": "AAA"}}]},
        a("x")), "openai", "sft"),
    "tool_call_arguments": (chat(u("q"), {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_weather",
                                                      "arguments": "Paris"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"}, a("x")), "vertex", "sft"),
}

CHANGE_CASES: dict[str, tuple[Any, str, str]] = {
    "tool_call_ids_remapped": (TOOL_EXAMPLES[0], "mistral", "sft"),
    "tool_call_ids_generated": (GEM_CALL, "openai", "sft"),
    "tool_call_ids_dropped": (TOOL_EXAMPLES[0], "vertex", "sft"),
    "json_reserialized": (chat(u("q"), {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_weather",
                                                      "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp_c":21}'}, a("x")), "vertex",
        "sft"),
    "text_parts_joined": ({"systemInstruction": {"parts": [{"text": "Be terse."},
                                                           {"text": "Be kind."}]},
                           "contents": [{"role": "user", "parts": [{"text": "q"}]},
                                        {"role": "model", "parts": [{"text": "x"}]}]},
                          "bedrock", "sft"),
    "default_weights_removed": (chat(u("q"), a("x", weight=1)), "vertex", "sft"),
    "tool_results_wrapped": (chat(u("q"), {"role": "assistant", "tool_calls": [call("c1", "x")]},
                                  {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                                  a("x")), "vertex", "sft"),
}

DROP_CASES: dict[str, tuple[Any, str, str]] = {
    "no_assistant_turn": (chat(SYS, u("q")), "vertex", "sft"),
    "not_source_format": ({"messages": [{"role": "user", "content": "q"}, "oops"]}, "openai",
                          "sft"),
    "no_preference_pair": ({**DPO[0], "preferred_output": [a("x"), a("y")]}, "vertex", "dpo"),
    "no_user_turn": ({**DPO[0], "input": {"messages": [SYS]}}, "vertex", "dpo"),
}


def test_every_kind_has_a_case() -> None:
    assert sorted(LOSS_CASES) == sorted(LOSS_KINDS)
    assert sorted(CHANGE_CASES) == sorted(CHANGE_KINDS)
    assert sorted(DROP_CASES) == sorted(DROP_REASONS)


def _with_neighbours(record: Any) -> list[Any]:
    """The record on lines 2 and 4, after and between clean records of the same format."""
    clean = copy.deepcopy(record)
    if "messages" in clean:
        clean = chat(u("clean"), a("clean"))
    elif "input" in clean:
        clean = DPO[1]
    else:
        clean = {"contents": [{"role": "user", "parts": [{"text": "clean"}]},
                              {"role": "model", "parts": [{"text": "clean"}]}]}
    return [clean, record, clean, record]


@pytest.mark.parametrize("kind", sorted(LOSS_CASES))
def test_loss_is_reported_with_count_and_lines(tmp_path: Path, kind: str) -> None:
    record, provider, method = LOSS_CASES[kind]
    report, _ = convert(tmp_path, _with_neighbours(record), provider, method)
    info = report.losses.get(kind)
    assert info is not None, report.summary()
    # every preference pair loses its non-preferred side, the clean neighbours too
    lines = [1, 2, 3, 4] if kind == "non_preferred_output" else [2, 4]
    assert (info.examples, info.lines) == (len(lines), lines)
    assert info.description == LOSS_KINDS[kind]
    assert not report.lossless
    assert kind in report.summary() and report.to_dict()["losses"][kind]["lines"] == lines


@pytest.mark.parametrize("kind", sorted(CHANGE_CASES))
def test_change_is_reported_and_is_not_a_loss(tmp_path: Path, kind: str) -> None:
    record, provider, method = CHANGE_CASES[kind]
    report, _ = convert(tmp_path, _with_neighbours(record), provider, method)
    info = report.changes.get(kind)
    assert info is not None, report.summary()
    assert (info.examples, info.lines) == (2, [2, 4])
    assert report.lossless, report.summary()


@pytest.mark.parametrize("reason", sorted(DROP_CASES))
def test_dropped_example_is_reported_with_its_line(tmp_path: Path, reason: str) -> None:
    record, provider, method = DROP_CASES[reason]
    report, out = convert(tmp_path, _with_neighbours(record), provider, method)
    info = report.dropped.get(reason)
    assert info is not None, report.summary()
    assert (info.examples, info.lines) == (2, [2, 4])
    assert report.examples_read == 4 and report.examples_written == len(out) == 2
    assert report.examples_dropped == 2 and not report.lossless


def test_losses_are_counted_per_example_not_per_occurrence(tmp_path: Path) -> None:
    rec = chat(u("q", name="a"), a("x", name="b"), u("q2", name="c"), a("y"))
    report, _ = convert(tmp_path, [rec], "vertex")
    assert report.losses["names"].examples == 1


def test_line_numbers_are_capped_but_counts_are_not(tmp_path: Path) -> None:
    report, _ = convert(tmp_path, [chat(u("q", name="n"), a("x"))] * 25, "vertex")
    info = report.losses["names"]
    assert info.examples == 25 and info.lines == list(range(1, 11))
    assert "..." in report.summary()


def test_invalid_lines_are_reported_not_skipped(tmp_path: Path) -> None:
    records = [PLAIN[0], b"{not json", PLAIN[1], b"", b"[1, 2]", PLAIN[2]]
    report, out = convert(tmp_path, records, "vertex")
    assert [(x.line, x.rule) for x in report.invalid_lines] == [
        (2, "jsonl.invalid_json"), (5, "jsonl.not_object")]
    assert report.invalid_count == 2 and report.blank_lines == 1
    assert report.examples_read == 3 and len(out) == 3
    assert not report.lossless and "2 invalid line(s)" in report.summary()
    assert report.to_dict()["invalid_lines"][0]["line"] == 2


def test_report_to_dict_is_json(tmp_path: Path) -> None:
    report, _ = convert(tmp_path, REALISTIC, "vertex")
    d = orjson.loads(orjson.dumps(report.to_dict()))
    assert d["source_format"] == "openai-chat" and d["target_format"] == "gemini-contents"
    assert d["target_provider"] == "vertex" and d["target_method"] == "sft"
    assert d["examples_read"] == d["examples_written"] == len(REALISTIC)
    assert d["written"] is True and d["lossless"] is False
    assert d["losses"]["weights"] == {"examples": 1, "lines": [8],
                                      "description": LOSS_KINDS["weights"]}
    assert set(d) >= {"losses", "changes", "dropped", "invalid_lines", "invalid_count"}


def test_provider_aliases_are_resolved_in_the_report(tmp_path: Path) -> None:
    src = write(tmp_path / "p.jsonl", PLAIN)
    rep = convert_file(src, tmp_path / "g.jsonl", to_provider="gemini", to_method="supervised")
    assert (rep.target_provider, rep.target_method) == ("vertex", "sft")


# ------------------------------------------------------------------------ strict, atomic, src/dst


def _leftovers(directory: Path, *keep: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_strict_refuses_and_writes_nothing(tmp_path: Path) -> None:
    src = write(tmp_path / "src.jsonl", REALISTIC)
    dst = tmp_path / "out.jsonl"
    with pytest.raises(LossyConversionError) as exc:
        convert_file(src, dst, to_provider="vertex", strict=True)
    report = exc.value.report  # type: ignore[attr-defined]
    assert isinstance(report, ConversionReport) and not report.written
    assert set(report.losses) >= {"weights", "names", "system_merged"}
    assert "weights" in str(exc.value) and "nothing written" in str(exc.value)
    assert not dst.exists()
    assert _leftovers(tmp_path, "src.jsonl") == []


def test_strict_leaves_an_existing_destination_alone(tmp_path: Path) -> None:
    src = write(tmp_path / "src.jsonl", [chat(u("q", name="n"), a("x"))])
    dst = tmp_path / "out.jsonl"
    dst.write_bytes(b"previous\n")
    with pytest.raises(LossyConversionError):
        convert_file(src, dst, to_provider="vertex", strict=True)
    assert dst.read_bytes() == b"previous\n"


def test_strict_refuses_invalid_lines_too(tmp_path: Path) -> None:
    src = write(tmp_path / "src.jsonl", [PLAIN[0], b"{oops"])
    with pytest.raises(LossyConversionError) as exc:
        convert_file(src, tmp_path / "out.jsonl", to_provider="vertex", strict=True)
    assert exc.value.report.invalid_count == 1  # type: ignore[attr-defined]


def test_strict_writes_when_nothing_is_lost(tmp_path: Path) -> None:
    src = write(tmp_path / "src.jsonl", PLAIN)
    report = convert_file(src, tmp_path / "out.jsonl", to_provider="vertex", strict=True)
    assert report.written and report.lossless
    assert len(read(tmp_path / "out.jsonl")) == len(PLAIN)


def test_no_partial_file_when_the_conversion_raises(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    src = write(tmp_path / "src.jsonl", PLAIN)
    dst = tmp_path / "out.jsonl"
    dst.write_bytes(b"previous\n")
    real = WRITERS["gemini-contents"]
    calls = 0

    def flaky(ex: Any, notes: Any, provider: str) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("disk on fire")
        return real(ex, notes, provider)

    monkeypatch.setitem(WRITERS, "gemini-contents", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        convert_file(src, dst, to_provider="vertex")
    assert dst.read_bytes() == b"previous\n"
    assert _leftovers(tmp_path, "src.jsonl", "out.jsonl") == []


def test_output_replaces_the_destination_with_normal_permissions(tmp_path: Path) -> None:
    src = write(tmp_path / "src.jsonl", PLAIN)
    dst = tmp_path / "out.jsonl"
    dst.write_bytes(b"previous\n")
    convert_file(src, dst, to_provider="vertex")
    assert len(read(dst)) == len(PLAIN)
    mask = os.umask(0)
    os.umask(mask)
    assert dst.stat().st_mode & 0o777 == 0o666 & ~mask
    assert _leftovers(tmp_path, "src.jsonl", "out.jsonl") == []


@pytest.mark.parametrize("how", ["same", "relative", "symlink"])
def test_destination_may_not_be_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           how: str) -> None:
    src = write(tmp_path / "src.jsonl", PLAIN)
    before = src.read_bytes()
    dst: Path | str = src
    if how == "relative":
        monkeypatch.chdir(tmp_path)
        dst = "./sub/../src.jsonl"
        (tmp_path / "sub").mkdir()
    elif how == "symlink":
        dst = tmp_path / "link.jsonl"
        dst.symlink_to(src)
    with pytest.raises(UsageError, match="destination is the source"):
        convert_file(src, dst, to_provider="vertex")
    assert src.read_bytes() == before


def test_missing_destination_directory(tmp_path: Path) -> None:
    from tuneops.errors import DatasetIOError

    src = write(tmp_path / "src.jsonl", PLAIN)
    with pytest.raises(DatasetIOError, match="cannot write there"):
        convert_file(src, tmp_path / "no" / "out.jsonl", to_provider="vertex")


def test_the_source_is_never_modified(tmp_path: Path) -> None:
    src = write(tmp_path / "src.jsonl", REALISTIC)
    before, mtime = src.read_bytes(), src.stat().st_mtime_ns
    for provider in ("vertex", "mistral", "together"):
        convert_file(src, tmp_path / f"{provider}.jsonl", to_provider=provider)
    assert src.read_bytes() == before and src.stat().st_mtime_ns == mtime


# --------------------------------------------------------- outputs validate against the target pack


@pytest.mark.parametrize(("provider", "method"), sorted(PACKS))
def test_converted_realistic_file_validates_against_the_target_pack(
    tmp_path: Path, provider: str, method: str
) -> None:
    need_pack(provider, method)
    records = DPO if method == "dpo" else REALISTIC
    minimum = get_pack(provider, method).limits.min_examples or 1
    records = records * -(-minimum // len(records))
    report, _ = convert(tmp_path, records, provider, method)
    assert report.examples_written == len(records), report.summary()
    with validate_file(tmp_path / "out.jsonl",
                       ValidationOptions(provider=provider, method=method)) as result:
        errors = [f for f in result.findings() if f.severity == "error"]
        assert errors == [], report.summary()


# ------------------------------------------------------------------ property: no loss => same data

_ID_ONLY = {"tool_call_ids_dropped", "tool_call_ids_generated", "tool_call_ids_remapped",
            "tool_results_wrapped"}
_words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
                 max_size=12).filter(lambda t: t.strip() == t and t != "")


@st.composite
def _conversation(draw: st.DrawFn) -> dict[str, Any]:
    msgs: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 2))):
        msgs.append({"role": "system", "content": draw(_words)})
    uses_tools = False
    n_ids = 0
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()) and msgs:
            msgs.append({"role": "system", "content": draw(_words)})
        user: dict[str, Any] = {"role": "user", "content": draw(_words)}
        if draw(st.integers(0, 4)) == 0:
            user["content"] = [{"type": "text", "text": draw(_words)},
                               {"type": "image_url", "image_url": {
                                   "url": draw(st.sampled_from([PNG, "https://x.test/a.png"]))}}]
        elif draw(st.integers(0, 4)) == 0:
            user["content"] = [{"type": "text", "text": draw(_words)},
                               {"type": "text", "text": draw(_words)}]
        if draw(st.integers(0, 4)) == 0:
            user["name"] = draw(st.sampled_from(["ana", "bo"]))
        msgs.append(user)
        if draw(st.integers(0, 2)) == 0:
            uses_tools = True
            calls = []
            for _ in range(draw(st.integers(1, 2))):
                n_ids += 1
                args = {"city": draw(_words)}
                text = orjson.dumps(args).decode() if draw(st.booleans()) else (
                    '{"city": ' + orjson.dumps(args["city"]).decode() + "}")
                calls.append({"id": f"{draw(st.sampled_from(['call_', 'c', 'toolu_']))}{n_ids}",
                              "type": "function",
                              "function": {"name": "get_weather", "arguments": text}})
            msgs.append({"role": "assistant", "tool_calls": calls})
            for c in calls:
                result = draw(st.sampled_from(['{"temp_c":21}', "sunny", '{"content":"x"}']))
                msgs.append({"role": "tool", "tool_call_id": c["id"], "content": result})
        answer: dict[str, Any] = {"role": "assistant", "content": draw(_words)}
        if draw(st.integers(0, 3)) == 0:
            answer["weight"] = draw(st.sampled_from([0, 1]))
        msgs.append(answer)
    rec: dict[str, Any] = {"messages": msgs}
    if uses_tools:
        rec["tools"] = TOOLS
        if draw(st.booleans()):
            rec["parallel_tool_calls"] = draw(st.booleans())
    return rec


def _canonical_ids(records: list[Any]) -> list[Any]:
    """Rename tool-call ids to their order of appearance in each record."""
    out = []
    for rec in records:
        ids: dict[str, str] = {}
        text = orjson.dumps(rec).decode()
        for m in rec["messages"]:
            for c in m.get("tool_calls", []):
                ids.setdefault(c["id"], f"#{len(ids) + 1}")
        for old, new in ids.items():
            text = text.replace(f'"{old}"', f'"{new}"')
        out.append(orjson.loads(text))
    return out


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(_conversation(), min_size=1, max_size=4))
def test_no_reported_loss_means_the_data_comes_back(tmp_path: Path,
                                                    records: list[dict[str, Any]]) -> None:
    src = write(tmp_path / "src.jsonl", records)
    for provider in SFT_TARGETS:
        there = tmp_path / f"{provider}.jsonl"
        report = convert_file(src, there, to_provider=provider)
        assert report.examples_read == len(records)
        if not report.lossless or set(report.changes) - _ID_ONLY:
            continue
        back_path = tmp_path / f"{provider}.back.jsonl"
        fmt = get_pack(provider).record_format
        back = convert_file(there, back_path, to_provider="openai", from_format=fmt)
        assert back.lossless, (provider, back.summary())
        assert _canonical_ids(read(back_path)) == _canonical_ids(records), (provider,
                                                                             report.summary())


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(_conversation(), min_size=1, max_size=3))
def test_converted_records_pass_the_target_packs_checks(tmp_path: Path,
                                                        records: list[dict[str, Any]]) -> None:
    from tuneops.datasets.rules.base import Ctx

    src = write(tmp_path / "src.jsonl", records)
    for provider in SFT_TARGETS:
        need_pack(provider)
        pack = get_pack(provider)
        convert_file(src, tmp_path / "out.jsonl", to_provider=provider)
        for n, rec in enumerate(read(tmp_path / "out.jsonl"), start=1):
            found: list[Any] = []
            pack.check(rec, Ctx(pack.prefix, n, found))
            assert [f for f in found if f.severity == "error"] == [], (provider, rec)


@st.composite
def _preference(draw: st.DrawFn) -> dict[str, Any]:
    rec = draw(_conversation())
    msgs = rec["messages"]
    last_user = max(i for i, m in enumerate(msgs) if m["role"] == "user")
    inp: dict[str, Any] = {"messages": msgs[:last_user + 1]}
    if "tools" in rec:
        inp["tools"] = rec["tools"]
    answer = draw(_words)
    return {"input": inp, "preferred_output": [a(answer)],
            "non_preferred_output": [a(answer + "?")]}


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(_preference(), min_size=1, max_size=3))
def test_converted_preference_records_pass_the_target_packs_checks(
    tmp_path: Path, records: list[dict[str, Any]]
) -> None:
    from tuneops.datasets.rules.base import Ctx

    src = write(tmp_path / "src.jsonl", records)
    for provider in sorted(p for p, m in PACKS if m == "dpo"):
        need_pack(provider, "dpo")
        pack = get_pack(provider, "dpo")
        report = convert_file(src, tmp_path / "out.jsonl", to_provider=provider, to_method="dpo")
        assert report.examples_written == len(records), report.summary()
        for n, rec in enumerate(read(tmp_path / "out.jsonl"), start=1):
            found: list[Any] = []
            pack.check(rec, Ctx(pack.prefix, n, found))
            assert [f for f in found if f.severity == "error"] == [], (provider, rec)


_KEYS = st.sampled_from([
    "messages", "role", "content", "tool_calls", "tool_call_id", "name", "weight", "type", "text",
    "image_url", "url", "detail", "function", "arguments", "id", "tools", "parallel_tool_calls",
    "input", "preferred_output", "non_preferred_output", "prompt", "completion", "contents",
    "parts", "systemInstruction", "fileData", "mimeType", "fileUri", "functionCall",
    "functionResponse", "args", "response", "completions", "score", "system", "schemaVersion",
    "image", "format", "source", "s3Location", "uri", "toolUse", "toolUseId", "toolResult", "json",
    "toolConfig", "toolSpec",
])
_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-1, 2), st.sampled_from([
    "user", "assistant", "system", "tool", "model", "text", "image_url", '{"a":1}',
    "https://x.test/a.png", "data:image/png;base64,AA", "s3://b/a.png", "png", "image/png"]))
_JSON = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)), max_leaves=30)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=5), st.sampled_from(SFT_TARGETS))
def test_readers_and_writers_only_ever_drop_malformed_records(obj: dict[str, Any],
                                                              provider: str) -> None:
    from tuneops.datasets._neutral import DropExample, Notes
    from tuneops.datasets.formats import READERS

    for read_record in READERS.values():
        for write_record in WRITERS.values():
            try:
                ex = read_record(copy.deepcopy(obj), Notes())
                orjson.dumps(write_record(ex, Notes(), provider))
            except DropExample:
                pass
