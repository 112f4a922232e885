"""The rule-pack machinery shared by every vendor pack.

A pack checks one vendor + method (``openai`` + ``sft``). It has two paths:

- `check(obj, ctx)`: the complete check of one parsed record, reporting every finding. This is the
  definition of the rules.
- `fast_ok(rec, raw)` over `fast_type`, a msgspec Struct decoded straight from the line's bytes:
  answers True only when `check` would report nothing. Most lines of a real file are clean, and
  this path runs at JSON-parse speed; any other line goes through `check`. A property test holds
  the two paths to agreement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from tuneops.datasets.findings import ERROR, WARNING, Finding, Severity

__all__ = ["Ctx", "DatasetStats", "Limits", "RulePack", "describe_type", "free_depth_ok"]


def free_depth_ok(value: Any, base: int, limit: int) -> bool:
    """Whether a free-form value nested `base` levels deep stays within `limit` levels.

    The bracket count of its re-encoding bounds its depth cheaply (in C); only a value with many
    brackets gets the exact walk.
    """
    import msgspec

    from tuneops.datasets.reader import _depth

    enc = msgspec.json.encode(value)
    if base + enc.count(b"{") + enc.count(b"[") <= limit:
        return True
    # exact, on plain values (Structs and raw JSON inside `value` are re-read as plain JSON)
    import orjson

    try:
        plain = orjson.loads(enc)
    except orjson.JSONDecodeError:
        return False
    return base + _depth(plain, limit - base) <= limit


class Ctx:
    """Collects the findings of one record; rule ids are prefixed with the pack's namespace."""

    __slots__ = ("line", "out", "prefix")

    def __init__(self, prefix: str, line: int | None, out: list[Finding]) -> None:
        self.prefix = prefix
        self.line = line
        self.out = out

    def error(self, path: str, rule: str, message: str) -> None:
        self.out.append(Finding(self.line, path, f"{self.prefix}.{rule}", ERROR, message))

    def warn(self, path: str, rule: str, message: str) -> None:
        self.out.append(Finding(self.line, path, f"{self.prefix}.{rule}", WARNING, message))

    def add(self, severity: Severity, path: str, rule: str, message: str) -> None:
        self.out.append(Finding(self.line, path, f"{self.prefix}.{rule}", severity, message))


