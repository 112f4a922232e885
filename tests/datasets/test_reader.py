"""The streaming JSONL reader: every per-line problem, line numbering, and refusing non-files.

Each bad-line case asserts the rule id, the line number and that the message tells the user what to
do. Cases go through `parse_line` (the unit) and through `read_records` on a real file, where the
bad line sits between good ones so that numbering after it is checked too.
"""

from __future__ import annotations

import os
import re
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tuneops.datasets.findings import ERROR, WARNING, Finding
from tuneops.datasets.reader import (
    BLOCK_SIZE,
    DEFAULT_MAX_DEPTH,
    LineRecord,
    open_dataset,
    parse_line,
    read_records,
)
from tuneops.errors import DatasetIOError, TuneopsError

GOOD = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}'
GOOD_OBJ = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}


def nested_array(levels: int) -> bytes:
    """A line holding one object whose value nests `levels - 1` arrays: total depth `levels`."""
    inner = levels - 1
    return b'{"a": ' + b"[" * inner + b"]" * inner + b"}"


def write(tmp_path: Path, data: bytes, name: str = "data.jsonl") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def parse(raw: bytes, line: int = 7, **kw: Any) -> tuple[dict[str, Any] | None, list[Finding]]:
    found: list[Finding] = []
    obj = parse_line(raw, line, found, **kw)
    return obj, found


def records(path: Path, **kw: Any) -> list[LineRecord]:
    return list(read_records(path, **kw))


def rules_by_line(recs: list[LineRecord]) -> dict[int, list[str]]:
    return {r.line: [f.rule for f in r.findings] for r in recs}


# --------------------------------------------------------------------------------------------
# one bad line: rule id, severity, and a message that says what to do
# --------------------------------------------------------------------------------------------

# (case id, raw line, rule, fragments the message must contain)
BAD_LINES: list[tuple[str, bytes, str, tuple[str, ...]]] = [
    ("truncated-json", b'{"a": 1,', "jsonl.invalid_json", ("column 9",)),
    ("missing-colon", b'{"a" 1}', "jsonl.invalid_json", ("column 6",)),
    ("trailing-garbage", b'{"a": 1} x', "jsonl.invalid_json", ("column 10",)),
    ("two-objects", b'{"a": 1}{"b": 2}', "jsonl.invalid_json", ("column 9",)),
    ("nul-byte", b'{"a": 1}\x00', "jsonl.invalid_json", ("column 9",)),
    ("raw-tab-in-string", b'{"a": "x\ty"}', "jsonl.invalid_json", ("column",)),
    ("array", b"[1, 2]", "jsonl.not_object", ("JSON array", "each line must be one JSON object")),
    ("string", b'"hello"', "jsonl.not_object", ("JSON string", "each line must be one JSON object")),
    ("number", b"42", "jsonl.not_object", ("JSON number", "each line must be one JSON object")),
    ("null", b"null", "jsonl.not_object", ("JSON null", "each line must be one JSON object")),
    ("invalid-utf8-ff", b'{"a": "\xff"}', "jsonl.invalid_utf8",
     ("byte 8", "re-encode the file as UTF-8")),
    ("truncated-utf8-sequence", b'{"a": "\xe2\x82"}', "jsonl.invalid_utf8",
     ("byte 8", "re-encode the file as UTF-8")),
    ("overlong-utf8", b'{"a": "\xc0\xaf"}', "jsonl.invalid_utf8", ("re-encode the file as UTF-8",)),
    ("utf8-encoded-surrogate", b'{"a": "\xed\xa0\x80"}', "jsonl.invalid_utf8",
     ("re-encode the file as UTF-8",)),
    ("nan", b'{"a": NaN}', "jsonl.nan", ("NaN", "write null or a finite number")),
    ("infinity", b'{"a": Infinity}', "jsonl.nan", ("Infinity", "write null or a finite number")),
    ("minus-infinity", b'{"a": [1, -Infinity]}', "jsonl.nan",
     ("-Infinity", "write null or a finite number")),
    ("lone-high-surrogate", b'{"a": "x\\ud800"}', "jsonl.lone_surrogate",
     ("unpaired", "remove it or escape a full surrogate pair")),
    ("lone-low-surrogate", b'{"a": "\\udc00y"}', "jsonl.lone_surrogate",
     ("unpaired", "remove it or escape a full surrogate pair")),
    ("depth-65", nested_array(DEFAULT_MAX_DEPTH + 1), "jsonl.too_deep",
     (f"deeper than {DEFAULT_MAX_DEPTH} levels", "flatten the record")),
    ("depth-2000-objects", b'{"a": ' * 2000 + b"1" + b"}" * 2000, "jsonl.too_deep",
     ("flatten the record",)),
    ("depth-100000-arrays", nested_array(100_000), "jsonl.too_deep", ("flatten the record",)),
    ("depth-100000-objects", b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "jsonl.too_deep",
     ("flatten the record",)),
    ("depth-100000-unclosed", b"[" * 100_000, "jsonl.too_deep", ("flatten the record",)),
    ("depth-100000-in-messages", b'{"messages": [{"role": "user", "content": '
     + b"[" * 100_000 + b"]" * 100_000 + b'}]}', "jsonl.too_deep", ("flatten the record",)),
]
BAD_IDS = [c[0] for c in BAD_LINES]


