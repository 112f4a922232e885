"""Which record format a file is in, from the shape of its first records.

Some records fit more than one format: ``{"messages": [user, assistant]}`` with string contents is
both OpenAI chat and Bedrock Claude. Each record therefore yields the set of formats it fits, and a
file's format is the one every sampled record fits (the most specific when several remain).
Records that fit no format are left to the converter or validator to report; they only make
detection fail when no sampled record fits anything.
"""

from __future__ import annotations

import os
from typing import Any

from tuneops.datasets.reader import read_records
from tuneops.datasets.records import FORMATS
from tuneops.errors import FormatDetectionError

__all__ = ["DEFAULT_SAMPLE", "detect_format", "detect_record", "record_candidates"]

DEFAULT_SAMPLE = 100

# When several formats fit every record, the first one here wins.
_PRIORITY = (
    "openai-dpo", "gemini-preference", "gemini-contents", "bedrock-nova", "openai-chat",
    "bedrock-claude", "prompt-completion", "text",
)

_NOVA_BLOCKS = frozenset({"text", "image", "video", "document", "toolUse", "toolResult",
                          "reasoningContent"})


def _is_nova_content(content: Any) -> bool:
    # Converse blocks are single-key objects such as {"text": ...}; OpenAI parts carry "type".
    return (
        isinstance(content, list)
        and bool(content)
        and all(isinstance(b, dict) and "type" not in b and b.keys() & _NOVA_BLOCKS for b in content)
    )


def _chat_candidates(obj: dict[str, Any]) -> set[str]:
    msgs = obj["messages"]
    if not isinstance(msgs, list):
        return set()
    system = obj.get("system")
    if "schemaVersion" in obj or isinstance(system, list):
        return {"bedrock-nova"}
    dicts = [m for m in msgs if isinstance(m, dict)]
    if any(_is_nova_content(m.get("content")) for m in dicts):
        return {"bedrock-nova"}
    out = set()
    # Claude on Bedrock: a top-level system string, user/assistant roles, string contents only
    claude_like = all(
        m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
        and m.keys() <= {"role", "content"}
        for m in dicts
    ) and obj.keys() <= {"system", "messages"} and (system is None or isinstance(system, str))
    if claude_like:
        out.add("bedrock-claude")
    if "system" not in obj:
        out.add("openai-chat")
    return out


def record_candidates(obj: Any) -> set[str]:
    """Every format a parsed record fits (by shape only, not by validity); empty if none."""
    if not isinstance(obj, dict):
        return set()
    if isinstance(obj.get("input"), dict) and (
        "preferred_output" in obj or "non_preferred_output" in obj
    ):
        return {"openai-dpo"}
    if "contents" in obj and isinstance(obj["contents"], list):
        return {"gemini-preference"} if "completions" in obj else {"gemini-contents"}
    if "completions" in obj and ("system_instruction" in obj or "systemInstruction" in obj):
        return {"gemini-preference"}
    if "messages" in obj:
        return _chat_candidates(obj)
    if "prompt" in obj and "completion" in obj:
        return {"prompt-completion"}
    if isinstance(obj.get("text"), str):
        return {"text"}
    return set()


def _best(candidates: set[str]) -> str | None:
    return next((f for f in _PRIORITY if f in candidates), None)


def detect_record(obj: Any) -> str | None:
    """The format one parsed record is in (the most likely when several fit), or None."""
    return _best(record_candidates(obj))


def detect_format(path: str | os.PathLike[str], sample: int = DEFAULT_SAMPLE) -> str:
    """The record format of a JSONL file, judged from its first `sample` parseable records.

    Raises `FormatDetectionError` when the file has no parseable record, when no sampled record fits
    a known format, or when the sampled records fit different formats (a mixed file).
    Raises `DatasetIOError` when the file cannot be read.
    """
    if sample < 1:
        raise ValueError("sample must be at least 1")
    p = os.fspath(path)
    common: set[str] | None = None
    first_line: dict[str, int] = {}  # format -> first line fitting it (for the error message)
    unknown: list[int] = []
    seen = 0
    for rec in read_records(p, blank_severity=None):
        if rec.obj is None:
            continue
        seen += 1
        cands = record_candidates(rec.obj)
        if not cands:
            unknown.append(rec.line)
        else:
            best = _best(cands)
            if best is not None:
                first_line.setdefault(best, rec.line)
            if common is None:
                common = set(cands)
            else:
                narrowed = common & cands
                if not narrowed:
                    was = _best(common) or "?"
                    now = _best(cands) or "?"
                    raise FormatDetectionError(
                        f"{p}: mixed record formats: line {first_line.get(was, '?')} is {was},"
                        f" line {rec.line} is {now}",
                        hint="split the file by format, or convert the odd records first",
                    )
                common = narrowed
        if seen >= sample:
            break
    known = ", ".join(FORMATS)
    if seen == 0:
        raise FormatDetectionError(
            f"{p}: no parseable JSON record to detect the format from",
            hint="the file is empty or every line is invalid JSON; run `tuneops validate` on it",
        )
    if not common:
        lines = ", ".join(str(n) for n in unknown[:5])
        raise FormatDetectionError(
            f"{p}: the records match no known format (line(s) {lines})",
            hint=f"known formats: {known}; check the top-level keys (e.g. `messages`, `contents`,"
            " `prompt`/`completion`), or name the format explicitly",
        )
    best = _best(common)
    assert best is not None
    return best
