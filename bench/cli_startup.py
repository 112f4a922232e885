#!/usr/bin/env python3
"""Start-up cost of the CLI: `tuneops --help` and `tuneops list` over a bare `python -c pass`.

    python bench/cli_startup.py [--runs 15] [--jobs 200]

Medians of several runs, each a fresh process, in a temporary state directory whose SQLite
ledger holds `--jobs` jobs (200 by default: half finished within the week, so `list` prints a
table of the unfinished and recent ones, as a user sees it). Target: <= 150 ms over bare Python
for each (vendor SDKs are imported only when a command uses them; `list` reads a local SQLite
ledger without SQLAlchemy, see tuneops/orchestrator/readpath.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def median_ms(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def fill_ledger(home: str, n: int) -> None:
    """`n` jobs through the library, as submit and watch would leave them."""
    from datetime import UTC, datetime, timedelta

    from tuneops.orchestrator import Ledger

    now = datetime.now(UTC)
    with Ledger.open(f"sqlite:///{home}/ledger.db") as ledger:
        for i in range(n):
            rec = ledger.record_intent(
                provider="openai", base_model="gpt-4o-mini-2024-07-18", method="sft",
                dataset_path=f"/data/set-{i}.jsonl", labels={"team": f"t{i % 5}"},
                hyperparameters_requested={"n_epochs": 3}, estimated_cost=1.25)
            done = i % 2 == 0
            ledger.update_fields(
                rec.id, vendor_job_id=f"ftjob-{i:024d}", status="succeeded" if done else "running",
                raw_status="succeeded" if done else "running", trained_tokens=120_000 + i,
                fine_tuned_model=f"ft:gpt-4o-mini-2024-07-18:acme::{i:08d}" if done else None,
                billed_cost=0.36 if done else None, currency="USD",
                finished_at=now - timedelta(days=i % 14) if done else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--jobs", type=int, default=200)
    a = ap.parse_args()
    home = tempfile.mkdtemp(prefix="tuneops-startup-")
    env = {**os.environ, "TUNEOPS_HOME": home}
    env.pop("TUNEOPS_DB", None)
    fill_ledger(home, a.jobs)
    shown = subprocess.run([sys.executable, "-m", "tuneops", "list"], capture_output=True,
                           env=env, check=True, text=True).stdout.count("\n")
    base = median_ms([sys.executable, "-c", "pass"], a.runs, env)
    rows = {"tuneops --help": [sys.executable, "-m", "tuneops", "--help"],
            "tuneops list": [sys.executable, "-m", "tuneops", "list"]}
    print(f"python -c pass: {base:.0f} ms (median of {a.runs}); ledger of {a.jobs} jobs,"
          f" `tuneops list` prints {shown} lines")
    for name, cmd in rows.items():
        ms = median_ms(cmd, a.runs, env)
        over = ms - base
        print(f"{name:16} {ms:6.0f} ms, {over:5.0f} ms over bare Python (target <= 150)"
              f" {'OK' if over <= 150 else 'OVER'}")


if __name__ == "__main__":
    main()