@pytest.mark.parametrize(("raw", "rule", "fragments"), [c[1:] for c in BAD_LINES], ids=BAD_IDS)
def test_parse_line_reports_the_problem_and_the_fix(
    raw: bytes, rule: str, fragments: tuple[str, ...]
) -> None:
    obj, found = parse(raw, line=7)
    assert obj is None
    assert [(f.line, f.path, f.rule, f.severity) for f in found] == [(7, "", rule, ERROR)]
    for fragment in fragments:
        assert fragment in found[0].message, found[0].message


@pytest.mark.parametrize(("raw", "rule", "fragments"), [c[1:] for c in BAD_LINES], ids=BAD_IDS)
def test_read_records_reports_bad_line_at_its_physical_line(
    tmp_path: Path, raw: bytes, rule: str, fragments: tuple[str, ...]
) -> None:
    p = write(tmp_path, GOOD + b"\n" + GOOD + b"\n" + raw + b"\n" + GOOD + b"\n")
    recs = records(p)
    assert [r.line for r in recs] == [1, 2, 3, 4]
    assert [r.obj for r in recs] == [GOOD_OBJ, GOOD_OBJ, None, GOOD_OBJ]
    assert rules_by_line(recs) == {1: [], 2: [], 3: [rule], 4: []}
    (f,) = recs[2].findings
    assert (f.line, f.severity) == (3, ERROR)
    for fragment in fragments:
        assert fragment in f.message, f.message


def test_invalid_json_column_counts_characters_not_bytes() -> None:
    # "é" is two bytes; an editor shows the stray `x` at character column 13 (byte 15)
    _, found = parse('{"a": "éé", x}'.encode(), line=1)
    assert [f.rule for f in found] == ["jsonl.invalid_json"]
    assert "column 13" in found[0].message


def test_invalid_json_message_says_what_to_do() -> None:
    _, found = parse(b'{"messages": [{"role": "user", "content": "hi"', line=1)
    (f,) = found
    assert f.rule == "jsonl.invalid_json"
    advice = f.message.split(":", 1)[1]
    assert re.search(
        r"\b(fix|check|repair|correct|complete|close|add|remove|escape|quote|ensure|make sure)\b",
        advice,
    ), f.message


def test_not_object_names_each_json_kind() -> None:
    kinds = {b"[]": "array", b'"s"': "string", b"1.5": "number", b"-3": "number", b"null": "null"}
    for raw, kind in kinds.items():
        _, found = parse(raw, line=1)
        assert [f.rule for f in found] == ["jsonl.not_object"], raw
        assert f"JSON {kind}," in found[0].message, (raw, found[0].message)


def test_valid_surrogate_pair_and_escapes_are_accepted() -> None:
    obj, found = parse(b'{"a": "\\ud83d\\ude00 \\u00e9 \\n"}')
    assert found == []
    assert obj == {"a": "\U0001f600 é \n"}


def test_nan_inside_a_string_is_fine() -> None:
    obj, found = parse(b'{"a": "NaN", "b": "Infinity"}')
    assert found == []
    assert obj == {"a": "NaN", "b": "Infinity"}


# --------------------------------------------------------------------------------------------
# nesting depth
# --------------------------------------------------------------------------------------------


def test_depth_exactly_at_the_limit_is_accepted() -> None:
    obj, found = parse(nested_array(DEFAULT_MAX_DEPTH))
    assert found == []
    assert obj is not None


def test_max_depth_argument_is_honoured() -> None:
    raw = b'{"a": {"b": {"c": 1}}}'  # depth 3
    assert parse(raw, max_depth=3) == ({"a": {"b": {"c": 1}}}, [])
    obj, found = parse(raw, max_depth=2)
    assert obj is None
    assert [f.rule for f in found] == ["jsonl.too_deep"]
    assert "deeper than 2 levels" in found[0].message


