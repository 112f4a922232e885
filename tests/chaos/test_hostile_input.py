"""Hostile input: no file and no record makes tuneops crash, lose a line number or a lot of memory.

Two halves:

- hypothesis draws records shaped like each vendor's format with wrong types, missing keys, huge
  numbers, deep nesting and unicode edge cases (`_corpus.hostile_records`), and runs them through
  every rule pack, directly and as files through `validate_file`;
- a corpus of nasty files (`_corpus.build`: a 50 MB line, 100k levels of nesting, invalid UTF-8,
  NUL bytes, lone surrogates escaped and raw, 1 GB without a newline, empty, binary garbage, a FIFO,
  a directory, a missing file...) goes through the library and the CLI (`validate` for every pack,
  `convert`, `fix`, `estimate` for a subset), which must answer with findings at the right line or
  a clear file-level error, a documented exit code, never a traceback.

`python -m pytest -m chaos tests/chaos/test_hostile_input.py`
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chaos import _corpus
from tests.chaos._corpus import LINE_RULES, Nasty
from tuneops.cli import cli
from tuneops.cli._common import (
    EXIT_DATA,
    EXIT_INTERNAL,
    EXIT_IO,
    EXIT_OK,
    EXIT_TOKENIZER,
    EXIT_USAGE,
)
from tuneops.datasets.engine import ValidationOptions, validate_file
from tuneops.datasets.findings import ERROR, Finding
from tuneops.datasets.reader import DEFAULT_MAX_DEPTH, parse_line, read_records
from tuneops.datasets.rules import PACKS, get_pack
from tuneops.datasets.rules.base import Ctx
from tuneops.errors import DatasetIOError

pytestmark = pytest.mark.chaos

ALL_PACKS = sorted(PACKS)  # (provider, method)
PROVIDERS = sorted({p for p, _ in PACKS})
# What a data command may exit with on a hostile file: documented codes, never 70 (internal).
DATA_EXITS = {EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_IO, EXIT_TOKENIZER}
RSS_BOUND = 200 * 1024 * 1024
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# ---- the corpus ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Nasty]]:
    d = tmp_path_factory.mktemp("nasty")
    size = _corpus.big_size(d)
    if size < _corpus.GB:
        print(f"\nno room for 1 GB: the no-newline file is {size:,} bytes")
    yield _corpus.build(d, big=size)


def by_name(corpus: list[Nasty], name: str) -> Nasty:
    return next(n for n in corpus if n.name == name)


def small(corpus: list[Nasty]) -> list[Nasty]:
    return [n for n in corpus if not n.big]


def check_report(n: Nasty, findings: list[Finding], lines: int) -> None:
    """Every finding sits on a real line (or is file-level), and the faulty line is named."""
    for f in findings:
        assert f.line is None or 1 <= f.line <= max(lines, 1), (n.name, f)
        assert f.message, (n.name, f)
    if n.line is not None:
        at = [f for f in findings if f.line == n.line and f.severity == ERROR]
        assert at, f"{n.name}: no error on line {n.line}: {findings[:5]}"
        if n.rules:
            assert {f.rule for f in at} & n.rules, (n.name, at)


@pytest.mark.parametrize(("provider", "method"), ALL_PACKS)
def test_library_validate_survives_every_nasty_file(
    corpus: list[Nasty], provider: str, method: str
) -> None:
    for n in corpus:
        if n.big and (provider, method) != ("openai", "sft"):
            continue  # the big files are read once per command below, not per pack
        opts = ValidationOptions(provider=provider, method=method)
        if n.file_error:
            with pytest.raises(DatasetIOError) as info:
                validate_file(n.path, opts)
            assert n.path.name in str(info.value)
            continue
        with validate_file(n.path, opts) as report:
            check_report(n, list(report.findings()), report.stats.lines)
            if n.line is not None:
                assert not report.ok


def test_reader_names_the_fault_of_every_line(corpus: list[Nasty]) -> None:
    for n in small(corpus):
        if n.file_error:
            with pytest.raises(DatasetIOError):
                list(read_records(n.path))
            continue
        records = list(read_records(n.path))
        findings = [f for r in records for f in r.findings]
        assert [r.line for r in records] == list(range(1, len(records) + 1))
        # the reader knows only line-level faults (`rules`); the rest is the packs' business
        check_report(n if n.rules else dataclasses.replace(n, line=None), findings, len(records))


def test_an_empty_file_is_a_clear_dataset_level_error(corpus: list[Nasty]) -> None:
    for name in ("empty.jsonl", "only_newlines.jsonl"):
        with validate_file(by_name(corpus, name).path, ValidationOptions("openai")) as report:
            assert not report.ok, name
            assert any(f.line is None and f.severity == ERROR for f in report.findings()), name


def test_an_unreadable_file_is_a_clear_io_error(corpus: list[Nasty], tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading the file")
    p = tmp_path / "locked.jsonl"
    p.write_bytes(_corpus.GOOD + b"\n")
    restore = _corpus.unreadable(p)
    try:
        with pytest.raises(DatasetIOError, match=r"locked\.jsonl"):
            validate_file(p, ValidationOptions("openai"))
        code, out = run_cli(["validate", str(p), "--provider", "openai"])
        assert code == EXIT_IO, out
    finally:
        restore()


def test_a_file_that_vanishes_while_being_validated(tmp_path: Path) -> None:
    """Deleted between the command's start and the read: an I/O error or a report, no traceback."""
    p = tmp_path / "vanishing.jsonl"
    p.write_bytes((_corpus.GOOD + b"\n") * 10)
    import tuneops.datasets.engine as engine

    real = engine.chunk_boundaries

    def vanish(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        p.unlink()  # the open file still reads on POSIX; a later open fails
        return out

    mp = pytest.MonkeyPatch()
    mp.setattr(engine, "chunk_boundaries", vanish)
    try:
        with pytest.raises(DatasetIOError, match=r"vanishing\.jsonl"):
            validate_file(p, ValidationOptions("openai", workers=1))
    finally:
        mp.undo()


# ---- the CLI on the corpus ----------------------------------------------------------------------

def run_cli(args: list[str]) -> tuple[int, str]:
    """Exit code and stdout of `tuneops ARGS`, checking there was no traceback."""
    result = CliRunner().invoke(cli, args)
    out = result.stdout + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: raised {result.exception!r}\n{out}")
    assert "Traceback" not in out, (args, out)
    assert result.exit_code != EXIT_INTERNAL, (args, out)
    assert result.exit_code in DATA_EXITS, (args, result.exit_code, out)
    return result.exit_code, result.stdout


def check_cli_validate(n: Nasty, provider: str, method: str) -> None:
    code, out = run_cli(["validate", str(n.path), "--provider", provider, "--method", method,
                         "--json", "--max-shown", "1000"])
    doc = orjson.loads(out)
    if n.file_error:
        assert code == EXIT_IO, (n.name, out)
        assert doc["ok"] is False and n.path.name in doc["error"]["message"], out
        return
    findings = [Finding(e["line"], e["path"], e["rule"], e["severity"], e["message"])
                for e in doc["errors"] + doc["warnings"]]
    check_report(n, findings, doc["stats"]["lines"])
    if n.line is not None:
        assert code == EXIT_DATA and doc["ok"] is False, (n.name, out)


@pytest.mark.parametrize(("provider", "method"), ALL_PACKS)
def test_cli_validate_survives_every_nasty_file(
    corpus: list[Nasty], provider: str, method: str
) -> None:
    for n in small(corpus):
        check_cli_validate(n, provider, method)


def test_cli_validate_survives_the_big_files(corpus: list[Nasty]) -> None:
    for n in corpus:
        if n.big:
            check_cli_validate(n, "openai", "sft")


ESTIMATE_MODELS = {"openai": "gpt-4o-mini-2024-07-18", "mistral": "ministral-8b"}


def test_cli_convert_fix_estimate_give_clean_errors(corpus: list[Nasty], tmp_path: Path) -> None:
    out_file = tmp_path / "out.jsonl"
    for n in corpus:
        if n.name.startswith("no_newline"):
            continue  # read once below with a memory bound
        for target in ("openai", "vertex", "mistral", "together", "bedrock"):
            code, out = run_cli(["convert", str(n.path), "--to", target, "-o", str(out_file),
                                 "--json"])
            if n.file_error:
                assert code == EXIT_IO, out
        for provider in ("openai", "vertex"):
            code, out = run_cli(["fix", str(n.path), "-o", str(out_file), "--provider", provider,
                                 "--json"])
            if n.file_error:
                assert code == EXIT_IO, out
        for provider, model in ESTIMATE_MODELS.items():
            code, out = run_cli(["estimate", str(n.path), "--provider", provider, "--model", model,
                                 "--epochs", "2", "--json"])
            if n.file_error:
                assert code == EXIT_IO, out
            elif n.line is not None:
                assert code == EXIT_DATA, (n.name, out)


# ---- memory on the 1 GB line --------------------------------------------------------------------

def peak_rss(args: list[str]) -> tuple[int, int, str]:
    """Run `tuneops ARGS` in a subprocess; the peak of the summed RSS of it and its workers."""
    proc = subprocess.Popen([sys.executable, "-m", "tuneops", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    ps = psutil.Process(proc.pid)
    peak = 0
    output: list[bytes] = []
    reader = threading.Thread(target=lambda: output.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss
                                             for c in ps.children(recursive=True))
        except psutil.Error:
            rss = 0  # a worker ended between the listing and the read
        peak = max(peak, rss)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.02)
    reader.join()
    return proc.returncode, peak, b"".join(output).decode("utf-8", "replace")


@pytest.mark.parametrize("command", ["validate", "convert", "fix", "estimate"])
def test_memory_stays_flat_on_1gb_without_a_newline(
    corpus: list[Nasty], command: str, tmp_path: Path
) -> None:
    n = by_name(corpus, "no_newline_1gb.bin")
    args = {
        "validate": ["validate", str(n.path), "--provider", "openai", "--json"],
        "convert": ["convert", str(n.path), "--to", "vertex", "-o", str(tmp_path / "o.jsonl")],
        "fix": ["fix", str(n.path), "-o", str(tmp_path / "o.jsonl"), "--provider", "openai"],
        "estimate": ["estimate", str(n.path), "--provider", "openai", "--model",
                     ESTIMATE_MODELS["openai"]],
    }[command]
    code, peak, out = peak_rss(args)
    print(f"\n{command} on {n.path.stat().st_size:,} bytes without a newline: exit {code},"
          f" peak RSS {peak / 2**20:.0f} MiB")
    assert "Traceback" not in out
    assert code in DATA_EXITS - {EXIT_OK}, out
    assert peak < RSS_BOUND, f"{command}: peak RSS {peak / 2**20:.0f} MiB"
    if command == "validate":
        doc = orjson.loads(out[out.index("{"): out.rindex("}") + 1])
        line_errors = [(e["line"], e["rule"]) for e in doc["errors"] if e["line"] is not None]
        assert line_errors == [(1, "jsonl.line_too_long")]


# ---- hypothesis: hostile records through every pack ---------------------------------------------

def full_check(provider: str, method: str, line: bytes) -> list[Finding]:
    found: list[Finding] = []
    obj = parse_line(line, 1, found, max_depth=DEFAULT_MAX_DEPTH)
    if obj is not None:
        pack = get_pack(provider, method)
        pack.check(obj, Ctx(pack.prefix, 1, found))
    return found


@SETTINGS
@given(record=_corpus.hostile_records(), ascii_only=st.booleans())
def test_every_pack_checks_hostile_records_without_raising(record: Any, ascii_only: bool) -> None:
    line = _corpus.dumps_jsonish(record, ascii_only=ascii_only)
    for provider, method in ALL_PACKS:
        found = full_check(provider, method, line)
        for f in found:
            assert f.line == 1 and f.rule and f.message, f
            assert f.rule.startswith(("jsonl.", get_pack(provider, method).prefix + ".")), f
        if not isinstance(record, dict):
            assert any(f.rule in LINE_RULES for f in found), (provider, record)


@SETTINGS
@given(record=_corpus.hostile_records(), prefix=st.integers(0, 3))
def test_line_level_faults_are_reported_at_their_line(record: Any, prefix: int) -> None:
    """A hostile line after `prefix` others: through the whole engine, its errors are the pack's
    and sit on its line."""
    line = _corpus.dumps_jsonish(record)
    lines = [_corpus.GOOD] * prefix + [line, _corpus.GOOD]
    for provider, method in ALL_PACKS:
        expected = sorted(f.rule for f in full_check(provider, method, line)
                          if f.severity == ERROR)
        p = _tmp() / f"{provider}-{method}.jsonl"
        _corpus.write_lines(p, lines)
        with validate_file(p, ValidationOptions(provider, method, workers=1)) as report:
            got = sorted(f.rule for f in report.findings()
                         if f.severity == ERROR and f.line == prefix + 1)
            assert report.stats.lines == prefix + 2
        assert got == expected, (provider, method, line)


_TMP: list[Path] = []


def _tmp() -> Path:
    if not _TMP:
        import tempfile

        _TMP.append(Path(tempfile.mkdtemp(prefix="tuneops-hostile-")))
    return _TMP[0]


@SETTINGS
@given(data=st.lists(st.one_of(
    _corpus.hostile_records().map(_corpus.dumps_jsonish),
    st.binary(max_size=64),
    st.sampled_from([b"\x00", b"\xff", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\r", b"[" * 200,
                     b'"\\ud800"', b"NaN", b"1e999", b"-" * 30]),
), max_size=8))
def test_the_cli_survives_hostile_files(data: list[bytes]) -> None:
    """Random mixes of hostile lines and raw bytes, through `tuneops validate` for a few packs."""
    p = _tmp() / "mix.jsonl"
    p.write_bytes(b"\n".join(data))
    physical = len(p.read_bytes().split(b"\n")) if data else 0
    for provider in ("openai", "vertex", "bedrock", "together"):
        _code, out = run_cli(["validate", str(p), "--provider", provider, "--json"])
        doc = orjson.loads(out)
        for e in doc["errors"] + doc["warnings"]:
            assert e["line"] is None or 1 <= e["line"] <= physical, (e, physical)
