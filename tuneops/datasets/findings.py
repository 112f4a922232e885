"""Findings: one problem in a dataset, with its place, its rule id and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ERROR", "WARNING", "Finding", "Severity"]

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem.

    `line` is the 1-based physical line (None for a dataset-level finding), `path` a JSON path inside
    the record such as ``messages[2].content`` ("" for the whole line), `rule` a stable id such as
    ``openai.role.unknown``.
    """

    line: int | None
    path: str
    rule: str
    severity: Severity
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "path": self.path,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
        }

    def to_row(self) -> tuple[int | None, str, str, str, str]:
        return (self.line, self.path, self.rule, self.severity, self.message)

    @classmethod
    def from_row(cls, row: list[Any] | tuple[Any, ...], line_offset: int = 0) -> Finding:
        line = row[0]
        return cls(
            None if line is None else line + line_offset, row[1], row[2], row[3], row[4]
        )
