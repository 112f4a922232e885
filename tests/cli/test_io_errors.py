"""The system refusing a read or a write (a file-size limit, a full disk, a path that cannot be a
directory) is exit 3 with a clear line, never exit 70 ("a bug") and never a traceback."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tuneops.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "support_chat.jsonl"


def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE semantics")
@pytest.mark.parametrize("args", [["fix", str(EXAMPLE), "-o", "out.jsonl"],
                                  ["convert", str(EXAMPLE), "--to", "mistral", "-o", "out.jsonl"]],
                         ids=["fix", "convert"])
def test_a_write_past_the_file_size_limit_is_exit_3(tmp_path: Path, args: list[str]) -> None:
    res = subprocess.run([sys.executable, "-m", "tuneops", *args], cwd=tmp_path, text=True,
                         capture_output=True, preexec_fn=_file_size_limit, timeout=120, check=False)
    assert res.returncode == 3, res.stderr
    assert "File too large" in res.stderr and "Traceback" not in res.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left


def test_an_unexpected_os_error_is_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`keys set` on a read-only file system (played by the temporary file's creation failing as
    the kernel says it, since root may write anywhere here)."""
    import errno

    from tuneops.providers import credentials

    def read_only(*_args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(kwargs.get("dir")))

    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(credentials.tempfile, "mkstemp", read_only)
    res = CliRunner().invoke(cli, ["keys", "set", "openai"], input="sk-0123456789abcdef\n")
    assert res.exit_code == 3, res.output
    assert "Read-only file system" in res.output and str(tmp_path / "home") in res.output
    assert "internal error" not in res.output
