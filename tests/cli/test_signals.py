"""SIGTERM, as `kill` or a supervisor sends it, cleans up like Ctrl-C and exits 143: `convert` and
`fix` leave no hidden temporary output, `validate` leaves no worker process and no temporary
directory; a validation worker dies with its parent even when the parent is SIGKILLed.

Real OS processes on a ~100 MB file; the signal is sent once the work is seen under way (its
temporary file or its worker exists), never after a fixed delay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "support_chat.jsonl"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux signals")]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signals") / "big.jsonl"
    block = EXAMPLE.read_bytes()
    with path.open("wb") as f:
        for _ in range(2700):  # ~100 MB: seconds of work, so the signal lands mid-run
            f.write(block)
    return path


def _start(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tuneops", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _when(cond: Callable[[], bool], proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while not cond():
        if proc.poll() is not None:
            pytest.fail(f"the command ended before {what} was seen (exit {proc.returncode})")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{what} never appeared")
        time.sleep(0.005)


def _hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("command", ["convert", "fix"])
def test_sigterm_leaves_no_temporary_output(big: Path, tmp_path: Path, command: str) -> None:
    out = tmp_path / "out.jsonl"
    args = (["convert", str(big), "--to", "mistral", "-o", str(out)] if command == "convert"
            else ["fix", str(big), "-o", str(out)])
    proc = _start(args, tmp_path)
    _when(lambda: bool(_hidden(tmp_path)), proc, "the temporary output")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()
    assert b"terminated" in err and b"Traceback" not in err, err.decode()
    assert _hidden(tmp_path) == [] and not out.exists()


def _workers(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _gone(pids: list[int]) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p)
                 and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_validate_workers_die_with_it(big: Path, tmp_path: Path, sig: signal.Signals) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = _start(["validate", str(big), "-p", "openai", "--model", "gpt-4o-mini-2024-07-18"],
                  tmp_path, env)
    _when(lambda: bool(_workers(proc)), proc, "a validation worker")
    workers = _workers(proc)
    pids = [p.pid for p in workers]
    try:
        if sig == signal.SIGKILL:
            # Stopped, a worker cannot finish its work and exit by itself: only the kernel's
            # parent-death signal (SIGKILL, which ends a stopped process) can end it now.
            for w in workers:
                w.send_signal(signal.SIGSTOP)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert _gone(pids), f"workers {pids} outlived their parent"
    finally:
        for w in workers:
            if w.is_running():
                w.kill()
    if sig == signal.SIGTERM:
        assert proc.returncode == 143, err.decode()
        assert b"Traceback" not in err, err.decode()
        assert list(tmp.iterdir()) == []  # the temporary directory went with it
    else:
        assert proc.returncode == -signal.SIGKILL
