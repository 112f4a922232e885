"""Streaming JSONL reader.

Never holds the file in memory: it reads fixed-size blocks and splits them into lines; a line longer
than `max_line_bytes` is skipped to its newline without being buffered (a 1 GB line costs one block
of memory). Every problem a single line can have is reported as a Finding with rule ids in the
``jsonl.`` namespace; nothing here raises on bad bytes.

CRLF endings and a missing final newline are accepted silently.
"""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson

from tuneops.datasets.findings import ERROR, WARNING, Finding, Severity
from tuneops.errors import DatasetIOError

__all__ = [
    "BLOCK_SIZE",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_LINE_BYTES",
    "LineRecord",
    "chunk_boundaries",
    "iter_line_blocks",
    "iter_raw_lines",
    "open_dataset",
    "parse_line",
    "read_records",
]

DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64
BLOCK_SIZE = 1024 * 1024
SCAN_SIZE = 64 * 1024  # enough to reach the next newline from a chunk cut in most files
BOM = b"\xef\xbb\xbf"
_TOO_LONG = object()


def open_dataset(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a dataset for binary reading, refusing directories, FIFOs and devices with a clear error."""
    p = os.fspath(path)
    try:
        st = os.stat(p)
    except FileNotFoundError as exc:
        raise DatasetIOError(f"{p}: no such file", hint="check the path") from exc
    except OSError as exc:
        raise DatasetIOError(f"{p}: cannot read: {exc.strerror}") from exc
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise DatasetIOError(f"{p}: is {kind}", hint="give the path of a .jsonl file")
    try:
        return open(p, "rb")
    except OSError as exc:
        raise DatasetIOError(f"{p}: cannot open: {exc.strerror}") from exc


def chunk_boundaries(
    path: str | os.PathLike[str], target: int, *, workers: int = 1, smallest: int = 0
) -> list[tuple[int, int]]:
    """Split a file into byte ranges, each starting at a line start.

    Ranges are about `target` bytes. With `workers` > 1 and `smallest` set, they shrink towards the
    end of the file (guided self-scheduling: each is the rest divided by 2 x workers, between
    `smallest` and `target`), so that parallel workers finish together.
    """
    size = os.path.getsize(path)
    if size == 0:
        return []

    def step(at: int) -> int:
        if workers <= 1 or not smallest:
            return target
        return max(min(smallest, target), min(target, (size - at) // (2 * workers)))

    cuts = [0]
    with open_dataset(path) as f:
        pos = step(0)
        while pos < size:
            f.seek(pos)
            # advance to just past the next newline, reading in blocks (a huge line is scanned,
            # never held)
            cut = -1
            while True:
                block = f.read(SCAN_SIZE)
                if not block:
                    break
                i = block.find(b"\n")
                if i >= 0:
                    cut = pos + i + 1
                    break
                pos += len(block)
            if cut < 0 or cut >= size:
                break
            if cut > cuts[-1]:
                cuts.append(cut)
            pos = max(cut, cuts[-1]) + step(cuts[-1])
    cuts.append(size)
    return list(itertools.pairwise(cuts))


def iter_line_blocks(
    f: BinaryIO, start: int, end: int, max_line_bytes: int, *, keep_cr: bool = False
) -> Iterator[list[bytes | int]]:
    """Yield the lines between two offsets in lists, one list per block read.

    Each line comes without its newline (and, unless `keep_cr`, without a trailing CR). A line
    longer than `max_line_bytes` comes as its length (an int) instead of its bytes, and is never
    held in memory whole.
    """
    f.seek(start)
    remaining = end - start
    # The unfinished last line, as the pieces read so far: joined once, when its newline comes.
    # (Joining at every block held a long line twice over and copied it once per block: a line
    # over the limit cost 2 x max_line_bytes, ~130 MB by default, before it was known too long.)
    pieces: list[bytes] = []
    held = 0
    skipping = -1  # >= 0: inside an over-long line, counting its bytes

    def finish(lines: list[bytes], has_cr: bool) -> list[bytes | int]:
        out: list[bytes | int] = list(lines)
        if has_cr and not keep_cr:
            out = [line[:-1] if line.endswith(b"\r") else line for line in lines]
        if lines and max(map(len, lines)) > max_line_bytes:
            out = [len(x) if isinstance(x, bytes) and len(x) > max_line_bytes else x for x in out]
        return out

    def over(carry: bytes) -> bool:
        # a CR at the very end of a block may be the first half of the line's CRLF ending
        return held > max_line_bytes + (not keep_cr and carry.endswith(b"\r"))

    while remaining > 0:
        block = f.read(min(BLOCK_SIZE, remaining))
        if not block:
            break
        remaining -= len(block)
        head: list[bytes | int] = []
        if skipping >= 0:
            i = block.find(b"\n")
            if i < 0:
                skipping += len(block)
                continue
            head = [skipping + i]
            skipping = -1
            block = block[i + 1 :]
        if b"\n" not in block:  # the middle of a line
            if head:
                yield head
            if block:
                pieces.append(block)
                held += len(block)
                if over(block):
                    skipping, pieces, held = held, [], 0
            continue
        lines = block.split(b"\n")
        carry_cr = any(b"\r" in p for p in pieces)
        if pieces:
            pieces.append(lines[0])
            lines[0] = b"".join(pieces)
            pieces = []
        carry = lines.pop()
        pieces, held = ([carry], len(carry)) if carry else ([], 0)
        if over(carry):
            skipping, pieces, held = held, [], 0
        body = finish(lines, b"\r" in block or carry_cr)
        if head:
            body = head + body
        if body:
            yield body
    if skipping >= 0:
        yield [skipping]
    elif pieces:
        carry = b"".join(pieces)
        pieces = []  # not held twice while the caller parses it
        yield finish([carry], b"\r" in carry)


def iter_raw_lines(
    f: BinaryIO, start: int, end: int, max_line_bytes: int, *, keep_cr: bool = False
) -> Iterator[bytes | int]:
    """Like `iter_line_blocks`, one line at a time."""
    for block in iter_line_blocks(f, start, end, max_line_bytes, keep_cr=keep_cr):
        yield from block


def _depth(obj: Any, limit: int) -> int:
    """Nesting depth of a parsed value, iteratively (never a RecursionError); stops past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, d = stack.pop()
        if d > deepest:
            deepest = d
            if deepest > limit:
                return deepest
        if isinstance(value, dict):
            stack.extend((v, d + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, d + 1) for v in value if isinstance(v, dict | list))
    return deepest


def _diagnose_json(
    raw: bytes, line: int, err: orjson.JSONDecodeError, max_depth: int, bom: bool = False
) -> Finding:
    """Turn a parse failure into the most precise finding we can give.

    `raw` has had a leading BOM removed when `bom` is set: offsets are reported on the line as
    it is in the file.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Finding(
            line, "", "jsonl.invalid_utf8", ERROR,
            f"invalid UTF-8 at byte {exc.start + 1 + 3 * bom} of the line: re-encode the file as"
            " UTF-8",
        )
    col = err.colno + bom
    msg = str(err)
    if "depth limit" in msg or "recursion" in msg:
        return Finding(
            line, "", "jsonl.too_deep", ERROR,
            f"nesting deeper than {max_depth} levels: flatten the record",
        )
    import json

    constants: list[str] = []

    def _constant(name: str) -> float:
        constants.append(name)
        return 0.0

    try:
        json.loads(text, parse_constant=_constant)
    except RecursionError:
        return Finding(
            line, "", "jsonl.too_deep", ERROR,
            f"nesting deeper than {max_depth} levels: flatten the record",
        )
    except ValueError:
        pass
    else:
        if constants:
            return Finding(
                line, "", "jsonl.nan", ERROR,
                f"{constants[0]} is not valid JSON: write null or a finite number instead",
            )
        if "surrogate" in msg:
            return Finding(
                line, "", "jsonl.lone_surrogate", ERROR,
                f"unpaired UTF-16 surrogate escape (column {col}): it is not valid Unicode;"
                " remove it or escape a full surrogate pair",
            )
    return Finding(
        line, "", "jsonl.invalid_json", ERROR,
        f"invalid JSON at column {col}: {msg.split(':', 1)[0]}; fix the syntax so that the line"
        " is one complete JSON object",
    )


def parse_line(
    raw: bytes,
    line: int,
    findings: list[Finding],
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    blank_severity: Severity | None = WARNING,
) -> dict[str, Any] | None:
    """Parse one line (already split, no newline). Append line-level findings; return the object or None.

    Returns None for a blank line, a parse failure, a non-object, or a too-deep value.
    """
    if not raw or raw.isspace():
        if blank_severity is not None:
            findings.append(
                Finding(line, "", "jsonl.blank_line", blank_severity, "blank line: remove it")
            )
        return None
    if raw.startswith(BOM):
        findings.append(
            Finding(
                line, "", "jsonl.bom", WARNING,
                "UTF-8 byte order mark at the start of the line: save the file without a BOM"
                " (`tuneops fix` strips it)",
            )
        )
        raw = raw[3:]
        bom = True
    else:
        bom = False
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        findings.append(_diagnose_json(raw, line, err, max_depth, bom))
        return None
    if not isinstance(obj, dict):
        kind = type(obj).__name__ if obj is not None else "null"
        kind = {"list": "array", "str": "string", "int": "number", "float": "number"}.get(kind, kind)
        findings.append(
            Finding(line, "", "jsonl.not_object", ERROR, f"the line is a JSON {kind}, not an object:"
                    " each line must be one JSON object (one training example)")
        )
        return None
    if _depth(obj, max_depth) > max_depth:
        findings.append(
            Finding(line, "", "jsonl.too_deep", ERROR,
                    f"nesting deeper than {max_depth} levels: flatten the record")
        )
        return None
    return obj


def too_long_finding(line: int, length: int, limit: int) -> Finding:
    return Finding(
        line, "", "jsonl.line_too_long", ERROR,
        f"line is {length:,} bytes, over the {limit:,}-byte limit: split the example or raise"
        " --max-line-bytes",
    )


@dataclass(slots=True)
class LineRecord:
    """One physical line: its number, the parsed object (None if unusable) and line-level findings."""

    line: int
    obj: dict[str, Any] | None
    findings: list[Finding] = field(default_factory=list)
    raw: bytes | None = None


def read_records(
    path: str | os.PathLike[str],
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    blank_severity: Severity | None = WARNING,
    keep_raw: bool = False,
) -> Iterator[LineRecord]:
    """Stream a JSONL file record by record, in one process. Never raises on the file's contents."""
    with open_dataset(path) as f:
        size = os.fstat(f.fileno()).st_size
        for n, item in enumerate(iter_raw_lines(f, 0, size, max_line_bytes), start=1):
            if isinstance(item, int):
                yield LineRecord(n, None, [too_long_finding(n, item, max_line_bytes)])
                continue
            found: list[Finding] = []
            obj = parse_line(item, n, found, max_depth=max_depth, blank_severity=blank_severity)
            yield LineRecord(n, obj, found, item if keep_raw else None)
