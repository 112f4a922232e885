#!/usr/bin/env python3
"""Cost of one watch pass over many running jobs: requests per job and CPU per job.

    python bench/poll_scale.py --jobs 1000

Starts `tuneops sandbox serve` on a free loopback port in its own process (so the emulator's CPU
is not counted as ours), creates N jobs there through the OpenAI adapter and records them in a
fresh SQLite ledger, lets them reach `running`, then times one `watch_pass` in this process:
requests it sent (counted at the HTTP client) and CPU seconds (process time) it used.
Targets: about N / page size requests (<= 0.05 per job with OpenAI's 100-job pages) and well
under a millisecond of CPU per job.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "support_chat.jsonl"
MODEL = "gpt-4o-mini-2024-07-18"


class Counting(httpx2.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        with self.lock:
            self.count += 1
        return super().handle_request(request)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    from tuneops.orchestrator import Ledger, Orchestrator
    from tuneops.orchestrator.watch import watch_pass
    from tuneops.providers.models import JobSpec
    from tuneops.providers.openai import OpenAIProvider

    work = Path(tempfile.mkdtemp(prefix="tuneops-poll-"))
    # a slow clock: creating 1,000 jobs takes minutes, and the first must still be running when
    # the last one starts
    server = subprocess.Popen(
        [sys.executable, "-m", "tuneops", "sandbox", "serve", "--port", "0", "--speed", "0.25",
         "--dir", str(work / "sandbox"), "--faults", "", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        text = ""
        while True:  # one JSON document, printed over several lines when the server is ready
            text += server.stdout.readline()
            try:
                info = json.loads(text)
                break
            except json.JSONDecodeError:
                continue
        base = info["apis"]["openai"]
        transport = Counting()
        provider = OpenAIProvider(api_key="sk-sandbox", base_url=str(base),
                                  http_client=httpx2.Client(transport=transport))
        ledger = Ledger.open(f"sqlite:///{work / 'ledger.db'}")
        f = provider.upload_file(EXAMPLE)
        t0 = time.perf_counter()
        for _ in range(a.jobs):
            rec = ledger.record_intent(provider="openai", base_model=MODEL, sandbox=True)
            job = provider.create_job_safely(JobSpec(base_model=MODEL, training_file=f.id,
                                                     client_ref=rec.client_ref))
            ledger.record_vendor_job(rec.id, job)
        created = time.perf_counter() - t0
        orch = Orchestrator(ledger, provider_factory=lambda name: provider)
        deadline = time.monotonic() + 1200
        while any(j.raw_status != "running" for j in provider.list_jobs()):
            assert time.monotonic() < deadline, "jobs did not reach running"
            time.sleep(2)
        watch_pass(orch)  # the first pass records the move to running
        transport.count = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = watch_pass(orch)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        n = len(result.unfinished)
        out = {"jobs": a.jobs, "followed": n, "requests": transport.count,
               "requests_per_job": transport.count / max(1, n),
               "cpu_ms_per_job": cpu * 1000 / max(1, n), "wall_s": wall,
               "create_s": created}
        print(f"{a.jobs} running jobs; one watch pass: {transport.count} requests "
              f"({out['requests_per_job']:.3f} per job, target <= 0.05), "
              f"{out['cpu_ms_per_job']:.3f} ms CPU per job (target < 1), {wall:.2f} s wall")
        if a.json:
            print(json.dumps(out, indent=2))
    finally:
        server.terminate()
        server.wait(timeout=10)
        os.environ.pop("TUNEOPS_HOME", None)


if __name__ == "__main__":
    main()