def test_100000_levels_never_raise_recursion_error_through_read_records(tmp_path: Path) -> None:
    deep = [
        nested_array(100_000),
        b"[" * 100_000,
        b"{" * 100_000,
        b'{"a": ' * 100_000,
        b"[" * 100_000 + b"NaN" + b"]" * 100_000,
        b'{"a": ' + b"[" * 100_000 + b'"\\ud800"' + b"]" * 100_000 + b"}",
    ]
    p = write(tmp_path, b"\n".join([GOOD, *deep, GOOD]) + b"\n")
    recs = records(p)  # a RecursionError here fails the test
    assert [r.line for r in recs] == list(range(1, len(deep) + 3))
    assert recs[0].obj == GOOD_OBJ
    assert recs[-1].obj == GOOD_OBJ
    for r in recs[1:-1]:
        assert r.obj is None
        assert len(r.findings) == 1, r.findings
        assert r.findings[0].line == r.line
        assert r.findings[0].severity == ERROR
    # the fully nested but well-formed values are diagnosed as depth, not as generic bad JSON
    assert recs[1].findings[0].rule == "jsonl.too_deep"


# --------------------------------------------------------------------------------------------
# over-long lines
# --------------------------------------------------------------------------------------------


def long_line(n_bytes: int) -> bytes:
    """A valid JSON object line of exactly `n_bytes` bytes."""
    overhead = len(b'{"x": ""}')
    return b'{"x": "' + b"y" * (n_bytes - overhead) + b'"}'


def assert_too_long(rec: LineRecord, line: int, length: int, limit: int) -> None:
    assert rec.line == line
    assert rec.obj is None
    assert [(f.line, f.rule, f.severity) for f in rec.findings] == [
        (line, "jsonl.line_too_long", ERROR)
    ]
    msg = rec.findings[0].message
    assert f"{length:,} bytes" in msg, msg
    assert f"{limit:,}-byte limit" in msg, msg
    assert "split the example or raise --max-line-bytes" in msg


def test_line_over_max_line_bytes_is_skipped_and_numbering_continues(tmp_path: Path) -> None:
    p = write(tmp_path, GOOD + b"\n" + long_line(101) + b"\n" + GOOD + b"\n" + b"[1]\n")
    recs = records(p, max_line_bytes=100)
    assert [r.line for r in recs] == [1, 2, 3, 4]
    assert recs[0].obj == GOOD_OBJ
    assert_too_long(recs[1], 2, 101, 100)
    assert recs[2].obj == GOOD_OBJ
    assert rules_by_line(recs)[4] == ["jsonl.not_object"]


def test_line_length_boundary(tmp_path: Path) -> None:
    p = write(tmp_path, long_line(100) + b"\n" + long_line(101) + b"\n")
    recs = records(p, max_line_bytes=100)
    assert recs[0].findings == []
    assert recs[0].obj is not None
    assert_too_long(recs[1], 2, 101, 100)


@pytest.mark.parametrize("final_newline", [True, False], ids=["newline", "no-final-newline"])
def test_long_line_spanning_several_blocks(tmp_path: Path, final_newline: bool) -> None:
    length = 3 * BLOCK_SIZE + 12_345
    body = [GOOD, long_line(length), b"", GOOD, long_line(length), GOOD, long_line(length)]
    data = b"\n".join(body) + (b"\n" if final_newline else b"")
    p = write(tmp_path, data)
    recs = records(p, max_line_bytes=1000, keep_raw=True)
    assert [r.line for r in recs] == [1, 2, 3, 4, 5, 6, 7]
    assert recs[0].obj == GOOD_OBJ
    assert_too_long(recs[1], 2, length, 1000)
    assert [f.rule for f in recs[2].findings] == ["jsonl.blank_line"]
    assert recs[3].obj == GOOD_OBJ
    assert_too_long(recs[4], 5, length, 1000)
    assert recs[5].obj == GOOD_OBJ
    assert_too_long(recs[6], 7, length, 1000)
    # the skipped lines are not kept even when raw bytes are asked for
    assert [r.raw is None for r in recs] == [False, True, False, False, True, False, True]


