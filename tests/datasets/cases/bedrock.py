"""Rule cases for the Bedrock packs (Claude 3 Haiku, Amazon Nova): every rule id has a record."""

from __future__ import annotations

from typing import Any

U = {"role": "user", "content": "What is AWS?"}
A = {"role": "assistant", "content": "Amazon Web Services."}


def claude(*msgs: Any, **top: Any) -> dict[str, Any]:
    return {"messages": list(msgs), **top}


CLAUDE_VALID: list[dict[str, Any]] = [
    claude(U, A, system="You are a helpful assistant."),
    claude(U, A, {"role": "user", "content": "And S3?"}, {"role": "assistant", "content": "Storage."}),
    claude(U, {"role": "assistant", "content": "Line one.\n\nLine two: Café ≤ 你好 🚀"}),
]

CLAUDE_BAD: list[tuple[str, dict[str, Any]]] = [
    ("bedrock.example.unknown_key", claude(U, A, tools=[])),
    ("bedrock.system.type", claude(U, A, system=[{"text": "Be terse."}])),
    ("bedrock.messages.invalid", {"system": "Be terse."}),
    ("bedrock.messages.invalid", claude()),
    ("bedrock.message.invalid", claude(U, "hi", A)),
    ("bedrock.message.invalid", claude({**U, "name": "bob"}, A)),
    ("bedrock.role.invalid", claude({"role": "system", "content": "Be terse."}, U, A)),
    ("bedrock.role.invalid", claude({"content": "hi"}, A)),
    ("bedrock.role.order", claude(A, U, A)),
    ("bedrock.role.order", claude(U, U, A)),
    ("bedrock.messages.last_role", claude(U, A, U)),
    ("bedrock.messages.last_role", claude(U)),
    ("bedrock.content.type", claude({"role": "user", "content": [{"type": "text", "text": "hi"}]}, A)),
    ("bedrock.content.type", claude({"role": "user"}, A)),
    ("bedrock.content.empty", claude(U, {"role": "assistant", "content": "  "})),
    ("bedrock.content.reserved_token", claude({"role": "user", "content": "hi\n\nHuman: bye"}, A)),
    ("bedrock.content.reserved_token", claude(U, A, system="Act out:\n\nAssistant: ok")),
    ("bedrock.example.too_long", claude({"role": "user", "content": "word " * 40_000}, A)),
]

# reported by the engine when it counts tokens, never by `check`
CLAUDE_UNREACHABLE = {"bedrock.example.too_many_tokens"}

TXT = {"text": "What is the capital of Mars?"}
ANS = {"role": "assistant", "content": [{"text": "Mars has no capital."}]}


def media(kind: str, fmt: str, uri: str = "s3://bucket/media/file", **extra: Any) -> dict[str, Any]:
    return {kind: {"format": fmt, "source": {"s3Location": {"uri": f"{uri}.{fmt}", **extra}}}}


IMG = media("image", "png", bucketOwner="123456789012")
VID = media("video", "mp4")
DOC = media("document", "pdf")
REASON = {"reasoningContent": {"reasoningText": {"text": "I recall the geography."}}}
TOOLCFG = {"tools": [{"toolSpec": {"name": "getItem", "description": "Look up an item",
                                   "inputSchema": {"json": {"type": "object"}}}}]}
USE = {"toolUse": {"toolUseId": "t1", "name": "getItem", "input": {"id": "a"}}}
RESULT = {"toolResult": {"toolUseId": "t1", "content": [{"json": {"ok": True}}]}}


def user(*blocks: Any) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


def nova(*msgs: Any, **top: Any) -> dict[str, Any]:
    return {"schemaVersion": "bedrock-conversation-2024", "messages": list(msgs) or [user(TXT), ANS], **top}


NOVA_VALID: list[dict[str, Any]] = [
    nova(system=[{"text": "You are a digital assistant with a friendly personality"}]),
    nova(user({"text": "What does the text in this image say?"}, IMG), assistant({"text": "LOL."})),
    nova(user({"text": "How many white items are visible?"}, VID), assistant({"text": "Eight."})),
    nova(user(IMG, media("image", "jpeg"), media("image", "webp"), {"text": "Compare them."}),
         assistant({"text": "The second is darker."})),
    nova(user({"text": "Summarize the report."}, {**DOC, "document": {**DOC["document"], "name": "report"}}),
         assistant(REASON, {"text": "Checkout issues come from data entry."})),
    nova(user(TXT), ANS, user({"text": "And Venus?"}), assistant({"text": "Neither."})),
]

