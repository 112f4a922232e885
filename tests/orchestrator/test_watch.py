"""Watching: every unfinished job followed to the end, cheaply, by one or several watchers."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import httpx2
import pytest

from tests.orchestrator._data import EXAMPLE, MODEL
from tuneops.orchestrator import Ledger, Orchestrator, SubmitRequest
from tuneops.orchestrator.watch import watch, watch_pass
from tuneops.providers.openai import OpenAIProvider
from tuneops.providers.sandbox import ManualClock, SandboxTransport


class Counting(httpx2.BaseTransport):
    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        with self.lock:
            self.requests.append(f"{request.method} {request.url.path}")
        return self.inner.handle_request(request)


@pytest.fixture
def setup(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)
    clock = ManualClock()
    counting: list[Counting] = []

    def factory(name: str) -> OpenAIProvider:
        t = Counting(SandboxTransport(tmp_path / "home" / "sandbox", speed=1.0, faults="",
                                      clock=clock, seed=5))
        counting.append(t)
        return OpenAIProvider(api_key="sk-sandbox", base_url="http://sandbox.tuneops/openai/v1",
                              http_client=httpx2.Client(transport=t))

    def orch() -> Orchestrator:
        return Orchestrator(Ledger.open(db_url), provider_factory=factory, sleep=lambda s: None)

    return orch, clock, counting


def test_watch_follows_every_job_to_the_end(setup) -> None:  # type: ignore[no-untyped-def]
    make, clock, counting = setup
    with make() as o:
        ids = [o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL)).id
               for _ in range(5)]
        counting[0].requests.clear()
        first = watch_pass(o)
        assert {r.id for r in first.unfinished} == set(ids)
        counting[0].requests.clear()
        quiet = watch_pass(o)  # the clock did not move: nothing changed
        assert quiet.changed == []
        assert counting[0].requests == ["GET /openai/v1/fine_tuning/jobs"]  # one list page, no per-job call

        def tick(_seconds: float) -> None:
            clock.advance(120)

        final = watch(o, sleep=tick, first_interval=1, timeout=60)
        assert final.unfinished == []
        for jid in ids:
            rec = o.ledger.get(jid)
            assert rec.status == "succeeded" and rec.fine_tuned_model and rec.billed_cost
            events = [h.vendor_event_id for h in o.ledger.history(jid) if h.kind == "event"]
            assert events and len(events) == len(set(events))


def test_two_watchers_on_one_ledger_record_each_event_once(setup) -> None:  # type: ignore[no-untyped-def]
    make, clock, _ = setup
    with make() as o:
        ids = [o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL)).id
               for _ in range(3)]
    errors: list[BaseException] = []

    def watcher() -> None:
        try:
            with make() as mine:
                for _ in range(12):
                    watch_pass(mine)
                    clock.advance(60)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=watcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with make() as o:
        clock.advance(100_000)
        watch_pass(o)
        for jid in ids:
            history = o.ledger.history(jid)
            events = [h.vendor_event_id for h in history if h.kind == "event"]
            assert len(events) == len(set(events))
            statuses = [h.status for h in history if h.kind == "status"]
            assert statuses[-1] == "succeeded"
            assert all(a != b for a, b in itertools.pairwise(statuses))


def test_stalled_jobs_are_reported(setup) -> None:  # type: ignore[no-untyped-def]
    make, _, _ = setup
    with make() as o:
        jid = o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL)).id
        watch_pass(o)
        assert watch_pass(o, stall_after=0).stalled == [jid]
        assert watch_pass(o, stall_after=3600).stalled == []


def test_cli_watch_follows_sandbox_jobs_to_the_end(db_url: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from tuneops.cli import cli

    monkeypatch.setenv("TUNEOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)
    with Orchestrator(Ledger.open(db_url), sandbox=True) as o:
        ids = [o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL)).id
               for _ in range(2)]
    res = CliRunner().invoke(cli, ["watch", "--sandbox", "--interval", "0.05", "--db", db_url,
                                   "--timeout", "60", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert sorted(r["id"] for r in doc) == sorted(ids)
    assert all(r["status"] == "succeeded" and r["fine_tuned_model"] for r in doc)
    res = CliRunner().invoke(cli, ["watch", "--sandbox", "--db", db_url])
    assert res.exit_code == 0 and "no unfinished jobs" in res.output


def test_cli_watch_on_a_terminal_shows_a_live_table(db_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal `watch` draws a rich table that ends with every job's model id."""
    import os
    import pty
    import re
    import subprocess
    import sys

    home = tmp_path / "home"
    monkeypatch.setenv("TUNEOPS_HOME", str(home))
    monkeypatch.delenv("TUNEOPS_SANDBOX_FAULTS", raising=False)
    with Orchestrator(Ledger.open(db_url), sandbox=True) as o:
        ids = [o.submit(SubmitRequest(file=EXAMPLE, provider="openai", model=MODEL)).id
               for _ in range(2)]
    main, child = pty.openpty()
    env = {**os.environ, "TUNEOPS_HOME": str(home), "COLUMNS": "200", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "tuneops", "watch", "--sandbox", "--interval",
                             "0.05", "--db", db_url, "--timeout", "60"],
                            stdin=child, stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=90) == 0
    os.close(main)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))
    assert "tuneops watch" in screen and "billed tokens" in screen
    with Ledger.open(db_url) as ledger:
        for jid in ids:
            rec = ledger.get(jid)
            assert rec.status == "succeeded" and rec.fine_tuned_model
            assert jid in screen and rec.fine_tuned_model[:30] in screen
