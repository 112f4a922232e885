"""The README's Python example runs as shown (against the sandbox)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_orchestrator_script_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path))
    monkeypatch.delenv("TUNEOPS_DB", raising=False)
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)
    monkeypatch.chdir(ROOT)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    script = next(b for b in blocks if "Orchestrator(sandbox=True)" in b)
    exec(compile(script, "README.md", "exec"), {})
    out = capsys.readouterr().out.split()
    assert out[0].startswith("ft:gpt-4o-mini-2024-07-18:") and int(out[1]) > 0 and out[3] == "USD"
