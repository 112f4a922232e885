"""Convert a dataset file to another vendor's format, with a report of everything that changed.

Every example goes source record -> neutral representation -> target record (see `_neutral` and
`formats`). Whatever the target cannot carry is a *loss*, counted per kind with the number of
examples affected and their first line numbers; what is altered without losing information (such
as tool-call ids rewritten for Mistral) is a *change*. Examples that cannot be converted at all are
*dropped*, and lines that are not JSON objects are *invalid*; both are listed with their lines,
never skipped silently.

The file is streamed line by line. The output is written to a temporary file next to the
destination, synced, and renamed over it, so the destination never holds a partial file; the source
is only read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import orjson

from tuneops.datasets._neutral import (
    CHANGE_KINDS,
    DROP_REASONS,
    LOSS_KINDS,
    DropExample,
    Example,
    Notes,
)
from tuneops.datasets.detect import detect_format
from tuneops.datasets.formats import READERS, WRITERS
from tuneops.datasets.output import atomic_writer
from tuneops.datasets.reader import open_dataset, read_records
from tuneops.datasets.records import FORMATS
from tuneops.datasets.rules import get_pack
from tuneops.errors import LossyConversionError, UsageError

__all__ = [
    "CHANGE_KINDS",
    "DROP_REASONS",
    "LOSS_KINDS",
    "ConversionReport",
    "InvalidLine",
    "LossInfo",
    "convert_file",
]

MAX_LINES_KEPT = 10  # line numbers kept per loss / change / drop kind
MAX_INVALID_KEPT = 100  # invalid lines kept with their message


@dataclass(slots=True)
class LossInfo:
    """One kind of loss, change or drop: how many examples, their first lines, what it means."""

    examples: int = 0
    lines: list[int] = field(default_factory=list)
    description: str = ""
    detail: str = ""  # for drops: the first example's specific reason

    def add(self, line: int) -> None:
        self.examples += 1
        if len(self.lines) < MAX_LINES_KEPT:
            self.lines.append(line)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "examples": self.examples, "lines": list(self.lines), "description": self.description,
        }
        if self.detail:
            d["detail"] = self.detail
        return d


@dataclass(frozen=True, slots=True)
class InvalidLine:
    line: int
    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "rule": self.rule, "message": self.message}


@dataclass(slots=True)
class ConversionReport:
    """What `convert_file` did. `lossless` is True when nothing was lost, dropped or invalid."""

    source: str
    destination: str
    source_format: str
    target_format: str
    target_provider: str
    target_method: str
    examples_read: int = 0
    examples_written: int = 0
    blank_lines: int = 0
    dropped: dict[str, LossInfo] = field(default_factory=dict)
    losses: dict[str, LossInfo] = field(default_factory=dict)
    changes: dict[str, LossInfo] = field(default_factory=dict)
    invalid_lines: list[InvalidLine] = field(default_factory=list)  # the first MAX_INVALID_KEPT
    invalid_count: int = 0
    written: bool = False  # False when nothing was written (strict refusal, or an error)

    @property
    def examples_dropped(self) -> int:
        return sum(d.examples for d in self.dropped.values())

    @property
    def lossless(self) -> bool:
        return not self.losses and not self.dropped and self.invalid_count == 0

    def _count(self, table: dict[str, LossInfo], kinds: dict[str, str], kind: str, line: int,
               ) -> LossInfo:
        info = table.get(kind)
        if info is None:
            info = table[kind] = LossInfo(description=kinds.get(kind, kind))
        info.add(line)
        return info

    def record(self, line: int, notes: Notes) -> None:
        for kind in sorted(notes.losses):
            self._count(self.losses, LOSS_KINDS, kind, line)
        for kind in sorted(notes.changes):
            self._count(self.changes, CHANGE_KINDS, kind, line)

    def drop(self, line: int, reason: str, detail: str = "") -> None:
        info = self._count(self.dropped, DROP_REASONS, reason, line)
        if detail and not info.detail:
            info.detail = f"line {line}: {detail}"

    def invalid(self, line: int, rule: str, message: str) -> None:
        self.invalid_count += 1
        if len(self.invalid_lines) < MAX_INVALID_KEPT:
            self.invalid_lines.append(InvalidLine(line, rule, message))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": self.destination,
            "source_format": self.source_format,
            "target_format": self.target_format,
            "target_provider": self.target_provider,
            "target_method": self.target_method,
            "examples_read": self.examples_read,
            "examples_written": self.examples_written,
            "examples_dropped": self.examples_dropped,
            "blank_lines": self.blank_lines,
            "lossless": self.lossless,
            "written": self.written,
            "losses": {k: v.to_dict() for k, v in self.losses.items()},
            "changes": {k: v.to_dict() for k, v in self.changes.items()},
            "dropped": {k: v.to_dict() for k, v in self.dropped.items()},
            "invalid_lines": [x.to_dict() for x in self.invalid_lines],
            "invalid_count": self.invalid_count,
        }

    def summary(self) -> str:
        """A few lines for people: counts, then one line per loss, drop and change kind."""

        def lines(info: LossInfo) -> str:
            more = ", ..." if info.examples > len(info.lines) else ""
            return ", ".join(map(str, info.lines)) + more

        out = [
            f"{self.source_format} -> {self.target_format} ({self.target_provider}"
            f" {self.target_method}): {self.examples_written} of {self.examples_read} example(s)"
            + (" written" if self.written else " would be written (nothing was written)"),
        ]
        for kind, info in self.losses.items():
            out.append(f"  lost {kind} in {info.examples} example(s) (lines {lines(info)}):"
                       f" {info.description}")
        for kind, info in self.dropped.items():
            out.append(f"  dropped {info.examples} example(s), {kind} (lines {lines(info)}):"
                       f" {info.description}" + (f" [{info.detail}]" if info.detail else ""))
        if self.invalid_count:
            shown = ", ".join(str(x.line) for x in self.invalid_lines[:MAX_LINES_KEPT])
            more = ", ..." if self.invalid_count > MAX_LINES_KEPT else ""
            out.append(f"  {self.invalid_count} invalid line(s) not converted (lines {shown}{more})")
        for kind, info in self.changes.items():
            out.append(f"  changed {kind} in {info.examples} example(s) (lines {lines(info)}):"
                       f" {info.description}")
        if self.lossless:
            out.append("  nothing lost")
        return "\n".join(out)


def _same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _flatten_preference(ex: Example, notes: Notes) -> None:
    """Preference data to supervised: the preferred answer becomes the assistant turn."""
    if ex.preferred is None:
        return
    ex.turns.append(ex.preferred)
    if ex.rejected is not None:
        notes.loss("non_preferred_output")
    ex.preferred = ex.rejected = None


def convert_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    to_provider: str,
    to_method: str = "sft",
    from_format: str | None = None,
    strict: bool = False,
) -> ConversionReport:
    """Convert `src` into the record format of the `to_provider` / `to_method` rule pack at `dst`.

    The source format is detected unless `from_format` names it. With `strict=True`, when anything
    would be lost (a loss, a dropped example or an invalid line), nothing is written and
    `LossyConversionError` is raised with the report as its `.report`.

    Raises `UnknownProviderError` for an unknown provider/method, `UsageError` for an impossible
    conversion (e.g. plain text to chat, supervised data to preference pairs) or `dst` being
    `src`, `FormatDetectionError` when the source format cannot be detected, and `DatasetIOError`
    when a file cannot be read or written.
    """
    pack = get_pack(to_provider, to_method)
    src_p, dst_p = os.fspath(src), os.fspath(dst)
    open_dataset(src_p).close()  # a missing / unreadable source fails before anything else
    if _same_file(src_p, dst_p):
        raise UsageError(f"{dst_p}: the destination is the source file",
                         hint="write the converted data to a new file")
    source = from_format or detect_format(src_p)
    target = pack.record_format
    if source not in FORMATS:
        raise UsageError(f"unknown source format {source!r}", hint="known formats: "
                         + ", ".join(FORMATS))
    if source not in READERS:
        raise UsageError(f"{source} records cannot be converted: they have no conversation roles",
                         hint="only chat-like formats convert (" + ", ".join(READERS) + ")")
    if target not in WRITERS:
        raise UsageError(f"conversion to {target} is not supported",
                         hint="targets: " + ", ".join(WRITERS))
    if FORMATS[target].preference and not FORMATS[source].preference:
        raise UsageError(
            f"{source} records have no preferred / non-preferred answer pairs to make"
            f" {target} records from",
            hint=f"convert preference data, or choose method sft for {pack.provider}",
        )
    read, write = READERS[source], WRITERS[target]
    to_sft = not FORMATS[target].preference
    report = ConversionReport(src_p, dst_p, source, target, pack.provider, pack.method)

    with atomic_writer(dst_p) as out:
        for rec in read_records(src_p, blank_severity=None):
            if rec.obj is None:
                if rec.findings:
                    f = rec.findings[0]
                    report.invalid(rec.line, f.rule, f.message)
                else:
                    report.blank_lines += 1
                continue
            report.examples_read += 1
            notes = Notes()
            try:
                ex = read(rec.obj, notes)
                if to_sft:
                    _flatten_preference(ex, notes)
                obj = write(ex, notes, pack.provider)
            except DropExample as drop:
                report.drop(rec.line, drop.reason, drop.detail)
                continue
            out.write(orjson.dumps(obj))
            out.write(b"\n")
            report.examples_written += 1
            report.record(rec.line, notes)
        if strict and not report.lossless:  # raised inside: nothing replaces the destination
            err = LossyConversionError(
                f"conversion to {pack.provider} {pack.method} would lose data; nothing written\n"
                + report.summary(),
                hint="fix the source, or convert without --strict to accept the losses",
            )
            err.report = report
            raise err
    report.written = True
    return report
