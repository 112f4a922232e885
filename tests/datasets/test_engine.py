"""The validation engine: chunked, multi-process validation gives the same answer as one process.

Small files are forced through the parallel path by shrinking `CHUNK_BYTES` and `IN_PROCESS_BELOW`,
so that chunk boundaries fall all over the file; spilling is forced by shrinking `SPILL_EVERY`.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tuneops.datasets import engine
from tuneops.datasets.engine import ValidationOptions, ValidationReport, validate_file
from tuneops.datasets.findings import ERROR, WARNING, Finding
from tuneops.datasets.reader import chunk_boundaries
from tuneops.errors import DatasetIOError, UnknownProviderError

U = {"role": "user", "content": "What is the capital of France?"}
A = {"role": "assistant", "content": "Paris."}


def line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def good(i: int) -> bytes:
    return line({"messages": [{"role": "user", "content": f"question {i} — ¿qué? 你好"},
                              {"role": "assistant", "content": f"answer {i}"}]})


def bad_role(i: int) -> bytes:
    return line({"messages": [{"role": "human", "content": f"q{i}"}, A]})


def zero_weight(i: int) -> bytes:
    return line({"messages": [U, {**A, "content": f"a{i}", "weight": 0}]})


# kind -> (line bytes, what the engine must report there: (rule, severity) pairs)
KINDS: dict[str, tuple[Any, list[tuple[str, str]]]] = {
    "good": (good, []),
    "role": (bad_role, [("openai.role.unknown", ERROR)]),
    "weight0": (zero_weight, [("openai.assistant.all_weight_zero", WARNING)]),
    "blank": (lambda i: b"", [("jsonl.blank_line", WARNING)]),
    "crlf": (lambda i: good(i) + b"\r", []),
    "bom": (lambda i: b"\xef\xbb\xbf" + good(i), [("jsonl.bom", WARNING)]),
    "json": (lambda i: good(i)[:-5], [("jsonl.invalid_json", ERROR)]),
    "utf8": (lambda i: good(i).replace(b"question", b"qu\xffestion"), [("jsonl.invalid_utf8", ERROR)]),
    "nan": (lambda i: b'{"messages": [], "x": NaN}', [("jsonl.nan", ERROR)]),
    "deep": (lambda i: b'{"messages": ' + b"[" * 80 + b"]" * 80 + b"}", [("jsonl.too_deep", ERROR)]),
    "long": (lambda i: b'{"x": "' + b"z" * 3000 + b'"}', [("jsonl.line_too_long", ERROR)]),
    "array": (lambda i: b"[1, 2, 3]", [("jsonl.not_object", ERROR)]),
}
MAX_LINE = 2000

# a fixed, varied layout: mostly good lines with every kind of problem sprinkled in, including
# runs of bad lines and problems on the first and last line
PATTERN = (
    ["bom", "good", "role", "good", "good", "blank", "crlf", "json", "good", "weight0", "long"]
    + ["good"] * 5 + ["utf8", "nan", "deep", "array", "blank", "blank", "good", "long", "long"]
    + ["good", "role", "crlf", "good"] * 8
    + ["weight0", "good", "good", "json", "good", "deep", "good", "good", "good", "utf8"]
    + ["good"] * 20 + ["role"]
)


def build(pattern: list[str]) -> tuple[bytes, dict[int, list[tuple[str, str]]]]:
    lines = [KINDS[k][0](i) for i, k in enumerate(pattern, start=1)]
    expected = {i: KINDS[k][1] for i, k in enumerate(pattern, start=1) if KINDS[k][1]}
    return b"\n".join(lines), expected


def write(tmp_path: Path, data: bytes, name: str = "data.jsonl") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def rows(findings: Any) -> list[tuple[Any, ...]]:
    return [(f.line, f.path, f.rule, f.severity) for f in findings]


def run(path: Path, **opts: Any) -> tuple[list[Finding], ValidationReport]:
    with validate_file(path, ValidationOptions(**opts)) as rep:
        return list(rep.findings()), rep


def by_line(findings: list[Finding]) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for f in findings:
        if f.line is not None:
            out.setdefault(f.line, []).append((f.rule, f.severity))
    return out


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Make a few-KB file split into dozens of chunks and go to worker processes."""
    monkeypatch.setattr(engine, "CHUNK_BYTES", 300)
    monkeypatch.setattr(engine, "IN_PROCESS_BELOW", 0)
    return 300


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point tempfile at an empty directory so spill directories can be watched."""
    d = tmp_path / "tmp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


# --------------------------------------------------------------------------------------------
# parallel == sequential
# --------------------------------------------------------------------------------------------


def test_two_workers_over_many_chunks_match_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: int
) -> None:
    data, expected = build(PATTERN)
    p = write(tmp_path, data)
    assert len(chunk_boundaries(p, small_chunks)) >= 20  # the test is about chunk boundaries

    seq_findings, seq = run(p, workers=1, max_line_bytes=MAX_LINE)

    pid_log = tmp_path / "pids"
    real_run_chunk = engine._run_chunk

    def logging_run_chunk(*args: Any) -> Any:
        with open(pid_log, "a") as log:
            log.write(f"{os.getpid()}\n")
        return real_run_chunk(*args)

    monkeypatch.setattr(engine, "_run_chunk", logging_run_chunk)
    progress: list[tuple[int, int]] = []
    with validate_file(p, ValidationOptions(workers=2, max_line_bytes=MAX_LINE),
                       progress=lambda done, total: progress.append((done, total))) as par:
        par_findings = list(par.findings())

    pids = {int(x) for x in pid_log.read_text().split()}
    assert pids - {os.getpid()}, "no chunk ran in a worker process"
    assert progress[-1] == (len(data), len(data))

    assert rows(par_findings) == rows(seq_findings)
    assert [f.message for f in par_findings] == [f.message for f in seq_findings]
    assert par.stats == seq.stats
    assert {r: (s.severity, s.count) for r, s in par.summaries.items()} == {
        r: (s.severity, s.count) for r, s in seq.summaries.items()
    }
    assert {r: rows(s.samples) for r, s in par.summaries.items()} == {
        r: rows(s.samples) for r, s in seq.summaries.items()
    }
    # and both are right, line by line
    assert by_line(par_findings) == expected


def test_stats_count_every_kind_of_line(tmp_path: Path, small_chunks: int) -> None:
    data, _ = build(PATTERN)
    p = write(tmp_path, data)
    _, rep = run(p, workers=2, max_line_bytes=MAX_LINE)
    kinds = PATTERN
    unparsed = {"blank", "json", "utf8", "nan", "deep", "long", "array"}
    assert rep.stats.lines == len(kinds)
    assert rep.stats.bytes == len(data)
    assert rep.stats.blank_lines == kinds.count("blank")
    assert rep.stats.examples == sum(k not in unparsed for k in kinds)
    assert rep.stats.valid_examples == sum(k in {"good", "crlf", "bom", "weight0"} for k in kinds)
    assert rep.errors == sum(1 for k in kinds for _, sev in KINDS[k][1] if sev == ERROR)
    assert not rep.ok


@pytest.mark.parametrize("chunk", [1, 97, 300, 4096], ids=lambda c: f"chunk{c}")
@pytest.mark.parametrize("workers", [1, 2])
def test_line_numbers_are_right_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, workers: int
) -> None:
    monkeypatch.setattr(engine, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(engine, "IN_PROCESS_BELOW", 0)
    # every 7th line is bad; blank and over-long lines and a last line without newline in between
    pattern = []
    for i in range(1, 120):
        if i % 7 == 0:
            pattern.append("role")
        elif i % 11 == 0:
            pattern.append("blank")
        elif i % 13 == 0:
            pattern.append("long")
        else:
            pattern.append("good")
    pattern[-1] = "role"
    data, expected = build(pattern)
    assert not data.endswith(b"\n")
    found, rep = run(write(tmp_path, data), workers=workers, max_line_bytes=MAX_LINE)
    assert by_line(found) == expected
    assert rep.stats.lines == len(pattern)


def test_crlf_file_and_missing_final_newline_give_no_finding(tmp_path: Path, small_chunks: int) -> None:
    data = b"".join(good(i) + b"\r\n" for i in range(1, 40)) + good(40)
    found, rep = run(write(tmp_path, data), workers=2)
    assert found == []
    assert rep.ok
    assert (rep.stats.lines, rep.stats.examples, rep.stats.valid_examples) == (40, 40, 40)


def test_empty_file(tmp_path: Path) -> None:
    found, rep = run(write(tmp_path, b""))
    assert rep.stats.lines == 0
    assert [(f.line, f.rule) for f in found] == [(None, "openai.dataset.too_few_examples")]


# --------------------------------------------------------------------------------------------
# findings(): streaming in file order, spilling
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_findings_stream_in_file_order_past_spill_every(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int, private_tmp: Path
) -> None:
    monkeypatch.setattr(engine, "SPILL_EVERY", 4)
    if workers == 2:
        monkeypatch.setattr(engine, "CHUNK_BYTES", 2000)
        monkeypatch.setattr(engine, "IN_PROCESS_BELOW", 0)
    # 60 lines with 2 findings each (unknown role + all weights zero): far more than SPILL_EVERY
    n = 60
    lines = [line({"messages": [{"role": "bot", "content": f"q{i}"}, {**A, "weight": 0}]})
             for i in range(1, n + 1)]
    p = write(tmp_path, b"\n".join(lines) + b"\n" + good(0) + b"\n")
    rep = validate_file(p, ValidationOptions(workers=workers))
    try:
        # the findings went to disk, not to memory
        spill_files = [f for d in private_tmp.iterdir() for f in d.iterdir()]
        assert spill_files
        assert sum(len(f.read_bytes().splitlines()) for f in spill_files) == 2 * n
        stream = rep.findings()
        assert isinstance(stream, Iterator)
        found = list(stream)
    finally:
        rep.close()
    line_findings = [f for f in found if f.line is not None]
    assert [f.line for f in line_findings] == [i for i in range(1, n + 1) for _ in range(2)]
    assert {f.rule for f in line_findings} == {"openai.role.unknown",
                                               "openai.assistant.all_weight_zero"}
    assert sum(s.count for s in rep.summaries.values()) == len(found)
    # the dataset-level finding comes last: only 1 of the 61 examples is valid
    assert [(f.line, f.rule) for f in found[len(line_findings):]] == [
        (None, "openai.dataset.too_few_examples")
    ]


def test_summaries_keep_only_max_samples(tmp_path: Path) -> None:
    lines = [bad_role(i) for i in range(1, 31)]
    found, rep = run(write(tmp_path, b"\n".join(lines)), max_samples=5)
    s = rep.summaries["openai.role.unknown"]
    assert s.count == 30
    assert [f.line for f in s.samples] == [1, 2, 3, 4, 5]
    assert len([f for f in found if f.rule == "openai.role.unknown"]) == 30


# --------------------------------------------------------------------------------------------
# temp directory lifecycle
# --------------------------------------------------------------------------------------------


def test_close_removes_the_temp_dir(tmp_path: Path, private_tmp: Path) -> None:
    p = write(tmp_path, b"\n".join(bad_role(i) for i in range(1, 20)))
    rep = validate_file(p, ValidationOptions(workers=1))
    dirs = list(private_tmp.iterdir())
    assert len(dirs) == 1 and dirs[0].name.startswith("tuneops-validate-")
    assert any(dirs[0].iterdir())  # the spill is there while the report is open
    assert len(list(rep.findings())) == 20
    rep.close()
    assert list(private_tmp.iterdir()) == []
    rep.close()  # idempotent


def test_context_manager_removes_the_temp_dir(tmp_path: Path, private_tmp: Path,
                                              small_chunks: int) -> None:
    data, _ = build(PATTERN)
    with validate_file(write(tmp_path, data), ValidationOptions(workers=2)) as rep:
        assert list(private_tmp.iterdir())
        next(rep.findings())
    assert list(private_tmp.iterdir()) == []


def test_temp_dir_removed_when_validation_is_interrupted(
    tmp_path: Path, private_tmp: Path, small_chunks: int
) -> None:
    data, _ = build(PATTERN)

    class Stop(Exception):
        pass

    def progress(done: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        validate_file(write(tmp_path, data), ValidationOptions(workers=2), progress=progress)
    assert list(private_tmp.iterdir()) == []


# --------------------------------------------------------------------------------------------
# dataset-level findings
# --------------------------------------------------------------------------------------------


def test_too_few_examples_is_a_dataset_level_error(tmp_path: Path) -> None:
    found, rep = run(write(tmp_path, b"\n".join(good(i) for i in range(3)) + b"\n"))
    assert rows(found) == [(None, "", "openai.dataset.too_few_examples", ERROR)]
    msg = found[0].message
    assert "3 valid example(s)" in msg and "at least 10" in msg and "add examples" in msg
    assert rep.dataset_findings == found
    assert rep.summaries["openai.dataset.too_few_examples"].count == 1
    assert not rep.ok


def test_ten_valid_examples_are_enough(tmp_path: Path) -> None:
    found, rep = run(write(tmp_path, b"\n".join(good(i) for i in range(10)) + b"\n"))
    assert found == []
    assert rep.ok
    assert rep.stats.valid_examples == 10


def test_invalid_examples_do_not_count_towards_the_minimum(tmp_path: Path, small_chunks: int) -> None:
    lines = [good(i) for i in range(9)] + [bad_role(9), b"", b"\xef\xbb\xbf" + good(10)]
    found, rep = run(write(tmp_path, b"\n".join(lines)), workers=2)
    # 9 good + the BOM line (a warning only) = 10 valid: no dataset finding
    assert rep.stats.valid_examples == 10
    assert [f for f in found if f.line is None] == []
    found, rep = run(write(tmp_path, b"\n".join(lines[:-1])), workers=2)
    assert rep.stats.valid_examples == 9
    assert rows(f for f in found if f.line is None) == [
        (None, "", "openai.dataset.too_few_examples", ERROR)
    ]
    assert "9 valid example(s)" in found[-1].message


# --------------------------------------------------------------------------------------------
# errors raised on purpose
# --------------------------------------------------------------------------------------------


def test_missing_file_raises_dataset_io_error(tmp_path: Path, private_tmp: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(DatasetIOError) as info:
        validate_file(missing, ValidationOptions())
    assert str(missing) in str(info.value)
    assert list(private_tmp.iterdir()) == []


def test_directory_raises_dataset_io_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetIOError, match="directory"):
        validate_file(tmp_path, ValidationOptions())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_raises_dataset_io_error_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            validate_file(fifo, ValidationOptions()).close()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive(), "validate_file blocked on a FIFO"
    assert isinstance(outcome[0], DatasetIOError), outcome


def test_unknown_provider_suggests_the_closest_name(tmp_path: Path) -> None:
    p = write(tmp_path, good(1) + b"\n")
    with pytest.raises(UnknownProviderError) as info:
        validate_file(p, ValidationOptions(provider="opnai"))
    assert "opnai" in str(info.value)
    assert "did you mean 'openai'" in str(info.value)
    assert "openai" in info.value.hint


def test_unknown_method_lists_what_the_provider_supports(tmp_path: Path) -> None:
    p = write(tmp_path, good(1) + b"\n")
    with pytest.raises(UnknownProviderError) as info:
        validate_file(p, ValidationOptions(provider="openai", method="rlhf"))
    assert "dpo" in info.value.hint and "sft" in info.value.hint
