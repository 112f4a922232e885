"""Reshaping steps shared by the writers: each one edits the neutral turns and notes what it loses."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable

from tuneops.datasets._neutral import (
    DropExample,
    Example,
    Image,
    Notes,
    Part,
    Text,
    ToolCall,
    ToolResult,
    Turn,
)

__all__ = [
    "drop_empty",
    "drop_parts",
    "drop_tools",
    "guess_mime",
    "merge_consecutive",
    "need_assistant",
    "split_system",
    "strip_names",
    "strip_weights",
    "trim_ends",
]


def split_system(turns: list[Turn], notes: Notes) -> tuple[Turn | None, list[Turn]]:
    """Take the system prompt out, for targets with one system prompt at the start.

    Several leading system messages become one (their parts in order); system messages later in
    the conversation are dropped.
    """
    lead: list[Turn] = []
    i = 0
    while i < len(turns) and turns[i].role == "system":
        lead.append(turns[i])
        i += 1
    rest: list[Turn] = []
    for t in turns[i:]:
        if t.role == "system":
            notes.loss("mid_conversation_system")
        else:
            rest.append(t)
    if not lead:
        return None, rest
    if len(lead) > 1:
        notes.loss("system_merged")
    parts: list[Part] = [p for t in lead for p in t.parts]
    return Turn("system", parts, name=lead[0].name), rest


def strip_weights(turns: list[Turn], notes: Notes) -> None:
    for t in turns:
        if t.weight is None:
            continue
        if t.weight == 0:
            notes.loss("weights")
        else:
            notes.change("default_weights_removed")
        t.weight = None


def strip_names(turns: list[Turn], notes: Notes) -> None:
    for t in turns:
        if t.name is not None:
            notes.loss("names")
            t.name = None


def drop_parts(turns: list[Turn], keep: Callable[[Turn, Part], bool], notes: Notes,
               kind: str) -> None:
    """Drop the parts `keep` refuses, noting `kind` once if any went."""
    for t in turns:
        kept = [p for p in t.parts if keep(t, p)]
        if len(kept) != len(t.parts):
            notes.loss(kind)
            t.parts = kept


def drop_empty(turns: list[Turn]) -> list[Turn]:
    """Remove turns whose every part was dropped (the loss was noted when the parts went)."""
    return [t for t in turns if t.parts]


def drop_tools(ex: Example, turns: list[Turn], notes: Notes) -> None:
    """Remove every trace of tool calling: calls, results, definitions and the parallel flag."""
    drop_parts(turns, lambda _t, p: not isinstance(p, ToolCall | ToolResult), notes, "tool_calls")
    if ex.tools:
        notes.loss("tool_definitions")
    ex.tools = None
    if ex.parallel_tool_calls is not None:
        notes.loss("parallel_tool_calls")
    ex.parallel_tool_calls = None


def merge_consecutive(turns: list[Turn], notes: Notes, sep: str = "\n\n") -> list[Turn]:
    """Merge runs of user (or assistant) turns, for targets that require strict alternation."""
    out: list[Turn] = []
    for t in turns:
        if out and out[-1].role == t.role and t.role in ("user", "assistant"):
            notes.loss("turns_merged")
            prev = out[-1]
            if prev.parts and t.parts and isinstance(prev.parts[-1], Text) \
                    and isinstance(t.parts[0], Text):
                prev.parts[-1] = Text(prev.parts[-1].text + sep + t.parts[0].text)
                prev.parts.extend(t.parts[1:])
            else:
                prev.parts.extend(t.parts)
            continue
        out.append(t)
    return out


def trim_ends(turns: list[Turn], notes: Notes, *, first_user: bool, last_assistant: bool,
              ) -> list[Turn]:
    """Drop assistant turns before the first user turn and turns after the last assistant turn."""
    start = 0
    if first_user:
        while start < len(turns) and turns[start].role != "user":
            start += 1
        if start:
            notes.loss("leading_turns")
    end = len(turns)
    if last_assistant:
        while end > start and turns[end - 1].role != "assistant":
            end -= 1
        if end < len(turns) and end > start:
            notes.loss("trailing_turns")
    return turns[start:end]


def need_assistant(turns: list[Turn]) -> None:
    if not any(t.role == "assistant" for t in turns):
        raise DropExample("no_assistant_turn")


def guess_mime(img: Image) -> str | None:
    """The MIME type of an image: as given, from a data: URL, or from the file extension."""
    if img.mime:
        return img.mime
    url = img.url
    if url.startswith("data:"):
        head = url[5:].split(",", 1)[0]
        return head.split(";", 1)[0] or None
    path = url.split("?", 1)[0].split("#", 1)[0]
    mime, _ = mimetypes.guess_type(path, strict=False)
    return mime
