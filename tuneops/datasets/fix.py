"""Safe, logged repairs of a training file; what cannot be repaired goes to a rejects file.

Repairs (each counted, with the first lines it touched):
- ``strip_bom``: a UTF-8 byte order mark at the start of a line is removed;
- ``crlf``: CRLF line endings become LF;
- ``blank_line``: blank lines are dropped;
- ``tool_arguments``: tool-call arguments given as a JSON object are serialized to the JSON string
  the vendors require;
- ``trailing_turns``: messages after the last assistant turn (never trained on) are removed.

Nothing else is changed. Every example that still has an error under the provider's rule pack is
written to the rejects file, with its line number and the findings, instead of the output. The input
is never modified; both outputs are written atomically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from tuneops.datasets.findings import ERROR, Finding
from tuneops.datasets.output import atomic_writer
from tuneops.datasets.reader import (
    BOM,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_LINE_BYTES,
    iter_raw_lines,
    open_dataset,
    parse_line,
    too_long_finding,
)
from tuneops.datasets.rules import get_pack
from tuneops.datasets.rules.base import Ctx
from tuneops.errors import UsageError

__all__ = ["REPAIRS", "FixReport", "fix_file"]

REPAIRS = {
    "strip_bom": "removed a UTF-8 byte order mark",
    "crlf": "converted a CRLF line ending to LF",
    "blank_line": "dropped a blank line",
    "tool_arguments": "serialized tool-call arguments given as an object to a JSON string",
    "trailing_turns": "removed messages after the last assistant turn",
}
MAX_LINES_KEPT = 10


@dataclass(slots=True)
class Repair:
    count: int = 0
    lines: list[int] = field(default_factory=list)

    def add(self, line: int) -> None:
        self.count += 1
        if len(self.lines) < MAX_LINES_KEPT:
            self.lines.append(line)


@dataclass(slots=True)
class FixReport:
    source: str
    output: str
    rejects: str | None
    lines: int = 0
    written: int = 0
    rejected: int = 0
    repairs: dict[str, Repair] = field(default_factory=dict)
    rejected_lines: list[int] = field(default_factory=list)

    def note(self, kind: str, line: int) -> None:
        self.repairs.setdefault(kind, Repair()).add(line)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.rejected == 0, "file": self.source, "output": self.output,
            "rejects": self.rejects, "lines": self.lines, "written": self.written,
            "rejected": self.rejected, "rejected_lines": self.rejected_lines,
            "repairs": {
                k: {"count": r.count, "lines": r.lines, "description": REPAIRS[k]}
                for k, r in sorted(self.repairs.items())
            },
        }


def _fix_tool_arguments(obj: dict[str, Any]) -> bool:
    changed = False
    msgs = obj.get("messages")
    for m in msgs if isinstance(msgs, list) else ():
        calls = m.get("tool_calls") if isinstance(m, dict) else None
        for call in calls if isinstance(calls, list) else ():
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), dict | list):
                fn["arguments"] = orjson.dumps(fn["arguments"]).decode()
                changed = True
    return changed


def _trim_trailing(obj: dict[str, Any]) -> bool:
    msgs = obj.get("messages")
    if not isinstance(msgs, list):
        return False
    last = max((i for i, m in enumerate(msgs)
                if isinstance(m, dict) and m.get("role") == "assistant"), default=-1)
    if last < 0 or last == len(msgs) - 1:
        return False
    del msgs[last + 1:]
    return True


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def fix_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    provider: str = "openai",
    method: str = "sft",
    rejects: str | os.PathLike[str] | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> FixReport:
    """Repair `src` into `dst`; examples that still fail go to `rejects` (default: DST.rejects.jsonl)."""
    src_s, dst_s = os.fspath(src), os.fspath(dst)
    rej_s = os.fspath(rejects) if rejects is not None else dst_s + ".rejects.jsonl"
    for other in (dst_s, rej_s):
        if _same_file(src_s, other):
            raise UsageError(f"refusing to overwrite the input {src_s}",
                             hint="write the repaired file to another path with -o")
    if _same_file(dst_s, rej_s):
        raise UsageError("the output and rejects files must differ")
    pack = get_pack(provider, method)
    report = FixReport(src_s, dst_s, rej_s)
    with open_dataset(src_s) as f, atomic_writer(dst_s) as out, atomic_writer(rej_s) as rej:
        size = os.fstat(f.fileno()).st_size
        for n, item in enumerate(iter_raw_lines(f, 0, size, max_line_bytes, keep_cr=True), 1):
            report.lines = n
            found: list[Finding] = []
            if isinstance(item, int):
                found.append(too_long_finding(n, item, max_line_bytes))
                _reject(rej, report, n, None, found)
                continue
            raw = item
            if raw.endswith(b"\r"):
                raw = raw[:-1]
                report.note("crlf", n)
            if not raw or raw.isspace():
                report.note("blank_line", n)
                continue
            if raw.startswith(BOM):
                raw = raw[len(BOM):]
                report.note("strip_bom", n)
            obj = parse_line(raw, n, found, max_depth=DEFAULT_MAX_DEPTH, blank_severity=None)
            if obj is None:
                _reject(rej, report, n, raw, found)
                continue
            if _fix_tool_arguments(obj):
                report.note("tool_arguments", n)
            if _trim_trailing(obj):
                report.note("trailing_turns", n)
            pack.check(obj, Ctx(pack.prefix, n, found))
            if any(x.severity == ERROR for x in found):
                _reject(rej, report, n, raw, found)
                continue
            out.write(orjson.dumps(obj) + b"\n")
            report.written += 1
    if report.rejected == 0:
        os.unlink(rej_s)
        report.rejects = None
    return report


def _reject(rej: IO[bytes], report: FixReport, line: int, raw: bytes | None,
            found: list[Finding]) -> None:
    errors = [f.to_dict() for f in found if f.severity == ERROR]
    entry: dict[str, Any] = {"line": line, "reasons": errors}
    if raw is None:
        entry["original"] = None
        entry["note"] = "line too long to copy; it is unchanged in the input file"
    else:
        entry["original"] = raw.decode("utf-8", errors="backslashreplace")
    rej.write(orjson.dumps(entry) + b"\n")
    report.rejected += 1
    if len(report.rejected_lines) < MAX_LINES_KEPT:
        report.rejected_lines.append(line)