NOVA_BAD: list[tuple[str, dict[str, Any]]] = [
    ("bedrock-nova.example.unknown_key", nova(inferenceConfig={})),
    ("bedrock-nova.schema_version.invalid", {"messages": [user(TXT), ANS]}),
    ("bedrock-nova.schema_version.invalid", nova(schemaVersion=2024)),
    ("bedrock-nova.system.invalid", nova(system="Be terse.")),
    ("bedrock-nova.system.invalid", nova(system=[{"content": "Be terse."}])),
    ("bedrock-nova.messages.invalid", {"schemaVersion": "x", "messages": {}}),
    ("bedrock-nova.message.invalid", nova(user(TXT), ANS, [])),
    ("bedrock-nova.role.invalid", nova(user(TXT), {"role": "bot", "content": [{"text": "Hi."}]})),
    ("bedrock-nova.role.order", nova(ANS, user(TXT), ANS)),
    ("bedrock-nova.messages.last_role", nova(user(TXT), ANS, user(TXT))),
    ("bedrock-nova.content.type", nova(user(TXT), {"role": "assistant", "content": "Mars has no capital."})),
    ("bedrock-nova.content.empty", nova(user(TXT), assistant())),
    ("bedrock-nova.content.empty", nova(user({"text": " "}), ANS)),
    ("bedrock-nova.content.empty", nova(user(TXT), assistant(REASON))),
    ("bedrock-nova.content.empty", nova(user({"text": ""}, TXT), ANS)),
    ("bedrock-nova.block.invalid", nova(user({**TXT, **IMG}), ANS)),
    ("bedrock-nova.block.invalid", nova(user({"image_url": {"url": "https://x.test/a.png"}}, TXT), ANS)),
    ("bedrock-nova.block.invalid", nova(user({"text": 5}), ANS)),
    ("bedrock-nova.text.reserved_keyword", nova(user({"text": "User: what is Mars?"}), ANS)),
    ("bedrock-nova.text.reserved_keyword", nova(system=[{"text": "Reply after [EOS]"}])),
    ("bedrock-nova.text.reserved_keyword", nova(user(TXT), assistant({"text": "Thought: none. Mars."}))),
    ("bedrock-nova.media.invalid", nova(user({"image": {"format": "png"}}, TXT), ANS)),
    ("bedrock-nova.media.invalid", nova(user({"image": {"format": "png", "source": {"bytes": "iVBOR"}}}),
                                        ANS)),
    ("bedrock-nova.media.format", nova(user(media("image", "jpg"), TXT), ANS)),
    ("bedrock-nova.media.format", nova(user(media("document", "docx"), TXT), ANS)),
    ("bedrock-nova.media.uri", nova(user(media("image", "png", "https://x.test/a"), TXT), ANS)),
    ("bedrock-nova.media.uri", nova(user(media("image", "png", "s3://bucket/my photo"), TXT), ANS)),
    ("bedrock-nova.media.role", nova(user(TXT), assistant(IMG, {"text": "Here it is."}))),
    ("bedrock-nova.media.too_many", nova(user(*([IMG] * 11), TXT), ANS)),
    ("bedrock-nova.media.too_many", nova(user(VID, VID, TXT), ANS)),
    ("bedrock-nova.media.mixed", nova(user(IMG, VID, TXT), ANS)),
    ("bedrock-nova.reasoning.invalid", nova(user(REASON, TXT), ANS)),
    ("bedrock-nova.reasoning.invalid", nova(user(TXT), assistant({"reasoningContent": {"text": "x"}},
                                                                 {"text": "Mars."}))),
    ("bedrock-nova.tool.invalid", nova(user(TXT), ANS, toolConfig={"tools": [{"name": "getItem"}]})),
    ("bedrock-nova.tool.invalid", nova(user(TXT, USE), ANS, toolConfig=TOOLCFG)),
    ("bedrock-nova.tool.invalid", nova(user(TXT), assistant({"toolUse": {**USE["toolUse"], "name": "get"}}),
                                       toolConfig=TOOLCFG)),
    ("bedrock-nova.tool.invalid", nova(user(TXT), assistant(USE), user({"toolResult": {"toolUseId": "t1",
                                       "content": "ok"}}), ANS, toolConfig=TOOLCFG)),
    ("bedrock-nova.tool.unmatched", nova(user(TXT), assistant(USE), user({"toolResult": {
        "toolUseId": "t9", "content": [{"text": "ok"}]}}), ANS, toolConfig=TOOLCFG)),
    ("bedrock-nova.tool.unmatched", nova(user(TXT), assistant(USE), user(RESULT, RESULT), ANS,
                                         toolConfig=TOOLCFG)),
    # a well-formed tool round trip: only the Bedrock support warning
    ("bedrock-nova.tool.not_supported", nova(user(TXT), assistant(USE), user(RESULT), ANS,
                                             toolConfig=TOOLCFG)),
]

CASES = {
    "bedrock.sft": {"valid": CLAUDE_VALID, "bad": CLAUDE_BAD, "unreachable": CLAUDE_UNREACHABLE},
    "bedrock-nova.sft": {"valid": NOVA_VALID, "bad": NOVA_BAD,
                         "unreachable": {"bedrock-nova.example.too_many_tokens"}},
}
