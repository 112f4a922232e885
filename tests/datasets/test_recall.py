"""Recall against the shared benchmark generator: every injected error is found at its exact line.

`../shared/bench/make_dataset.py` (relative to the repository) writes realistic OpenAI chat JSONL
with errors injected at known lines and a sidecar ``<out>.errors.json`` listing them. Validating it
with the openai pack must report each one where it is, and must not report an error anywhere else.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tuneops.datasets import engine
from tuneops.datasets.engine import ValidationOptions, validate_file
from tuneops.datasets.findings import ERROR, Finding

REPO = Path(__file__).resolve().parents[2]
GENERATOR = (REPO / ".." / "shared" / "bench" / "make_dataset.py").resolve()

# Error types that are warnings by design: a BOM is stripped and the record still parsed; a blank
# line is reported at the pack's blank-line severity (a warning for OpenAI).
WARNING_TYPES = {"bom": "jsonl.bom", "empty_line": "jsonl.blank_line"}


def generate(out: Path, seed: int) -> list[dict[str, Any]]:
    if not GENERATOR.is_file():
        pytest.skip(f"shared dataset generator not found at {GENERATOR}")
    subprocess.run(
        [sys.executable, str(GENERATOR), "--size-mb", "0.4", "--out", str(out), "--seed", str(seed),
         "--errors", "--errors-per-type", "3"],
        check=True, capture_output=True, timeout=120,
    )
    sidecar = json.loads(Path(f"{out}.errors.json").read_text())
    errors: list[dict[str, Any]] = sidecar["errors"]
    return errors


def detected(err: dict[str, Any], at_line: list[Finding]) -> bool:
    rule = WARNING_TYPES.get(err["type"])
    if rule is not None:
        return any(f.rule == rule for f in at_line)
    return any(f.severity == ERROR for f in at_line)


@pytest.mark.parametrize("seed", [20260101, 7])
@pytest.mark.parametrize("mode", ["in-process", "chunked-2-workers"])
def test_every_injected_error_is_reported_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, mode: str
) -> None:
    out = tmp_path / "gen.jsonl"
    errors = generate(out, seed)
    types = {e["type"] for e in errors}
    assert len(types) >= 9, f"the generator injected only {sorted(types)}"

    opts = ValidationOptions(provider="openai", workers=1)
    if mode == "chunked-2-workers":
        monkeypatch.setattr(engine, "CHUNK_BYTES", 16 * 1024)
        monkeypatch.setattr(engine, "IN_PROCESS_BELOW", 0)
        opts = ValidationOptions(provider="openai", workers=2)
    with validate_file(out, opts) as rep:
        findings = list(rep.findings())

    by_line: dict[int, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.line is not None:
            by_line[f.line].append(f)

    hits: dict[str, list[bool]] = defaultdict(list)
    missed: list[str] = []
    for e in errors:
        ok = detected(e, by_line.get(e["line"], []))
        hits[e["type"]].append(ok)
        if not ok:
            missed.append(f"line {e['line']} {e['type']} ({e['detail']}): got "
                          f"{[(f.rule, f.severity) for f in by_line.get(e['line'], [])]}")
    recall = ", ".join(f"{t} {sum(v)}/{len(v)}" for t, v in sorted(hits.items()))

    injected = {e["line"] for e in errors}
    stray = [(f.line, f.path, f.rule) for f in findings
             if f.line is not None and f.line not in injected and f.severity == ERROR]
    # a BOM line is otherwise a clean record: it gets the warning and nothing worse
    bom_errors = [(f.line, f.rule) for e in errors if e["type"] == "bom"
                  for f in by_line.get(e["line"], []) if f.severity == ERROR]

    assert not missed, f"recall per type: {recall}\nmissed:\n" + "\n".join(missed)
    assert not stray, f"errors on lines with nothing injected: {stray[:20]} (recall: {recall})"
    assert not bom_errors, f"a BOM line also got errors: {bom_errors}"
    assert rep.stats.lines == json.loads(Path(f"{out}.meta.json").read_text())["lines"]
