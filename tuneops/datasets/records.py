"""The shapes of the training records tuneops reads and writes, as TypedDicts, and their names.

The TypedDicts document the record formats; nothing checks records against them at run time (the
rule packs do that, with findings). Optional fields are declared with ``total=False`` bases.

Format names (`FORMATS`) are what rule packs put in `record_format`, what `detect_format` returns
and what `convert_file` reports:

- ``openai-chat``: ``{"messages": [...], "tools"?, "parallel_tool_calls"?}``, also used by
  Mistral, Together and Fireworks (each with its own restrictions).
- ``openai-dpo``: ``{"input": {"messages", "tools"?}, "preferred_output", "non_preferred_output"}``.
- ``prompt-completion``: ``{"prompt", "completion"}``.
- ``text``: ``{"text"}``.
- ``gemini-contents``: Vertex AI Gemini supervised tuning, ``{"systemInstruction"?, "contents"}``.
- ``gemini-preference``: Vertex AI Gemini preference tuning, ``{"system_instruction"?, "contents",
  "completions": [{"score", "completion"}]}``.
- ``bedrock-claude``: Claude 3 Haiku on Bedrock, ``{"system"?: str, "messages": [...]}``.
- ``bedrock-nova``: Amazon Nova, ``{"schemaVersion": "bedrock-conversation-2024", "system"?: [...],
  "messages": [...]}`` with Converse-style content blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

__all__ = [
    "FORMATS",
    "BedrockClaudeMessage",
    "BedrockClaudeRecord",
    "FormatInfo",
    "GeminiBlob",
    "GeminiContent",
    "GeminiFileData",
    "GeminiFunctionCall",
    "GeminiFunctionResponse",
    "GeminiPart",
    "GeminiPreferenceCompletion",
    "GeminiPreferenceRecord",
    "GeminiRecord",
    "NovaContentBlock",
    "NovaImage",
    "NovaMessage",
    "NovaRecord",
    "NovaS3Location",
    "NovaSystemBlock",
    "NovaToolResult",
    "NovaToolUse",
    "NovaVideo",
    "OpenAIChatRecord",
    "OpenAIDPOInput",
    "OpenAIDPORecord",
    "OpenAIFunction",
    "OpenAIFunctionCall",
    "OpenAIImagePart",
    "OpenAIImageURL",
    "OpenAIMessage",
    "OpenAITextPart",
    "OpenAITool",
    "OpenAIToolCall",
    "PromptCompletionRecord",
    "TextRecord",
    "format_names",
]

# ------------------------------------------------------------------------------------------ OpenAI
# https://platform.openai.com/docs/guides/supervised-fine-tuning
# https://platform.openai.com/docs/guides/vision-fine-tuning


class OpenAITextPart(TypedDict):
    type: Literal["text"]
    text: str


class _OpenAIImageURLBase(TypedDict):
    url: str  # http(s) URL or data:image/...;base64,...


class OpenAIImageURL(_OpenAIImageURLBase, total=False):
    detail: Literal["auto", "low", "high"]


class OpenAIImagePart(TypedDict):
    type: Literal["image_url"]
    image_url: OpenAIImageURL


class OpenAIFunctionCall(TypedDict):
    name: str
    arguments: str  # a JSON-encoded object, not an object


class _OpenAIToolCallBase(TypedDict):
    id: str
    function: OpenAIFunctionCall


class OpenAIToolCall(_OpenAIToolCallBase, total=False):
    type: Literal["function"]


class _OpenAIMessageBase(TypedDict):
    role: Literal["system", "user", "assistant", "tool"]


class OpenAIMessage(_OpenAIMessageBase, total=False):
    # a string, or parts (text everywhere, images in user messages only); null or absent on an
    # assistant message that only calls tools
    content: str | list[OpenAITextPart | OpenAIImagePart] | None
    name: str
    weight: Literal[0, 1]  # assistant messages only: 0 = context, not trained on
    tool_calls: list[OpenAIToolCall]  # assistant messages only
    tool_call_id: str  # tool messages only: the id of the call answered


class _OpenAIFunctionBase(TypedDict):
    name: str


class OpenAIFunction(_OpenAIFunctionBase, total=False):
    description: str
    parameters: dict[str, Any]  # JSON Schema
    strict: bool


class OpenAITool(TypedDict):
    type: Literal["function"]
    function: OpenAIFunction


class _OpenAIChatBase(TypedDict):
    messages: list[OpenAIMessage]


class OpenAIChatRecord(_OpenAIChatBase, total=False):
    tools: list[OpenAITool]
    parallel_tool_calls: bool


class _OpenAIDPOInputBase(TypedDict):
    messages: list[OpenAIMessage]  # ends with the user turn the outputs answer


class OpenAIDPOInput(_OpenAIDPOInputBase, total=False):
    tools: list[OpenAITool]
    parallel_tool_calls: bool


class OpenAIDPORecord(TypedDict):
    # https://platform.openai.com/docs/guides/direct-preference-optimization
    input: OpenAIDPOInput
    preferred_output: list[OpenAIMessage]  # exactly one assistant message
    non_preferred_output: list[OpenAIMessage]  # exactly one assistant message


class PromptCompletionRecord(TypedDict):
    prompt: str
    completion: str


class TextRecord(TypedDict):
    text: str


# ------------------------------------------------------------------------------------------ Gemini
# https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare
# https://cloud.google.com/vertex-ai/generative-ai/docs/models/tune-function-calling
# https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-preference-tuning-prepare


class GeminiFileData(TypedDict):
    mimeType: str
    fileUri: str  # gs:// or http(s)


class GeminiBlob(TypedDict):
    mimeType: str
    data: str  # base64


class GeminiFunctionCall(TypedDict):
    name: str
    args: dict[str, Any]  # an object, unlike OpenAI's JSON string


class GeminiFunctionResponse(TypedDict):
    name: str
    response: dict[str, Any]


class GeminiPart(TypedDict, total=False):
    # a union: exactly one of these per part
    text: str
    fileData: GeminiFileData
    inlineData: GeminiBlob
    functionCall: GeminiFunctionCall
    functionResponse: GeminiFunctionResponse


class _GeminiContentBase(TypedDict):
    parts: list[GeminiPart]


class GeminiContent(_GeminiContentBase, total=False):
    role: Literal["user", "model"]  # ignored on systemInstruction


class _GeminiRecordBase(TypedDict):
    contents: list[GeminiContent]


class GeminiRecord(_GeminiRecordBase, total=False):
    systemInstruction: GeminiContent
    system_instruction: GeminiContent  # the proto field name; Vertex accepts both spellings
    tools: list[dict[str, Any]]  # [{"functionDeclarations": [{name, description, parameters}]}]


class GeminiPreferenceCompletion(TypedDict):
    score: Literal[0, 1]  # 1 = preferred
    completion: GeminiContent  # one model turn


class _GeminiPreferenceBase(TypedDict):
    contents: list[GeminiContent]  # text only, ends with a user turn
    completions: list[GeminiPreferenceCompletion]  # one preferred, one dispreferred


class GeminiPreferenceRecord(_GeminiPreferenceBase, total=False):
    system_instruction: GeminiContent
    systemInstruction: GeminiContent


# ----------------------------------------------------------------------------------------- Bedrock
# https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html
# (Claude 3 Haiku: system string, user/assistant alternating, string content only)


class BedrockClaudeMessage(TypedDict):
    role: Literal["user", "assistant"]
    content: str


class _BedrockClaudeBase(TypedDict):
    messages: list[BedrockClaudeMessage]


class BedrockClaudeRecord(_BedrockClaudeBase, total=False):
    system: str


# https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html
# (Converse API content blocks; images and videos by S3 location in the dataset's bucket)


class NovaSystemBlock(TypedDict):
    text: str


class _NovaS3LocationBase(TypedDict):
    uri: str


class NovaS3Location(_NovaS3LocationBase, total=False):
    bucketOwner: str


class NovaImage(TypedDict):
    format: Literal["jpeg", "png", "gif", "webp"]
    source: dict[Literal["s3Location"], NovaS3Location]


class NovaVideo(TypedDict):
    format: str  # mov, mkv, mp4, ...
    source: dict[Literal["s3Location"], NovaS3Location]


class NovaToolUse(TypedDict):
    toolUseId: str
    name: str
    input: dict[str, Any]


class _NovaToolResultBase(TypedDict):
    toolUseId: str
    content: list[dict[str, Any]]  # [{"text": ...}] or [{"json": {...}}]


class NovaToolResult(_NovaToolResultBase, total=False):
    status: Literal["success", "error"]


class NovaContentBlock(TypedDict, total=False):
    # a union: exactly one of these per block
    text: str
    image: NovaImage
    video: NovaVideo
    toolUse: NovaToolUse
    toolResult: NovaToolResult
    reasoningContent: dict[str, Any]  # Nova 2.0 only


class NovaMessage(TypedDict):
    role: Literal["user", "assistant"]
    content: list[NovaContentBlock]


class _NovaRecordBase(TypedDict):
    schemaVersion: str  # "bedrock-conversation-2024"
    messages: list[NovaMessage]


class NovaRecord(_NovaRecordBase, total=False):
    system: list[NovaSystemBlock]


# ---------------------------------------------------------------------------------------- registry


@dataclass(frozen=True, slots=True)
class FormatInfo:
    """One record format: its name, what it is, its TypedDict, and whether it is a chat format."""

    name: str
    title: str
    record_type: type[Any]
    chat: bool  # conversation turns, convertible through the neutral representation
    preference: bool  # pairs of preferred / non-preferred answers


FORMATS: Mapping[str, FormatInfo] = {
    f.name: f
    for f in (
        FormatInfo("openai-chat", "OpenAI-style chat messages", OpenAIChatRecord, True, False),
        FormatInfo("openai-dpo", "OpenAI-style preference pairs (DPO)", OpenAIDPORecord, True, True),
        FormatInfo("prompt-completion", "prompt / completion pairs", PromptCompletionRecord, True,
                   False),
        FormatInfo("text", "plain text", TextRecord, False, False),
        FormatInfo("gemini-contents", "Vertex AI Gemini contents", GeminiRecord, True, False),
        FormatInfo("gemini-preference", "Vertex AI Gemini preference pairs", GeminiPreferenceRecord,
                   True, True),
        FormatInfo("bedrock-claude", "Bedrock Claude conversations", BedrockClaudeRecord, True,
                   False),
        FormatInfo("bedrock-nova", "Amazon Nova bedrock-conversation-2024", NovaRecord, True,
                   False),
    )
}


def format_names() -> list[str]:
    return list(FORMATS)
