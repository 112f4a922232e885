"""`fix_file`: each safe repair, rejects with reasons, the input never touched."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tuneops.datasets.fix import fix_file
from tuneops.errors import DatasetIOError, UsageError

U = {"role": "user", "content": "hi"}
A = {"role": "assistant", "content": "hello"}


def line(obj: object) -> bytes:
    return orjson.dumps(obj)


def test_each_repair_is_applied_and_logged(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}
    data = b"".join([
        b"\xef\xbb\xbf" + line({"messages": [U, A]}) + b"\n",               # 1 BOM
        line({"messages": [U, A]}) + b"\r\n",                                # 2 CRLF
        b"\n",                                                              # 3 blank
        line({"messages": [U, {"role": "assistant", "tool_calls": [call]}]}) + b"\n",  # 4 args
        line({"messages": [U, A, U]}) + b"\n",                              # 5 trailing user
    ])
    src.write_bytes(data)
    out = tmp_path / "out.jsonl"
    report = fix_file(src, out)
    assert src.read_bytes() == data
    assert report.rejected == 0 and report.rejects is None
    assert not (tmp_path / "out.jsonl.rejects.jsonl").exists()
    assert {k: r.lines for k, r in report.repairs.items()} == {
        "strip_bom": [1], "crlf": [2], "blank_line": [3], "tool_arguments": [4], "trailing_turns": [5],
    }
    rows = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert len(rows) == 4
    assert rows[2]["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"a":1}'
    assert rows[3]["messages"] == [U, A]


def test_examples_that_still_fail_go_to_rejects_with_reasons(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(line({"messages": [U, A]}) + b"\n{broken\n" + line({"messages": [U]}) + b"\n")
    out = tmp_path / "out.jsonl"
    rej = tmp_path / "rejects.jsonl"
    report = fix_file(src, out, rejects=rej)
    assert report.written == 1 and report.rejected == 2 and report.rejected_lines == [2, 3]
    entries = [orjson.loads(x) for x in rej.read_bytes().splitlines()]
    assert [e["line"] for e in entries] == [2, 3]
    assert entries[0]["original"] == "{broken"
    assert entries[0]["reasons"][0]["rule"] == "jsonl.invalid_json"
    assert entries[1]["reasons"][0]["rule"] == "openai.assistant.missing"


def test_refuses_to_overwrite_the_input(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(line({"messages": [U, A]}) + b"\n")
    with pytest.raises(UsageError, match="overwrite the input"):
        fix_file(src, src)


def test_no_partial_output_on_failure(tmp_path: Path) -> None:
    with pytest.raises(DatasetIOError):
        fix_file(tmp_path / "missing.jsonl", tmp_path / "out.jsonl")
    assert list(tmp_path.iterdir()) == []
