"""Readers and writers between each record format and the neutral representation.

`READERS[format](obj, notes) -> Example` and `WRITERS[format](example, notes, provider) -> dict`.
A reader or writer raises `DropExample` when an example cannot be converted at all, and records
in `notes` whatever it leaves out or alters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tuneops.datasets._neutral import Example, Notes
from tuneops.datasets.formats.bedrock import (
    read_bedrock_claude,
    read_bedrock_nova,
    write_bedrock_claude,
    write_bedrock_nova,
)
from tuneops.datasets.formats.chat_targets import chat_target
from tuneops.datasets.formats.gemini import (
    read_gemini_contents,
    read_gemini_preference,
    write_gemini_contents,
    write_gemini_preference,
)
from tuneops.datasets.formats.openai import (
    read_openai_chat,
    read_openai_dpo,
    read_prompt_completion,
    write_openai_chat,
    write_openai_dpo,
)

__all__ = ["READERS", "WRITERS", "Reader", "Writer"]

Reader = Callable[[dict[str, Any], Notes], Example]
Writer = Callable[[Example, Notes, str], dict[str, Any]]

READERS: dict[str, Reader] = {
    "openai-chat": read_openai_chat,
    "openai-dpo": read_openai_dpo,
    "prompt-completion": read_prompt_completion,
    "gemini-contents": read_gemini_contents,
    "gemini-preference": read_gemini_preference,
    "bedrock-claude": read_bedrock_claude,
    "bedrock-nova": read_bedrock_nova,
}

WRITERS: dict[str, Writer] = {
    "openai-chat": lambda ex, notes, provider: write_openai_chat(ex, notes, chat_target(provider)),
    "openai-dpo": lambda ex, notes, provider: write_openai_dpo(ex, notes,
                                                               chat_target(provider, "dpo")),
    "gemini-contents": lambda ex, notes, _p: write_gemini_contents(ex, notes),
    "gemini-preference": lambda ex, notes, _p: write_gemini_preference(ex, notes),
    "bedrock-claude": lambda ex, notes, _p: write_bedrock_claude(ex, notes),
    "bedrock-nova": lambda ex, notes, _p: write_bedrock_nova(ex, notes),
}