def describe_type(value: Any) -> str:
    """JSON type name of a value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass(slots=True)
class DatasetStats:
    """Counts gathered over a whole file, mergeable across chunks."""

    lines: int = 0
    examples: int = 0  # lines that parsed as objects (valid or not)
    valid_examples: int = 0  # examples with no error finding
    blank_lines: int = 0
    bytes: int = 0
    tokens_total: int = 0  # training tokens of valid examples (when counted)
    tokens_max: int = 0
    content_tokens: int = 0  # tokens of message contents alone (no chat overhead)
    tokens_counted: bool = False
    over_token_limit: int = 0

    def merge(self, other: DatasetStats) -> None:
        self.lines += other.lines
        self.examples += other.examples
        self.valid_examples += other.valid_examples
        self.blank_lines += other.blank_lines
        self.bytes += other.bytes
        self.tokens_total += other.tokens_total
        self.tokens_max = max(self.tokens_max, other.tokens_max)
        self.content_tokens += other.content_tokens
        self.tokens_counted = self.tokens_counted or other.tokens_counted
        self.over_token_limit += other.over_token_limit

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "lines": self.lines,
            "examples": self.examples,
            "valid_examples": self.valid_examples,
            "blank_lines": self.blank_lines,
            "bytes": self.bytes,
        }
        if self.tokens_counted:
            d["tokens_total"] = self.tokens_total
            d["content_tokens"] = self.content_tokens
            d["tokens_max_example"] = self.tokens_max
            d["examples_over_token_limit"] = self.over_token_limit
        return d


@dataclass(frozen=True, slots=True)
class Limits:
    min_examples: int | None = None
    max_examples: int | None = None
    max_file_bytes: int | None = None


class RulePack:
    """Base of every vendor pack. Subclasses set the class attributes and implement `check`."""

    provider: ClassVar[str]
    method: ClassVar[str]
    title: ClassVar[str]
    record_format: ClassVar[str]
    verified: ClassVar[str]  # ISO date the rules were last checked against the sources
    sources: ClassVar[tuple[str, ...]]
    rules: ClassVar[Mapping[str, str]]  # rule id (without prefix) -> what it checks
    blank_line_severity: ClassVar[Severity | None] = WARNING
    limits: ClassVar[Limits] = Limits()
    # per-example token limits: model id prefix -> max training tokens for one example
    model_token_limits: ClassVar[Mapping[str, int]] = {}
    fast_type: ClassVar[type | None] = None
    # True when `fast_ok` itself bounds the depth of free-form values at the default limit
    # (the engine then skips `fast_free_values` unless the user sets another --max-depth)
    fast_checks_depth: ClassVar[bool] = False
    notes: ClassVar[tuple[str, ...]] = ()
    _dataset_rules: ClassVar[dict[str, str]] = {
        "dataset.too_few_examples": "fewer examples than the vendor's minimum",
        "dataset.too_many_examples": "more examples than the vendor's maximum",
        "dataset.file_too_large": "file larger than the vendor accepts",
        "example.too_many_tokens": "an example over the model's per-example token limit",
    }

    @property
    def id(self) -> str:
        return f"{self.provider}.{self.method}"

    @property
    def prefix(self) -> str:
        return self.provider

    def all_rules(self) -> dict[str, str]:
        """Every rule id of the pack (with prefix) and what it checks."""
        out = {f"{self.prefix}.{k}": v for k, v in self.rules.items()}
        for k, v in self._dataset_rules.items():
            if k == "dataset.too_few_examples" and self.limits.min_examples is None:
                continue
            if k == "dataset.too_many_examples" and self.limits.max_examples is None:
                continue
            if k == "dataset.file_too_large" and self.limits.max_file_bytes is None:
                continue
            if k == "example.too_many_tokens" and not self.model_token_limits:
                continue
            out[f"{self.prefix}.{k}"] = v
        return out

    def fast_ok(self, rec: Any, raw: bytes) -> bool | list[tuple[str, str, Severity, str]]:
        """True only if `check` would report nothing for this record. Default: always check.

        A pack may instead return the exact findings `check` would report, as (path, rule without
        prefix, severity, message) tuples, when they are all warnings it can state without the
        full check; False sends the record to `check`.
        """
        return False

    def fast_free_values(self, rec: Any) -> list[tuple[Any, int]]:
        """Free-form JSON values inside a fast-path record, with the depth they start below.

        The engine checks their nesting depth; everything else in `fast_type` has a fixed depth.
        """
        return []

    def check(self, obj: dict[str, Any], ctx: Ctx) -> None:
        raise NotImplementedError

    def token_limit(self, model: str | None) -> int | None:
        if not model:
            return None
        best: tuple[int, int] | None = None
        for prefix, limit in self.model_token_limits.items():
            if model.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), limit)
        return None if best is None else best[1]

    def dataset_findings(self, stats: DatasetStats, model: str | None) -> list[Finding]:
        out: list[Finding] = []
        ctx = Ctx(self.prefix, None, out)
        lim = self.limits
        if lim.min_examples is not None and stats.valid_examples < lim.min_examples:
            ctx.error(
                "", "dataset.too_few_examples",
                f"{stats.valid_examples} valid example(s); {self.title} needs at least"
                f" {lim.min_examples}: add examples or fix the invalid ones",
            )
        if lim.max_examples is not None and stats.examples > lim.max_examples:
            ctx.error(
                "", "dataset.too_many_examples",
                f"{stats.examples:,} examples; {self.title} accepts at most {lim.max_examples:,}:"
                " split the file or sample it",
            )
        if lim.max_file_bytes is not None and stats.bytes > lim.max_file_bytes:
            ctx.error(
                "", "dataset.file_too_large",
                f"file is {stats.bytes:,} bytes; {self.title} accepts at most"
                f" {lim.max_file_bytes:,}: split it",
            )
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "provider": self.provider,
            "method": self.method,
            "title": self.title,
            "format": self.record_format,
            "verified": self.verified,
            "sources": list(self.sources),
            "min_examples": self.limits.min_examples,
            "max_examples": self.limits.max_examples,
            "max_file_bytes": self.limits.max_file_bytes,
            "notes": list(self.notes),
            "rules": self.all_rules(),
        }
