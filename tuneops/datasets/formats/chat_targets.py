"""What each vendor's OpenAI-style chat accepts, as far as conversion is concerned.

OpenAI, Mistral, Together and Fireworks share the chat record shape (`openai-chat` /
`openai-dpo`) but not its details; the rule packs (`tuneops.datasets.rules.<vendor>`) check them,
and the flags here make the converter write records those packs accept.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHAT_TARGETS", "OPENAI_TARGET", "ChatTarget", "chat_target"]


@dataclass(frozen=True, slots=True)
class ChatTarget:
    """What one vendor's OpenAI-style chat accepts, as far as conversion is concerned."""

    weights: bool = True
    names: bool = True
    images: bool = True  # image parts, in user messages
    tools: bool = True
    parallel_tool_calls: bool = True
    content_parts: bool = True  # content as a list of parts (otherwise a string only)
    system_anywhere: bool = True  # otherwise one system message, first
    alternate: bool = False  # user and assistant turns must alternate
    first_user: bool = False  # the first non-system turn must be the user's
    last_assistant: bool = False  # the example must end with an assistant turn
    nine_char_ids: bool = False  # Mistral's tool-call id format
    # how image URLs must start (OpenAI: fetched by URL or inlined)
    image_prefixes: tuple[str, ...] = ("http://", "https://", "data:image/")
    uniform_content: bool = False  # all string contents or all part lists within an example


OPENAI_TARGET = ChatTarget()
_FIREWORKS_IMAGES = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:image/jpg;base64,")

# provider, or (provider, method) where the methods differ -> its chat target (providers not
# listed take OpenAI's)
CHAT_TARGETS: dict[str | tuple[str, str], ChatTarget] = {
    "openai": OPENAI_TARGET,
    # https://docs.mistral.ai/resources/deprecated/finetuning/text-vision-finetuning (tool calls
    # with 9-character ids, images in user messages, `weight`; no `name`, no
    # `parallel_tool_calls`); mistral-finetune: "Expected last role to be one of: [assistant]"
    "mistral": ChatTarget(names=False, parallel_tool_calls=False, last_assistant=True,
                          nine_char_ids=True),
    # https://docs.together.ai/docs/fine-tuning/data-preparation, .../function-calling, .../vision:
    # system first, then user and assistant alternating (tool results between a call and the next
    # assistant message); images inlined as base64 PNG/JPEG/WEBP; the upload check rejects an
    # example mixing string contents and part lists, and any top-level key but messages/tools
    "together": ChatTarget(parallel_tool_calls=False, system_anywhere=False, alternate=True,
                           first_user=True, uniform_content=True,
                           image_prefixes=("data:image/jpeg;base64,", "data:image/png;base64,",
                                           "data:image/webp;base64,")),
    # https://docs.fireworks.ai/fine-tuning/fine-tuning-models ("OpenAI-compatible"; the system
    # message optional but first) and .../fine-tuning-vlm (images inlined as base64 PNG/JPEG)
    "fireworks": ChatTarget(system_anywhere=False, image_prefixes=_FIREWORKS_IMAGES),
    # https://docs.fireworks.ai/fine-tuning/dpo-fine-tuning lists no tool role
    ("fireworks", "dpo"): ChatTarget(system_anywhere=False, tools=False,
                                     image_prefixes=_FIREWORKS_IMAGES),
}


def chat_target(provider: str, method: str = "sft") -> ChatTarget:
    return CHAT_TARGETS.get((provider, method)) or CHAT_TARGETS.get(provider, OPENAI_TARGET)
