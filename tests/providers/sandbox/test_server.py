"""The sandbox on a loopback socket: `tuneops sandbox serve` in a subprocess driven by the official
SDK, faults as a network shows them, and the refusal to listen beyond loopback. Only 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner

from tests.providers.sandbox.conftest import upload, wait_for
from tuneops.errors import UsageError
from tuneops.providers.sandbox import Sandbox, SandboxServer
from tuneops.providers.sandbox.server import is_loopback


def _serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tuneops", "sandbox", "serve", *args]


def _read_until(proc: subprocess.Popen[bytes], done: Any, timeout: float = 30.0) -> str:
    """Read stdout until `done(text)` is true, without ever blocking past the deadline."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    data = b""
    deadline = time.monotonic() + timeout
    while not done(data.decode("utf-8", "replace")):
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            raise AssertionError(f"server did not announce itself: {data!r}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"server exited ({proc.poll()}): {data!r}")
        data += chunk
    return data.decode()


def _json_doc(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_serve_subprocess_with_the_official_sdk(tmp_path: Path, good_file: Path, as_json: bool) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TUNEOPS_SANDBOX_FAULTS", "OPENAI_BASE_URL", "OPENAI_API_KEY")}
    env["TUNEOPS_HOME"] = str(tmp_path / "home")
    args = ["--port", "0", "--speed", "2000", "--dir", str(tmp_path / "state"), "--quiet"]
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen(_serve_command(*args, *(["--json"] if as_json else [])),
                                stdout=subprocess.PIPE, stderr=err, env=env)
        try:
            if as_json:
                doc = json.loads(_read_until(proc, _json_doc))
                assert doc["ok"] and doc["speed"] == 2000 and doc["faults"] == ""
                base_url = doc["apis"]["openai"]
            else:
                out = _read_until(proc, lambda t: re.search(r"OPENAI_BASE_URL=\S+\s", t) is not None)
                base_url = re.search(r"OPENAI_BASE_URL=(\S+)", out).group(1)  # type: ignore[union-attr]
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/openai/v1", base_url), base_url
            client = openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0, timeout=20)
            f = upload(client, good_file)
            job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=f.id, suffix="http")
            done = wait_for(client, job.id)
            assert done.status == "succeeded" and ":http:" in done.fine_tuned_model
            latest = next(iter(client.fine_tuning.jobs.list_events(job.id)))
            assert latest.message == "The job has successfully completed"
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
    assert code == 0, (tmp_path / "stderr.txt").read_text()
    assert "sandbox stopped" in (tmp_path / "stderr.txt").read_text()


def _client(server: SandboxServer, **kw: Any) -> Any:
    return openai.OpenAI(api_key="sk-test", base_url=server.api_urls()["openai"], max_retries=0, **kw)


def test_faults_over_http(tmp_path: Path, good_file: Path) -> None:
    cases = [("drop=1", openai.APIConnectionError), ("429=1,retry_after=3", openai.RateLimitError),
             ("503=1", openai.InternalServerError)]
    for spec, exc in cases:
        with SandboxServer(Sandbox(tmp_path / "s", faults=spec)) as server:
            with pytest.raises(exc) as err:
                _client(server).files.list()
            if exc is openai.RateLimitError:
                assert err.value.response.headers["retry-after"] == "3"
            if exc is openai.APIConnectionError:
                assert not isinstance(err.value, openai.APITimeoutError)


def test_timeout_and_lost_response_over_http(tmp_path: Path, good_file: Path) -> None:
    slow = SandboxServer(Sandbox(tmp_path / "s", faults="timeout=1,stall=30"))
    with slow, pytest.raises(openai.APITimeoutError):
        _client(slow, timeout=0.3).files.list()
    # shutdown cut the 30 s stall short; a lost response stalls too, after taking effect
    with SandboxServer(Sandbox(tmp_path / "s", faults="")) as server:
        f = upload(_client(server), good_file)
    lossy = SandboxServer(Sandbox(tmp_path / "s", faults="lost=1,stall=0"))
    with lossy, pytest.raises(openai.APIConnectionError):
        _client(lossy).fine_tuning.jobs.create(model="gpt-4o-mini", training_file=f.id)
    with SandboxServer(Sandbox(tmp_path / "s", faults="")) as server:
        assert len(list(_client(server).fine_tuning.jobs.list())) == 1


def test_loopback_only_unless_forced(tmp_path: Path) -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.10", "example.com", ""))
    box = Sandbox(tmp_path / "s")
    for host in ("0.0.0.0", "192.168.1.10", "example.com"):
        with pytest.raises(UsageError, match="not a loopback address"):
            SandboxServer(box, host, 0)
    from tuneops.cli.sandbox import sandbox

    res = CliRunner().invoke(sandbox, ["serve", "--host", "0.0.0.0", "--port", "0",
                                       "--dir", str(tmp_path / "s")])
    assert res.exit_code == 2 and "refusing to listen" in res.output
    bad = CliRunner().invoke(sandbox, ["serve", "--faults", "teapot=1", "--dir", str(tmp_path / "s")])
    assert bad.exit_code == 2 and "cannot read fault" in bad.output