def test_long_line_ending_exactly_at_a_block_boundary(tmp_path: Path) -> None:
    # the newline of line 1 is the first byte of the third block
    length = 2 * BLOCK_SIZE
    p = write(tmp_path, long_line(length) + b"\n" + GOOD + b"\n")
    recs = records(p, max_line_bytes=100)
    assert_too_long(recs[0], 1, length, 100)
    assert recs[1].obj == GOOD_OBJ
    assert len(recs) == 2


def test_long_line_with_crlf_keeps_following_lines(tmp_path: Path) -> None:
    length = BLOCK_SIZE + 7
    p = write(tmp_path, GOOD + b"\r\n" + long_line(length) + b"\r\n" + GOOD + b"\r\n")
    recs = records(p, max_line_bytes=1000)
    assert [r.line for r in recs] == [1, 2, 3]
    assert recs[1].obj is None
    assert [f.rule for f in recs[1].findings] == ["jsonl.line_too_long"]
    assert recs[2].obj == GOOD_OBJ
    assert recs[2].findings == []


def test_over_long_line_is_never_held_in_memory(tmp_path: Path) -> None:
    length = 16 * BLOCK_SIZE
    p = write(tmp_path, GOOD + b"\n" + long_line(length) + b"\n" + GOOD + b"\n")
    tracemalloc.start()
    try:
        recs = [(r.line, r.obj is None, [f.rule for f in r.findings])
                for r in read_records(p, max_line_bytes=1000)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert recs == [(1, False, []), (2, True, ["jsonl.line_too_long"]), (3, False, [])]
    # holding the line would cost at least its 16 MiB; skipping it costs about a block or two
    assert peak < 4 * BLOCK_SIZE, f"peak {peak:,} bytes while skipping a {length:,}-byte line"


def test_crlf_does_not_count_towards_max_line_bytes(tmp_path: Path) -> None:
    p = write(tmp_path, long_line(100) + b"\r\n" + GOOD + b"\r\n")
    recs = records(p, max_line_bytes=100)
    assert [(r.line, r.findings) for r in recs] == [(1, []), (2, [])]
    assert recs[0].obj is not None


def test_crlf_line_at_the_limit_split_between_cr_and_lf_by_a_block(tmp_path: Path) -> None:
    # line 1 is max_line_bytes long; its CR is the last byte of the first block, its LF the first
    # byte of the second
    limit = BLOCK_SIZE - 1
    p = write(tmp_path, long_line(limit) + b"\r\n" + GOOD + b"\r\n")
    recs = records(p, max_line_bytes=limit)
    assert [(r.line, r.findings) for r in recs] == [(1, []), (2, [])]
    assert recs[0].obj is not None


# --------------------------------------------------------------------------------------------
# BOM, blank lines, CRLF, final newline
# --------------------------------------------------------------------------------------------


def test_bom_is_a_warning_and_the_record_is_still_parsed(tmp_path: Path) -> None:
    p = write(tmp_path, b"\xef\xbb\xbf" + GOOD + b"\n" + GOOD + b"\n" + b"\xef\xbb\xbf" + GOOD + b"\n")
    recs = records(p)
    assert [r.obj for r in recs] == [GOOD_OBJ, GOOD_OBJ, GOOD_OBJ]
    assert rules_by_line(recs) == {1: ["jsonl.bom"], 2: [], 3: ["jsonl.bom"]}
    for r in (recs[0], recs[2]):
        (f,) = r.findings
        assert (f.line, f.severity) == (r.line, WARNING)
        assert "save the file without a BOM" in f.message


def test_bom_before_a_bad_line_reports_both() -> None:
    obj, found = parse(b'\xef\xbb\xbf{"a": NaN}', line=2)
    assert obj is None
    assert [(f.line, f.rule, f.severity) for f in found] == [
        (2, "jsonl.bom", WARNING), (2, "jsonl.nan", ERROR)
    ]


def test_invalid_utf8_offset_counts_the_bom_bytes() -> None:
    # the 0xFF is the 11th byte of the physical line (3 BOM bytes + 7)
    _, found = parse(b'\xef\xbb\xbf{"a": "\xff"}', line=1)
    assert [f.rule for f in found] == ["jsonl.bom", "jsonl.invalid_utf8"]
    assert "byte 11 of the line" in found[1].message, found[1].message


@pytest.mark.parametrize(
    ("severity", "expected"),
    [(WARNING, WARNING), (ERROR, ERROR), (None, None)],
    ids=["warning", "error", "not-reported"],
)
def test_blank_line_severity_comes_from_the_argument(
    tmp_path: Path, severity: Any, expected: Any
) -> None:
    p = write(tmp_path, GOOD + b"\n\n   \t\n" + GOOD + b"\r\n\r\n" + GOOD + b"\n")
    recs = records(p, blank_severity=severity)
    assert [r.line for r in recs] == [1, 2, 3, 4, 5, 6]
    assert [r.obj is None for r in recs] == [False, True, True, False, True, False]
    blanks = {2, 3, 5}
    for r in recs:
        if r.line in blanks and expected is not None:
            assert [(f.line, f.rule, f.severity) for f in r.findings] == [
                (r.line, "jsonl.blank_line", expected)
            ]
            assert "remove it" in r.findings[0].message
        else:
            assert r.findings == [], r


def test_blank_line_via_parse_line_default_is_warning() -> None:
    assert parse(b"", line=4) == (None, [Finding(4, "", "jsonl.blank_line", WARNING,
                                                 "blank line: remove it")])
    assert parse(b"  ", line=4, blank_severity=None) == (None, [])


@pytest.mark.parametrize(
    "data",
    [
        GOOD + b"\r\n" + GOOD + b"\r\n",
        GOOD + b"\r\n" + GOOD,
        GOOD + b"\n" + GOOD,
        GOOD + b"\r\n" + GOOD + b"\r",
    ],
    ids=["crlf", "crlf-no-final-newline", "lf-no-final-newline", "final-bare-cr"],
)
def test_line_endings_are_accepted_silently(tmp_path: Path, data: bytes) -> None:
    recs = records(write(tmp_path, data), keep_raw=True)
    assert [(r.line, r.obj, r.findings) for r in recs] == [(1, GOOD_OBJ, []), (2, GOOD_OBJ, [])]
    assert [r.raw for r in recs] == [GOOD, GOOD]


def test_cr_inside_a_line_is_not_a_line_break(tmp_path: Path) -> None:
    p = write(tmp_path, b'{"a": 1}\r{"b": 2}\n' + GOOD + b"\n")
    recs = records(p)
    assert [r.line for r in recs] == [1, 2]
    assert rules_by_line(recs) == {1: ["jsonl.invalid_json"], 2: []}


def test_empty_file_has_no_records(tmp_path: Path) -> None:
    assert records(write(tmp_path, b"")) == []


def test_a_trailing_newline_is_not_a_blank_line(tmp_path: Path) -> None:
    recs = records(write(tmp_path, GOOD + b"\n"))
    assert [(r.line, r.findings) for r in recs] == [(1, [])]
    recs = records(write(tmp_path, GOOD + b"\n\n"))
    assert [(r.line, [f.rule for f in r.findings]) for r in recs] == [(1, []), (2, ["jsonl.blank_line"])]


# --------------------------------------------------------------------------------------------
# open_dataset: missing file, directory, FIFO
# --------------------------------------------------------------------------------------------


def _without_hanging(fn: Callable[[], Any], seconds: float = 20.0) -> BaseException | None:
    """Run fn in a daemon thread; return what it raised. Fails the test if it blocks."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            handle = fn()
        except BaseException as exc:
            outcome.append(exc)
        else:
            close = getattr(handle, "close", None)
            if close is not None:
                close()
            outcome.append(None)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the call blocked (a FIFO must be refused, not opened)"
    return outcome[0]


def test_open_dataset_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(DatasetIOError) as info:
        open_dataset(missing)
    assert str(missing) in str(info.value)
    assert "no such file" in str(info.value)
    assert info.value.hint  # says what to do
    with pytest.raises(DatasetIOError):
        next(read_records(missing))


def test_open_dataset_directory(tmp_path: Path) -> None:
    with pytest.raises(DatasetIOError) as info:
        open_dataset(tmp_path)
    assert "is a directory" in str(info.value)
    assert ".jsonl" in info.value.hint
    with pytest.raises(DatasetIOError):
        next(read_records(tmp_path))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_open_dataset_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    exc = _without_hanging(lambda: open_dataset(fifo))
    assert isinstance(exc, DatasetIOError), exc
    assert "not a regular file" in str(exc)
    exc = _without_hanging(lambda: next(read_records(fifo)))
    assert isinstance(exc, DatasetIOError), exc


def test_dataset_io_error_is_a_tuneops_error(tmp_path: Path) -> None:
    with pytest.raises(TuneopsError):
        open_dataset(tmp_path / "missing.jsonl")


def test_open_dataset_returns_a_readable_binary_handle(tmp_path: Path) -> None:
    p = write(tmp_path, GOOD + b"\n")
    with open_dataset(p) as f:
        assert f.read() == GOOD + b"\n"
