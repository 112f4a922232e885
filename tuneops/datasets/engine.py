"""Validation of a whole file: split into line-aligned chunks, checked in parallel processes.

Each worker streams its byte range, runs the pack's fast path on every line and the full check on
the lines the fast path does not clear, counts tokens when asked, and spills its findings to a
temporary file so that memory stays flat however many problems a file has. The parent stitches
line numbers together in file order.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from tuneops.datasets._parallel import run_in_order
from tuneops.datasets.findings import ERROR, Finding
from tuneops.datasets.reader import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_LINE_BYTES,
    chunk_boundaries,
    iter_line_blocks,
    open_dataset,
    parse_line,
    too_long_finding,
)
from tuneops.datasets.rules import DatasetStats, RulePack, get_pack
from tuneops.datasets.rules.base import Ctx, free_depth_ok

__all__ = ["RuleSummary", "ValidationOptions", "ValidationReport", "validate_file"]

CHUNK_BYTES = 16 * 1024 * 1024
SMALLEST_CHUNK = 1024 * 1024
IN_PROCESS_BELOW = 8 * 1024 * 1024
SPILL_EVERY = 5000
FAST_PATH_MIN_DEPTH = 8
_DECODE_ERRORS = (msgspec.DecodeError, ValueError, RecursionError)


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    provider: str = "openai"
    method: str = "sft"
    model: str | None = None
    count_tokens: bool = False
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    tokenizer: str = "auto"  # "auto" (fastest exact engine) or "tiktoken" (the reference)
    max_samples: int = 20  # places kept in memory per rule for the summary
    workers: int | None = None  # None: one per CPU for large files, in-process for small ones


@dataclass(slots=True)
class RuleSummary:
    rule: str
    severity: str
    count: int
    samples: list[Finding]


@dataclass(slots=True)
class _ChunkResult:
    index: int
    lines: int
    stats: DatasetStats
    counts: dict[str, tuple[str, int]]
    samples: dict[str, list[tuple[Any, ...]]]
    spill: str | None


@dataclass(slots=True)
class ValidationReport:
    """The outcome of `validate_file`. Use as a context manager (or call `close`) to remove spills."""

    file: str
    pack: RulePack
    model: str | None
    stats: DatasetStats
    summaries: dict[str, RuleSummary]
    dataset_findings: list[Finding]
    token_method: str | None = None
    tokens_exact: bool | None = None  # None when tokens were not counted
    _spills: list[tuple[str, int]] = field(default_factory=list)
    _tmpdir: str | None = None

    @property
    def errors(self) -> int:
        return sum(s.count for s in self.summaries.values() if s.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(s.count for s in self.summaries.values() if s.severity != ERROR)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def findings(self) -> Iterator[Finding]:
        """Every finding, in file order (line findings first, then dataset-level ones), streamed."""
        for path, offset in self._spills:
            with open(path, "rb") as f:
                for raw in f:
                    yield Finding.from_row(orjson.loads(raw), offset)
        yield from self.dataset_findings

    def close(self) -> None:
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> ValidationReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Sink:
    """Per-chunk findings: counts and first samples in memory, everything else spilled to disk."""

    def __init__(self, spill_path: str, max_samples: int) -> None:
        self.spill_path = spill_path
        self.max_samples = max_samples
        self.buffer: list[Finding] = []
        self.counts: dict[str, tuple[str, int]] = {}
        self.samples: dict[str, list[tuple[Any, ...]]] = {}
        self.spilled = False

    def add_all(self, found: list[Finding]) -> None:
        for f in found:
            sev_count = self.counts.get(f.rule)
            self.counts[f.rule] = (f.severity, 1 if sev_count is None else sev_count[1] + 1)
            samples = self.samples.setdefault(f.rule, [])
            if len(samples) < self.max_samples:
                samples.append(f.to_row())
        self.buffer.extend(found)
        if len(self.buffer) >= SPILL_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        with open(self.spill_path, "ab") as out:
            out.write(b"".join(orjson.dumps(f.to_row()) + b"\n" for f in self.buffer))
        self.buffer.clear()
        self.spilled = True


_COUNTERS: dict[tuple[str, str | None, str], Any] = {}


def _make_counter(pack: RulePack, opts: ValidationOptions) -> Any:
    """One counter per pack/model/engine per process (a tokenizer load can take a second)."""
    from tuneops.datasets.tokens import counter_for

    key = (pack.id, opts.model, opts.tokenizer)
    counter = _COUNTERS.get(key)
    if counter is None:
        counter = _COUNTERS[key] = counter_for(pack, opts.model, opts.tokenizer)
    return counter


def _too_long(line: int, tokens: int, limit: int, prefix: str, model: str | None) -> Finding:
    return Finding(
        line, "", f"{prefix}.example.too_many_tokens", ERROR,
        f"{tokens:,} tokens; {model} trains on at most {limit:,} per example (longer ones are"
        " truncated or rejected): shorten or split it",
    )


def _run_chunk(
    path: str, index: int, start: int, end: int, opts: ValidationOptions, spill_dir: str
) -> _ChunkResult:
    pack = get_pack(opts.provider, opts.method)
    stats = DatasetStats(bytes=end - start)
    sink = _Sink(os.path.join(spill_dir, f"chunk-{index:06d}.jsonl"), opts.max_samples)
    decoder: msgspec.json.Decoder[Any] | None = (
        msgspec.json.Decoder(pack.fast_type) if pack.fast_type is not None else None
    )
    decode = decoder.decode if decoder is not None else None
    fast_ok = pack.fast_ok
    free_values = pack.fast_free_values
    if opts.max_depth < FAST_PATH_MIN_DEPTH:
        decode = None  # the fast structs themselves nest this deep
    counter = _make_counter(pack, opts) if opts.count_tokens else None
    count_fast = getattr(counter, "count_fast", None)
    limit = pack.token_limit(opts.model) if counter is not None else None
    blank_sev = pack.blank_line_severity
    max_depth = opts.max_depth
    max_line = opts.max_line_bytes
    prefix = pack.prefix
    n = 0
    examples = valid = blank = fast_valid = 0
    has_free = type(pack).fast_free_values is not RulePack.fast_free_values and not (
        pack.fast_checks_depth and max_depth == DEFAULT_MAX_DEPTH
    )
    tok_total = tok_max = over = tok_content = 0
    found: list[Finding] = []
    with open_dataset(path) as f:
        for block in iter_line_blocks(f, start, end, max_line):
            for raw in block:
                n += 1
                if isinstance(raw, int):
                    sink.add_all([too_long_finding(n, raw, max_line)])
                    continue
                ok: Any = False
                if decode is not None:
                    try:
                        rec = decode(raw)
                        ok = fast_ok(rec, raw)
                        if ok and has_free:
                            for value, base in free_values(rec):
                                if not free_depth_ok(value, base, max_depth):
                                    ok = False
                    except _DECODE_ERRORS:
                        ok = False
                if ok:
                    if ok is not True:
                        sink.add_all([Finding(n, path, f"{prefix}.{rule}", sev, msg)
                                      for path, rule, sev, msg in ok])
                    fast_valid += 1
                    if counter is None:
                        continue
                    tc = count_fast(rec) if count_fast is not None else None
                    if tc is None:
                        tc = counter.count(orjson.loads(raw))
                else:
                    found.clear()
                    obj = parse_line(raw, n, found, max_depth=max_depth, blank_severity=blank_sev)
                    if obj is None:
                        if not raw or raw.isspace():
                            blank += 1
                        if found:
                            sink.add_all(found)
                        continue
                    examples += 1
                    pack.check(obj, Ctx(prefix, n, found))
                    if found:
                        sink.add_all(found)
                    if any(x.severity == ERROR for x in found):
                        continue
                    valid += 1
                    if counter is None:
                        continue
                    tc = counter.count(obj)
                tokens = tc.training
                tok_content += tc.content
                tok_total += tokens
                tok_max = max(tok_max, tokens)
                if limit is not None and tokens > limit:
                    over += 1
                    sink.add_all([_too_long(n, tokens, limit, prefix, opts.model)])
    sink.flush()
    stats.lines = n
    stats.examples = examples + fast_valid
    stats.valid_examples = valid + fast_valid - over
    stats.blank_lines = blank
    if counter is not None:
        stats.tokens_counted = True
        stats.tokens_total = tok_total
        stats.content_tokens = tok_content
        stats.tokens_max = tok_max
        stats.over_token_limit = over
    return _ChunkResult(index, n, stats, sink.counts, sink.samples,
                        sink.spill_path if sink.spilled else None)


def _run_chunk_star(args: tuple[Any, ...]) -> _ChunkResult:
    # The hot loop allocates millions of short-lived acyclic objects; the cyclic collector only
    # costs time there (refcounting frees them all).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run_chunk(*args)
    finally:
        if enabled:
            gc.enable()


def validate_file(
    path: str | os.PathLike[str],
    options: ValidationOptions | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ValidationReport:
    """Validate a JSONL file against a vendor's rule pack. Never raises on the file's contents.

    Raises `DatasetIOError` when the file cannot be read, `UnknownProviderError` for a bad name.
    `progress(done_bytes, total_bytes)` is called as chunks finish.
    """
    opts = options or ValidationOptions()
    pack = get_pack(opts.provider, opts.method)  # fail fast on a bad name
    p = os.fspath(path)
    open_dataset(p).close()  # fail fast on a missing / unreadable / non-regular file
    size = os.path.getsize(p)
    tmpdir = tempfile.mkdtemp(prefix="tuneops-validate-")
    token_method = None
    tokens_exact = None
    if opts.count_tokens:
        counter = _make_counter(pack, opts)
        token_method, tokens_exact = counter.describe(), counter.exact
    try:
        workers = opts.workers
        if workers is None:
            workers = 1 if size < IN_PROCESS_BELOW else os.cpu_count() or 1
        chunks = chunk_boundaries(p, CHUNK_BYTES, workers=workers, smallest=SMALLEST_CHUNK)
        workers = min(workers, len(chunks))
        jobs = [(p, i, s, e, opts, tmpdir) for i, (s, e) in enumerate(chunks)]
        stats = DatasetStats()
        summaries: dict[str, RuleSummary] = {}
        spills: list[tuple[str, int]] = []
        line_offset = 0
        done = 0
        for res in run_in_order(_run_chunk_star, jobs, workers, tmpdir):
            stats.merge(res.stats)
            for rule, (sev, count) in res.counts.items():
                s = summaries.get(rule)
                if s is None:
                    s = summaries[rule] = RuleSummary(rule, sev, 0, [])
                s.count += count
                room = opts.max_samples - len(s.samples)
                if room > 0:
                    s.samples.extend(
                        Finding.from_row(r, line_offset) for r in res.samples[rule][:room]
                    )
            if res.spill:
                spills.append((res.spill, line_offset))
            line_offset += res.lines
            done += res.stats.bytes
            if progress is not None:
                progress(done, size)
        stats.bytes = size
        ds = pack.dataset_findings(stats, opts.model)
        for f in ds:
            s = summaries.setdefault(f.rule, RuleSummary(f.rule, f.severity, 0, []))
            s.count += 1
            s.samples.append(f)
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return ValidationReport(
        file=p, pack=pack, model=opts.model, stats=stats, summaries=summaries,
        dataset_findings=ds, token_method=token_method, tokens_exact=tokens_exact,
        _spills=spills, _tmpdir=tmpdir,
    )
