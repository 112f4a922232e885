"""A reusable corpus of hostile dataset files, and hypothesis strategies for hostile records.

`build(dir)` writes every nasty file once and returns the list of `Nasty` entries: what the file
is, and what a user must be told about it (the line at fault and the rule ids that may name the
fault, or a file-level error). Large files are written in blocks (a 50 MB line) or sparse (1 GB
without a newline), never built in memory; `big_size(dir)` shrinks the 1 GB file to what the disk
holds.

The record strategies draw JSON-ish values shaped like each vendor's format (the keys the rule
packs read) but with wrong types, missing keys, huge numbers, deep nesting and unicode edge cases.
`dumps_jsonish` serialises them the way a careless producer would: NaN/Infinity literals, integers
of any size, lone surrogates as `\\ud800` escapes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "GB",
    "MB",
    "Nasty",
    "big_size",
    "build",
    "dumps_jsonish",
    "hostile_records",
    "jsonish",
]

MB = 1024 * 1024
GB = 1024 * MB

GOOD = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}'
# Every rule id a broken *line* can get from the reader (whatever the pack adds after parsing).
LINE_RULES = frozenset({"jsonl.invalid_json", "jsonl.not_object", "jsonl.invalid_utf8", "jsonl.nan",
                        "jsonl.lone_surrogate", "jsonl.too_deep", "jsonl.line_too_long"})


@dataclass(frozen=True)
class Nasty:
    """One hostile file. `line`: the 1-based line at fault (None: no single line is). `rules`: the
    rule ids, any of which correctly names that line's fault (empty: any error on that line).
    `file_error`: the file cannot be read at all; the user gets a clear I/O error, no findings."""

    name: str
    path: Path
    line: int | None = None
    rules: frozenset[str] = field(default_factory=frozenset)
    file_error: bool = False
    big: bool = False  # too slow to run through every pack x every command


def big_size(directory: Path, want: int = GB) -> int:
    """The size of the no-newline file: `want`, or what the disk has room for (keeping 1 GB free;
    the file is sparse, but a filesystem without holes would store it)."""
    free = shutil.disk_usage(directory).free - GB
    return max(16 * MB, min(want, free))


def _write_blocks(path: Path, head: bytes, filler: bytes, total: int, tail: bytes) -> None:
    with path.open("wb") as f:
        f.write(head)
        block = filler * (MB // len(filler))
        left = total
        while left > 0:
            f.write(block[:left])
            left -= len(block)
        f.write(tail)


def build(directory: Path, *, big: int | None = None) -> list[Nasty]:
    """Write the corpus into `directory` (created) and describe it."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    out: list[Nasty] = []

    def add(name: str, data: bytes, line: int | None = None, *rules: str) -> None:
        p = d / name
        p.write_bytes(data)
        out.append(Nasty(name, p, line, frozenset(rules)))

    nl = b"\n"
    add("empty.jsonl", b"")
    add("only_newlines.jsonl", b"\n\n\r\n\n")
    add("only_spaces.jsonl", b"   \t  ")
    add("invalid_utf8.jsonl", GOOD + nl + b'{"messages": [{"role": "user", "content": "\xff\xfe\xc3"}]}' + nl,
        2, "jsonl.invalid_utf8")
    add("invalid_utf8_key.jsonl", b'{"\x80\x81": 1}\n', 1, "jsonl.invalid_utf8")
    add("overlong_utf8.jsonl", GOOD + nl + GOOD + nl + b'{"a": "\xc0\xaf"}\n', 3, "jsonl.invalid_utf8")
    add("nul_in_string.jsonl", GOOD + nl + b'{"messages": [{"role": "user", "content": "a\x00b"}]}\n', 2,
        "jsonl.invalid_json")
    add("nul_between_lines.jsonl", GOOD + nl + b"\x00\x00\x00" + nl + GOOD + nl, 2,
        "jsonl.invalid_json")
    add("nul_escaped.jsonl",
        b'{"messages": [{"role": "user\\u0000", "content": "\\u0000"}, {"role": "assistant",'
        b' "content": "\\u0000"}]}\n', 1)
    add("lone_surrogate_escaped.jsonl",
        GOOD + nl + b'{"messages": [{"role": "user", "content": "x\\ud800y"}]}\n', 2,
        "jsonl.lone_surrogate", "jsonl.invalid_json")
    add("lone_low_surrogate_escaped.jsonl", b'{"\\udfff": "\\udc00"}\n', 1,
        "jsonl.lone_surrogate", "jsonl.invalid_json")
    add("lone_surrogate_raw.jsonl",  # CESU-8 / WTF-8 bytes of U+D800: not UTF-8
        GOOD + nl + b'{"messages": [{"role": "user", "content": "x\xed\xa0\x80y"}]}\n', 2,
        "jsonl.invalid_utf8")
    add("nan.jsonl", b'{"messages": [{"role": "user", "content": "x", "weight": NaN}]}\n', 1,
        "jsonl.nan", "jsonl.invalid_json")
    add("infinity.jsonl", GOOD + nl + b'{"x": -Infinity}\n', 2, "jsonl.nan", "jsonl.invalid_json")
    add("huge_float.jsonl", b'{"messages": [{"role": "user", "content": "x", "weight": 1e400}]}\n', 1)
    add("huge_int.jsonl", b'{"messages": [{"role": "user", "content": "x", "weight": '
        + b"9" * 5000 + b"}]}\n", 1)
    add("bom_then_garbage.jsonl", b"\xef\xbb\xbf\xef\xbb\xbf{}\n", 1)
    add("not_object.jsonl", GOOD + nl + b"[1, 2, 3]\n\"str\"\n", 2, "jsonl.not_object")
    add("truncated.jsonl", GOOD + nl + GOOD[: len(GOOD) // 2], 2, "jsonl.invalid_json")
    add("cr_only.jsonl", (GOOD + b"\r") * 3, 1)
    add("deep_array_100k.jsonl", GOOD + nl + b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000
        + b"}\n", 2, "jsonl.too_deep", "jsonl.invalid_json")
    add("deep_object_100k.jsonl", b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"\n", 1,
        "jsonl.too_deep", "jsonl.invalid_json")
    add("deep_unclosed_100k.jsonl", GOOD + nl + b"[" * 100_000 + nl + GOOD + nl, 2,
        "jsonl.too_deep", "jsonl.invalid_json")
    add("deep_65.jsonl", b'{"messages": [{"role": "user", "content": "x", "name": '
        + b"[" * 65 + b"]" * 65 + b"}]}\n", 1)
    rng = random.Random(20261128)
    add("binary_garbage.bin", bytes(rng.randrange(256) for _ in range(256 * 1024)), 1)
    add("binary_no_newlines.bin", bytes(rng.choice(range(11, 256)) for _ in range(64 * 1024)), 1)
    add("control_chars.jsonl", b"".join(bytes([c]) + nl for c in range(32) if c != 10), 1)
    add("unicode_edge.jsonl", json.dumps(
        {"messages": [{"role": "user", "content": "\u202e\u200b\ufeff\U0010ffff\u0301" * 10},
                      {"role": "\u0430ssistant", "content": "\U0001f600"}]},
        ensure_ascii=False).encode() + nl, 1)

    # a 50 MB line (under the default 64 MiB limit: it is read and parsed, once)
    p = d / "huge_line_50mb.jsonl"
    _write_blocks(p, GOOD + nl + b'{"messages": [{"role": "user", "content": "', b"A", 50 * MB,
                  b'"}, {"role": "assistant", "content": "ok"}]}\n' + GOOD + nl)
    out.append(Nasty(p.name, p, None, frozenset(), big=True))
    # a 70 MB line: over the limit, reported without being read into memory
    p = d / "huge_line_70mb.jsonl"
    _write_blocks(p, GOOD + nl + b'{"x": "', b"B", 70 * MB, b'"}\n' + GOOD + nl)
    out.append(Nasty(p.name, p, 2, frozenset({"jsonl.line_too_long"}), big=True))
    # 1 GB of NUL bytes without a newline: sparse, so it costs no disk blocks
    p = d / "no_newline_1gb.bin"
    with p.open("wb") as f:
        f.truncate(big if big is not None else big_size(d))
    out.append(Nasty(p.name, p, 1, frozenset({"jsonl.line_too_long"}), big=True))

    # files that cannot be read at all
    sub = d / "a_directory.jsonl"
    sub.mkdir(exist_ok=True)
    out.append(Nasty(sub.name, sub, file_error=True))
    fifo = d / "a_fifo.jsonl"
    if not fifo.exists():
        os.mkfifo(fifo)
    out.append(Nasty(fifo.name, fifo, file_error=True))
    out.append(Nasty("missing.jsonl", d / "missing.jsonl", file_error=True))
    dangling = d / "dangling_link.jsonl"
    if not dangling.is_symlink():
        dangling.symlink_to(d / "nowhere")
    out.append(Nasty(dangling.name, dangling, file_error=True))
    return out


# ---- hostile records ----------------------------------------------------------------------------

# Unicode that breaks naive code: lone surrogates, BOM, zero-width and bidi marks, combining
# marks, the last code point, NUL, a Greek question mark, line/paragraph separators.
EDGE_TEXT = st.sampled_from([
    "", " ", "\x00", "\ud800", "\udfff", "\ud83d", "\ufeff", "\u200b", "\u202e", "\u0301",
    "\U0010ffff", "\U0001f600", "\u2028", "\u2029", "\r\n", "\t", "\\", '"', "\u037e",
    "<|im_start|>", "[INST]", "</s>", "user", "assistant", "system", "model", "tool",
])
texts = st.one_of(EDGE_TEXT, st.text(max_size=12),
                  st.lists(EDGE_TEXT, max_size=4).map("".join))
HUGE_NUMBERS = st.sampled_from([
    2**63, -(2**63) - 1, 2**64, 10**40, -(10**400), 1e308, -1e308, 5e-324, -0.0,
    float("nan"), float("inf"), float("-inf"), 0, -1, 1, True, False,
])
scalars = st.one_of(st.none(), st.booleans(), HUGE_NUMBERS, st.integers(), st.floats(), texts)

# The keys the rule packs read, across vendors.
KEYS = [
    "messages", "role", "content", "name", "weight", "tool_calls", "tool_call_id", "function",
    "arguments", "parameters", "tools", "type", "id", "parallel_tool_calls", "contents", "parts",
    "text", "systemInstruction", "system_instruction", "system", "functionCall", "functionResponse",
    "fileData", "inlineData", "fileUri", "mimeType", "image_url", "url", "input", "toolUse",
    "toolUseId", "toolResult", "toolSpec", "inputSchema", "json", "toolConfig", "schemaVersion",
    "reasoningContent", "reasoningText", "image", "format", "source", "bytes", "s3Location", "uri",
    "preferred_output", "non_preferred_output", "chosen", "rejected", "prompt", "completion",
    "completions", "score", "metadata", "response", "inputMessages", "input_messages",
]
keys = st.one_of(st.sampled_from(KEYS), texts)


def _nest(depth: int, leaf: Any) -> Any:
    for i in range(depth):
        leaf = [leaf] if i % 2 else {"content": leaf}
    return leaf


jsonish: st.SearchStrategy[Any] = st.recursive(
    st.one_of(scalars, st.integers(1, 300).map(lambda n: _nest(n, "x"))),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(keys, inner, max_size=5)),
    max_leaves=16,
)

roles = st.one_of(st.sampled_from(["user", "assistant", "system", "tool", "model", "developer",
                                   "function", "bot", "USER", ""]), scalars)


@st.composite
def _message(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(jsonish)  # not even a message
    msg: dict[str, Any] = {}
    for key, value in (("role", roles), ("content", st.one_of(texts, jsonish)),
                       ("parts", st.one_of(st.lists(st.fixed_dictionaries({"text": texts}),
                                                    max_size=3), jsonish)),
                       ("text", texts), ("weight", st.one_of(HUGE_NUMBERS, jsonish)),
                       ("tool_calls", jsonish), ("name", st.one_of(texts, jsonish)),
                       ("tool_call_id", jsonish)):
        if draw(st.integers(0, 3)) == 0 or (key in ("role", "content") and draw(st.booleans())):
            msg[key] = draw(value)
    if draw(st.integers(0, 5)) == 0:
        msg[draw(keys)] = draw(jsonish)
    return msg


messages = st.one_of(st.lists(_message(), max_size=6), jsonish)


@st.composite
def hostile_records(draw: st.DrawFn) -> Any:
    """A record shaped like some vendor's format, with hostile parts (or not an object at all)."""
    if draw(st.integers(0, 14)) == 0:
        return draw(jsonish)
    shape = draw(st.sampled_from(["chat", "vertex", "bedrock", "dpo", "together", "free"]))
    rec: dict[str, Any] = {}
    if shape == "chat":
        rec["messages"] = draw(messages)
    elif shape == "vertex":
        rec["contents"] = draw(messages)
        if draw(st.booleans()):
            rec["systemInstruction"] = draw(st.one_of(_message(), jsonish))
    elif shape == "bedrock":
        rec["messages"] = draw(messages)
        rec["system"] = draw(st.one_of(texts, st.lists(st.fixed_dictionaries({"text": texts})),
                                       jsonish))
        if draw(st.booleans()):
            rec["schemaVersion"] = draw(st.one_of(st.just("bedrock-conversation-2024"), jsonish))
    elif shape == "dpo":
        rec["input"] = draw(st.one_of(st.fixed_dictionaries({"messages": messages}), jsonish))
        rec[draw(st.sampled_from(["preferred_output", "chosen"]))] = draw(messages)
        rec[draw(st.sampled_from(["non_preferred_output", "rejected"]))] = draw(messages)
    elif shape == "together":
        for k in draw(st.lists(st.sampled_from(["text", "prompt", "completion"]), max_size=3)):
            rec[k] = draw(st.one_of(texts, jsonish))
    else:
        rec = draw(st.dictionaries(keys, jsonish, max_size=6))
    if draw(st.integers(0, 3)) == 0:
        rec["tools"] = draw(st.one_of(
            st.lists(st.fixed_dictionaries(
                {"type": st.one_of(st.just("function"), jsonish),
                 "function": st.one_of(st.fixed_dictionaries(
                     {"name": st.one_of(texts, jsonish)},
                     optional={"parameters": jsonish}), jsonish)}), max_size=3),
            jsonish))
    if draw(st.integers(0, 5)) == 0:
        rec[draw(keys)] = draw(jsonish)
    return rec


def dumps_jsonish(value: Any, *, ascii_only: bool = True) -> bytes:
    """One line of JSON-ish text: NaN/Infinity literals, big integers and lone surrogates kept
    (as `\\udXXX` escapes, or, with `ascii_only=False`, as the raw bytes a careless encoder
    writes)."""
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def unreadable(path: Path) -> Callable[[], None]:
    """chmod 000 (restored by the returned callable)."""
    mode = path.stat().st_mode
    path.chmod(0)
    return lambda: path.chmod(mode)
