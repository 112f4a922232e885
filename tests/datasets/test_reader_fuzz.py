"""Property tests: no bytes make the reader or the engine raise, and line numbers always add up.

The oracle for line numbering is the simplest possible one: ``data.split(b"\\n")``, minus the empty
segment after a final newline. The reader runs with tiny block sizes and the engine with tiny chunks
so that every line, CR and multibyte character gets a chance to straddle a boundary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tuneops.datasets import engine, reader
from tuneops.datasets.engine import ValidationOptions, validate_file
from tuneops.datasets.findings import Finding
from tuneops.datasets.reader import DEFAULT_MAX_DEPTH, read_records
from tuneops.datasets.rules import get_pack
from tuneops.datasets.rules.base import Ctx

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def physical_lines(data: bytes) -> list[bytes]:
    if not data:
        return []
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return parts


# ---- strategies ------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=5)

roles = st.sampled_from(["system", "user", "assistant", "tool", "bot", "", 3, None])
contents = st.one_of(
    st.text(max_size=30), st.none(), st.integers(), st.just("   "), st.just("<|im_start|>"),
    st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=10)}),
             max_size=2),
)


@st.composite
def chat_messages(draw: st.DrawFn) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": draw(roles)}
    if draw(st.integers(0, 6)) != 0:
        msg["content"] = draw(contents)
    if draw(st.integers(0, 4)) == 0:
        msg["weight"] = draw(st.sampled_from([0, 1, 2, True, 0.5, -0]))
    if draw(st.integers(0, 6)) == 0:
        msg["name"] = draw(st.sampled_from(["bob", "", 5]))
    if draw(st.integers(0, 6)) == 0:
        msg["tool_calls"] = [{"id": draw(st.sampled_from(["c1", ""])), "type": "function",
                              "function": {"name": "f", "arguments": "{}"}}]
        if draw(st.booleans()):
            msg.pop("content", None)
    if draw(st.integers(0, 8)) == 0:
        msg["extra"] = 1
    return msg


@st.composite
def chat_records(draw: st.DrawFn) -> dict[str, Any]:
    users = [{"role": "user", "content": draw(st.text(min_size=1, max_size=10))},
             {"role": "assistant", "content": draw(st.text(min_size=1, max_size=10))}]
    msgs = draw(st.one_of(st.just(users), st.lists(chat_messages(), max_size=5)))
    rec: dict[str, Any] = {"messages": msgs}
    if draw(st.integers(0, 5)) == 0:
        rec["tools"] = draw(st.sampled_from([
            [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            [{"type": "function", "function": {"name": "f", "parameters": {
                "type": "object", "x": [[[[[[[[[[[[1]]]]]]]]]]]]}}}],
            "nope",
        ]))
    if draw(st.integers(0, 8)) == 0:
        rec["parallel_tool_calls"] = draw(st.sampled_from([True, "yes"]))
    if draw(st.integers(0, 8)) == 0:
        rec["message"] = []
    return rec


def _dumps(ascii_only: bool) -> Any:
    return lambda obj: json.dumps(obj, ensure_ascii=ascii_only).encode()


garbage = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b""))
deep = st.sampled_from([10, DEFAULT_MAX_DEPTH - 1, DEFAULT_MAX_DEPTH, DEFAULT_MAX_DEPTH + 1, 1500,
                        20_000]).flatmap(
    lambda d: st.sampled_from([
        b'{"a": ' + b"[" * d + b"]" * d + b"}",
        b"[" * d + b"]" * d,
        b"[" * d,
        b'{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],'
        b' "tools": ' + b"[" * d + b"]" * d + b"}",
    ])
)
huge = st.integers(100, 5000).map(lambda n: b'{"x": "' + b"y" * n + b'"}')
specials = st.sampled_from([
    b"", b" ", b"\t", b"\xef\xbb\xbf", b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": "\\ud800"}',
    b'{"a": "\xff"}', b'{"a": "\xe2\x82"}', b"null", b"[]", b'"s"', b"{}", b'{"a": 1e999}',
    b'{"messages": [{"role": "user", "content": "\xc3"}]}',
])


@st.composite
def one_line(draw: st.DrawFn) -> bytes:
    line = draw(st.one_of(
        st.builds(lambda o, f: f(o), json_objects, st.sampled_from([_dumps(True), _dumps(False)])),
        st.builds(lambda o, f: f(o), chat_records(), st.sampled_from([_dumps(True), _dumps(False)])),
        garbage, deep, huge, specials,
    ))
    if draw(st.integers(0, 6)) == 0:
        line = b"\xef\xbb\xbf" + line
    if draw(st.integers(0, 6)) == 0:
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\r"])) + line[at:]
    if draw(st.integers(0, 4)) == 0:
        line += b"\r"
    return line


@st.composite
def files(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(one_line(), max_size=25))
    data = b"\n".join(lines)
    if lines and draw(st.booleans()):
        data += b"\n"
    return data


any_file = st.one_of(files(), st.binary(max_size=3000))
block_sizes = st.sampled_from([3, 16, 257, reader.BLOCK_SIZE])
line_limits = st.sampled_from([64, 1000, reader.DEFAULT_MAX_LINE_BYTES])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _rows(findings: Any) -> list[tuple[Any, ...]]:
    return [(f.line, f.path, f.rule, f.severity) for f in findings]


# ---- properties ------------------------------------------------------------------------------


@SETTINGS
@given(data=any_file, block=block_sizes, max_line=line_limits)
def test_read_records_never_raises_and_counts_physical_lines(
    workdir: Path, data: bytes, block: int, max_line: int
) -> None:
    p = workdir / "reader.jsonl"
    p.write_bytes(data)
    expected = physical_lines(data)
    with mock.patch.object(reader, "BLOCK_SIZE", block):
        recs = list(read_records(p, max_line_bytes=max_line, keep_raw=True))
    assert [r.line for r in recs] == list(range(1, len(expected) + 1))
    for rec, phys in zip(recs, expected, strict=True):
        for f in rec.findings:
            assert f.line == rec.line
        too_long = [f for f in rec.findings if f.rule == "jsonl.line_too_long"]
        if len(phys) <= max_line:
            assert not too_long
            assert rec.raw == (phys[:-1] if phys.endswith(b"\r") else phys)
        elif len(phys.removesuffix(b"\r")) > max_line:
            assert len(too_long) == 1
            assert rec.findings == too_long
            assert rec.obj is None
            assert rec.raw is None
        if rec.obj is not None:
            assert isinstance(rec.obj, dict)
            assert not any(f.severity == "error" for f in rec.findings)


def _oracle(path: Path, max_line: int, max_depth: int) -> tuple[list[tuple[Any, ...]], int, int]:
    """Findings the engine must give: the reader's line findings plus the pack's full check."""
    pack = get_pack("openai")
    rows: list[Finding] = []
    examples = blank = 0
    for rec in read_records(path, max_line_bytes=max_line, max_depth=max_depth,
                            blank_severity=pack.blank_line_severity, keep_raw=True):
        rows.extend(rec.findings)
        if rec.obj is not None:
            examples += 1
            pack.check(rec.obj, Ctx(pack.prefix, rec.line, rows))
        elif rec.raw is not None and (not rec.raw or rec.raw.isspace()):
            blank += 1
    return _rows(rows), examples, blank


@SETTINGS
@given(
    data=any_file,
    chunk=st.sampled_from([1, 40, 500, engine.CHUNK_BYTES]),
    block=block_sizes,
    max_line=line_limits,
    max_depth=st.sampled_from([3, 8, 12, DEFAULT_MAX_DEPTH]),
)
def test_validate_file_never_raises_and_numbers_every_finding(
    workdir: Path, data: bytes, chunk: int, block: int, max_line: int, max_depth: int
) -> None:
    # a CRLF line of exactly max_line + 1 bytes is accepted or refused depending on where a block
    # boundary falls (the known bug in test_reader.py's xfail): keep it out of the comparison
    assume(not any(len(x) == max_line + 1 and x.endswith(b"\r") for x in physical_lines(data)))
    p = workdir / "engine.jsonl"
    p.write_bytes(data)
    n_lines = len(physical_lines(data))
    # default workers: a file this small is validated in-process, chunk after chunk
    opts = ValidationOptions(provider="openai", max_line_bytes=max_line, max_depth=max_depth)
    with (
        mock.patch.object(engine, "CHUNK_BYTES", chunk),
        mock.patch.object(engine, "SPILL_EVERY", 2),
        mock.patch.object(reader, "BLOCK_SIZE", block),
        validate_file(p, opts) as rep,
    ):
        found = list(rep.findings())
        stats = rep.stats
        summary_total = sum(s.count for s in rep.summaries.values())
    assert stats.lines == n_lines
    assert stats.bytes == len(data)
    line_findings = [f for f in found if f.line is not None]
    assert all(1 <= f.line <= n_lines for f in line_findings), _rows(line_findings)
    lines = [f.line for f in line_findings]
    assert lines == sorted(lines), "findings are not in file order"
    assert summary_total == len(found)
    # the engine (fast path, chunking, spilling) agrees with the reader + the pack's full check
    expected, examples, blank = _oracle(p, max_line, max_depth)
    assert _rows(line_findings) == expected
    assert stats.examples == examples
    assert stats.blank_lines == blank
    assert found[len(line_findings):] == rep.dataset_findings
