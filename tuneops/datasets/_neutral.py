"""The neutral representation every chat format is read into and written from.

Converting between N formats takes one reader and one writer per format (2N functions) instead of a
converter per pair. The representation is a superset of what the formats carry: turns with text,
image, tool-call and tool-result parts, per-turn names and weights, tool definitions, and an
optional preferred / rejected answer pair. Readers and writers record, per example, what they had
to leave out (`Notes.loss`) and what they had to alter without losing it (`Notes.change`); the
kinds are listed, with the words the report uses, in `LOSS_KINDS`, `CHANGE_KINDS` and
`DROP_REASONS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

__all__ = [
    "CHANGE_KINDS",
    "DROP_REASONS",
    "LOSS_KINDS",
    "DropExample",
    "Example",
    "Image",
    "Notes",
    "Part",
    "Role",
    "Text",
    "ToolCall",
    "ToolDef",
    "ToolResult",
    "Turn",
    "dumps_json",
    "parse_json_object",
]

Role = Literal["system", "user", "assistant", "tool"]

# kind id -> what was lost, as the report says it
LOSS_KINDS: dict[str, str] = {
    "weights": "per-message `weight: 0` markers (the target trains on every assistant turn)",
    "system_merged": "several leading system messages merged into the target's single system"
    " prompt (the boundaries between them are lost)",
    "mid_conversation_system": "system messages after the start of the conversation, dropped (the"
    " target accepts a system prompt only at the start)",
    "images": "image parts, dropped (the target does not accept them, or not where they were, or"
    " not by that kind of reference)",
    "other_media": "non-image media parts (video, audio, documents), dropped",
    "image_detail": "the `detail` setting of image parts",
    "tool_calls": "assistant tool calls and tool results, dropped (the target takes no tool-calling"
    " data)",
    "tool_definitions": "`tools` definitions, dropped",
    "tool_definition_fields": "fields of tool definitions the target cannot express (e.g."
    " `strict`)",
    "names": "`name` fields of messages",
    "parallel_tool_calls": "the `parallel_tool_calls` setting",
    "turns_merged": "consecutive messages of one role merged into one (the target requires"
    " alternating roles)",
    "trailing_turns": "messages after the last assistant turn, dropped (the target requires the"
    " example to end with the assistant)",
    "leading_turns": "assistant messages before the first user message, dropped (the target"
    " requires the conversation to start with the user)",
    "non_preferred_output": "the non-preferred answer of a preference pair (only the preferred one"
    " is kept as the assistant turn)",
    "unknown_keys": "keys the source format does not define, dropped",
    "unsupported_parts": "content parts of a kind the target cannot carry, dropped",
    "tool_call_arguments": "tool-call arguments that are not a JSON object (the target needs an"
    " object), replaced by {\"arguments\": <the text>}",
}

# kind id -> what was altered without losing information
CHANGE_KINDS: dict[str, str] = {
    "tool_call_ids_remapped": "tool-call ids rewritten to the target's id format (consistently"
    " within each example, so calls and results still match)",
    "tool_call_ids_generated": "tool-call ids generated (the source has none; results are paired"
    " with calls by order)",
    "tool_call_ids_dropped": "tool-call ids left out (the target pairs results with calls by order"
    " and function name)",
    "json_reserialized": "JSON text of tool arguments or tool results re-serialized (the same"
    " value; spacing or key escaping may differ)",
    "text_parts_joined": "several text parts of one message joined into one string",
    "default_weights_removed": "`weight: 1` markers removed (1 is the default)",
    "tool_results_wrapped": "tool results that are not a JSON object wrapped as {\"content\":"
    " <the text>} (the target needs an object)",
}

DROP_REASONS: dict[str, str] = {
    "no_assistant_turn": "no assistant turn left to train on",
    "not_source_format": "the record does not have the shape of the source format",
    "no_preference_pair": "no preferred and non-preferred answer pair",
    "no_user_turn": "no user turn left",
}


class DropExample(Exception):
    """Raised by readers and writers: the example cannot be converted at all."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Notes:
    """What happened to one example: loss and change kinds (each counted once per example)."""

    losses: set[str] = field(default_factory=set)
    changes: set[str] = field(default_factory=set)

    def loss(self, kind: str) -> None:
        assert kind in LOSS_KINDS, kind
        self.losses.add(kind)

    def change(self, kind: str) -> None:
        assert kind in CHANGE_KINDS, kind
        self.changes.add(kind)


@dataclass(slots=True)
class Text:
    text: str


@dataclass(slots=True)
class Image:
    url: str  # http(s), data: URL, gs:// or s3:// URI
    mime: str | None = None
    detail: str | None = None  # OpenAI only
    media: Literal["image", "video", "audio", "document"] = "image"


@dataclass(slots=True)
class ToolCall:
    id: str | None
    name: str
    arguments: str | None = None  # the JSON text, as OpenAI-style formats carry it
    args: Any = None  # the parsed value, as Gemini and Nova carry it (used when `arguments` is None)

    def arguments_text(self) -> str:
        return self.arguments if self.arguments is not None else dumps_json(self.args)


@dataclass(slots=True)
class ToolResult:
    call_id: str | None
    content: str | None = None  # the text, as OpenAI-style formats carry it
    data: Any = None  # a structured value, as Gemini and Nova carry it (used when content is None)
    name: str | None = None  # the function name, when the format says it

    def text(self) -> str:
        return self.content if self.content is not None else dumps_json(self.data)


Part = Text | Image | ToolCall | ToolResult


@dataclass(slots=True)
class Turn:
    role: Role
    parts: list[Part]
    name: str | None = None
    weight: int | None = None

    def texts(self) -> list[str]:
        return [p.text for p in self.parts if isinstance(p, Text)]


@dataclass(slots=True)
class ToolDef:
    name: str
    description: str | None = None
    parameters: Any = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. OpenAI's `strict`


@dataclass(slots=True)
class Example:
    """One training example. For preference data, `turns` is the prompt conversation."""

    turns: list[Turn]
    tools: list[ToolDef] | None = None
    parallel_tool_calls: bool | None = None
    preferred: Turn | None = None
    rejected: Turn | None = None


def dumps_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object a string holds, or None when it is not one."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
